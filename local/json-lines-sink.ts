/**
 * The local runtime's JSON-lines sinks (executions.jsonl, alerts.jsonl, metrics.jsonl), bounded in
 * size: a sink whose next line would take it past its limit is rotated first (`name` → `name.1`
 * → … → `name.<keep>`, the oldest dropped), so a long run holds at most (keep + 1) × limit bytes
 * per sink (issue 16 §4: executions.jsonl grew ~45 KB per execution, with no bound).
 */
import { appendFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';

/** Default {@link SinkLimits.maxBytes}: 64 MiB per file. */
export const DEFAULT_SINK_MAX_BYTES = 64 * 1024 * 1024;
/** Default {@link SinkLimits.keep}. */
export const DEFAULT_SINK_KEEP = 3;

export interface SinkLimits {
  /** The largest a sink file grows before it is rotated. @default 64 MiB */
  readonly maxBytes?: number | undefined;
  /** How many rotated files are kept (`name.1` the newest). @default 3 */
  readonly keep?: number | undefined;
}

/** `path`'s rotated files (numbered without gaps from `.1`, the newest), oldest first, then `path` if it exists. */
export function sinkFiles(path: string): string[] {
  const rotated: string[] = [];
  for (let n = 1; existsSync(`${path}.${n}`); n++) rotated.unshift(`${path}.${n}`);
  return existsSync(path) ? [...rotated, path] : rotated;
}

export class JsonLinesSink {
  private size: number;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(
    private readonly path: string,
    limits: SinkLimits = {},
  ) {
    this.maxBytes = limits.maxBytes ?? DEFAULT_SINK_MAX_BYTES;
    this.keep = limits.keep ?? DEFAULT_SINK_KEEP;
    this.size = existsSync(path) ? statSync(path).size : 0;
  }

  /** Appends one line (a string as it is, anything else as JSON), rotating first when it would not fit. */
  append(value: unknown): void {
    const line = `${typeof value === 'string' ? value : JSON.stringify(value)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    appendFileSync(this.path, line);
    this.size += bytes;
  }

  private rotate(): void {
    rmSync(`${this.path}.${this.keep}`, { force: true });
    for (let n = this.keep - 1; n >= 1; n--)
      if (existsSync(`${this.path}.${n}`)) renameSync(`${this.path}.${n}`, `${this.path}.${n + 1}`);
    if (this.keep > 0) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.size = 0;
  }
}
