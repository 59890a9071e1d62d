/**
 * Typed errors of the HLS domain. Each class's `name` is the error name the state machine's
 * `ErrorEquals` uses, so the names are a contract: rename one and the ASL must follow.
 *
 * Each name is a string literal, never derived from the class name: the Lambda bundles are
 * minified, which renames classes, and Lambda reports a thrown error's `name` as its `errorType`,
 * the name Step Functions matches.
 */
import { capped, type Violation } from './violations';

/** Base class: sets `name` (the ASL error name, a literal) and keeps `cause`. */
export abstract class HlsFailoverError extends Error {
  protected constructor(name: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

/** A playlist broke one or more rules; `violations` lists every one, not just the first. */
export class PlaylistInvalidError extends HlsFailoverError {
  readonly violations: readonly Violation[];
  /** The message lists every violation (up to 20), so an execution's Cause carries them all. */
  constructor(violations: readonly Violation[], subject = 'playlist') {
    const shown = violations.slice(0, 20).map((v) => `line ${v.line ?? 0} ${v.rule}: ${v.message}`);
    if (violations.length > shown.length) shown.push(`… and ${violations.length - shown.length} more`);
    super(
      'PlaylistInvalid',
      `${subject} is invalid (${violations.length} violation${violations.length === 1 ? '' : 's'}): ${shown.join('; ') || 'no reason given'}`,
    );
    // Capped like a validation result: the error travels in the workflow's state.
    this.violations = capped(violations, 'error');
  }
}

/** The two encoders' masters do not describe the same ladder. */
export class LadderMismatchError extends HlsFailoverError {
  readonly differences: readonly string[];
  constructor(differences: readonly string[]) {
    super(
      'LadderMismatch',
      `the encoders' master playlists describe different ladders: ${differences.join('; ')}`,
    );
    this.differences = differences;
  }
}

/** Options or configuration that cannot work; `problems` lists every one. */
export class ConfigInvalidError extends HlsFailoverError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('ConfigInvalid', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}
