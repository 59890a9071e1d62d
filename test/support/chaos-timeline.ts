/** The chaos test's timeline: what the test did and what the runtime did, in one time-ordered list. */

/** What happened when, from the test's side and the runtime's (alerts, failed executions). */
export class Timeline {
  readonly startedAt = Date.now();
  private readonly entries: { at: number; source: string; what: string }[] = [];

  add(source: string, what: string, at = Date.now()): void {
    this.entries.push({ at, source, what });
  }

  /** Seconds since the run started, e.g. `+12.345 s`. */
  private offset(at: number): string {
    return `+${((at - this.startedAt) / 1000).toFixed(3).padStart(7)} s`;
  }

  format(): string {
    return [...this.entries]
      .sort((a, b) => a.at - b.at)
      .map((e) => `${this.offset(e.at)}  ${e.source.padEnd(9)} ${e.what}`)
      .join('\n');
  }
}
