/**
 * Media playlist validation: RFC 8216 syntax, plus the live-update rules of
 * draft-pantos-hls-rfc8216bis §6.2.1–6.2.2 against the previously accepted version.
 */
import { checkWithHlsParser } from './parser';
import { type LineVisitor, readLines, type ScanLimits } from './scan';
import { isKnownTag, MASTER_TAGS, ONCE_PER_MEDIA_PLAYLIST } from './tags';
import { error, type Violation, warning } from './violations';

/** One media segment as the live-update rules see it. */
export interface SnapshotSegment {
  readonly uri: string;
  readonly duration: number;
  /** An EXT-X-DISCONTINUITY precedes this segment. */
  readonly discontinuity: boolean;
}

/**
 * What the live-update rules and the freshness assessment need to know of an accepted media
 * playlist: small enough to keep in state, rich enough to compare the next version against.
 */
export interface MediaSnapshot {
  readonly targetDuration: number;
  /** EXT-X-MEDIA-SEQUENCE (0 when absent). */
  readonly mediaSequence: number;
  /** EXT-X-DISCONTINUITY-SEQUENCE (0 when absent). */
  readonly discontinuitySequence: number;
  readonly playlistType?: 'EVENT' | 'VOD';
  readonly endlist: boolean;
  readonly segments: readonly SnapshotSegment[];
}

/** Media sequence number of the last segment (mediaSequence - 1 when there is none). */
export function lastSequenceOf(snapshot: MediaSnapshot): number {
  return snapshot.mediaSequence + snapshot.segments.length - 1;
}

export interface ValidationResult<S> {
  /** True when there is no error (warnings allowed). */
  readonly valid: boolean;
  readonly errors: readonly Violation[];
  readonly warnings: readonly Violation[];
  /** What was understood of the playlist; absent when it could not be read at all. */
  readonly snapshot?: S;
}

export type MediaValidationOptions = ScanLimits;

/** Where segment i of a snapshot sits in the text: its URI line and its EXTINF line. */
interface SegmentLines {
  readonly uri: number[];
  readonly extinf: number[];
}

/**
 * Validates a media playlist; with `previous` (the last accepted version, as text or snapshot)
 * it also applies the live-update rules. Reports every violation, never throws.
 *
 * @example
 * const r = validateMediaPlaylist(next, lastAccepted);
 * if (!r.valid) throw new PlaylistInvalidError(r.errors);
 */
export function validateMediaPlaylist(
  text: string,
  previous?: string | MediaSnapshot,
  options: MediaValidationOptions = {},
): ValidationResult<MediaSnapshot> {
  const violations: Violation[] = [];
  const read = readMedia(text, options, violations);
  if (read === undefined) return result(violations);
  const { snapshot, segmentLines } = read;
  if (!violations.some((v) => v.severity === 'error')) {
    // hls-parser's strict mode knows the long tail (LL-HLS parts, DATERANGE, BYTERANGE, version
    // compatibility); it stops at its first finding, so it runs only when ours found nothing.
    const strict = checkWithHlsParser(text);
    if (!strict.success) violations.push(error('parser-strict', strict.message));
  }

  if (previous !== undefined) {
    const before = typeof previous === 'string' ? snapshotMediaPlaylist(previous, options) : previous;
    if (before === undefined) {
      violations.push(
        warning(
          'live-sequence-gap',
          'the previous version could not be read; live-update rules were not checked',
        ),
      );
    } else {
      violations.push(...checkLiveUpdate(before, snapshot, segmentLines));
    }
  }
  return result(violations, snapshot);
}

/** The snapshot of a media playlist, or undefined when it cannot be read at all. */
export function snapshotMediaPlaylist(text: string, options: ScanLimits = {}): MediaSnapshot | undefined {
  return readMedia(text, options, [])?.snapshot;
}

function result<S>(violations: readonly Violation[], snapshot?: S): ValidationResult<S> {
  const errors = violations.filter((v) => v.severity === 'error');
  const warnings = violations.filter((v) => v.severity === 'warning');
  const base = { valid: errors.length === 0, errors, warnings };
  return snapshot === undefined ? base : { ...base, snapshot };
}

const DECIMAL_INTEGER = /^\d+$/;

/**
 * Reads the EXTINF duration of `#EXTINF:<duration>,<title>` in place: a decimal-floating-point
 * (RFC 8216 §4.2: digits, optionally '.' and digits) up to the comma, else NaN. This runs once
 * per segment, so it builds no substring.
 */
export function extinfDuration(raw: string): number {
  const start = 8; // '#EXTINF:'.length
  let end = raw.indexOf(',', start);
  if (end < 0) end = raw.length;
  while (end > start && raw.charCodeAt(end - 1) <= 0x20) end--;
  let whole = 0;
  let fraction = 0;
  let scale = 1;
  let dot = -1;
  for (let i = start; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (dot < 0) whole = whole * 10 + (c - 0x30);
      else {
        fraction = fraction * 10 + (c - 0x30);
        scale *= 10;
      }
    } else if (c === 0x2e /* . */ && dot < 0 && i > start) dot = i;
    else return Number.NaN;
  }
  if (end === start || dot === end - 1) return Number.NaN;
  return scale === 1 ? whole : whole + fraction / scale;
}

/**
 * One pass over the lines (a visitor of {@link readLines}): builds the snapshot and reports the
 * single-playlist rules into `violations`.
 */
class MediaReader implements LineVisitor {
  readonly segments: SnapshotSegment[] = [];
  readonly segmentLines: SegmentLines = { uri: [], extinf: [] };
  private readonly seen = new Map<string, number>();
  private readonly unknownReported = new Set<string>();
  private targetDuration: number | undefined;
  private mediaSequence = 0;
  private discontinuitySequence = 0;
  private playlistType: 'EVENT' | 'VOD' | undefined;
  private endlistLine: number | undefined;
  private pendingDuration = 0;
  private pendingLine: number | undefined;
  private pendingDiscontinuity = false;
  private mixedReported = false;

  constructor(private readonly violations: Violation[]) {}

  uri(uri: string, line: number): void {
    if (this.endlistLine !== undefined) {
      this.violations.push(
        error(
          'content-after-endlist',
          `segment "${uri}" follows EXT-X-ENDLIST (line ${this.endlistLine})`,
          line,
        ),
      );
    }
    if (this.pendingLine === undefined) {
      this.violations.push(
        error(
          'segment-without-extinf',
          `segment "${uri}" has no EXTINF tag before it; add #EXTINF:<duration>,`,
          line,
        ),
      );
    }
    this.segments.push({ uri, duration: this.pendingDuration, discontinuity: this.pendingDiscontinuity });
    this.segmentLines.uri.push(line);
    this.segmentLines.extinf.push(this.pendingLine ?? line);
    this.pendingDuration = 0;
    this.pendingLine = undefined;
    this.pendingDiscontinuity = false;
  }

  extinf(raw: string, line: number): void {
    const duration = extinfDuration(raw);
    if (Number.isNaN(duration)) {
      const written = raw.slice(8).split(',', 1)[0];
      this.violations.push(
        error('extinf-invalid', `EXTINF duration "${written}" is not a decimal number of seconds`, line),
      );
    }
    this.pendingDuration = Number.isNaN(duration) ? 0 : duration;
    this.pendingLine = line;
  }

  tag(name: string, value: string | undefined, line: number): void {
    if (ONCE_PER_MEDIA_PLAYLIST.has(name)) {
      const first = this.seen.get(name);
      if (first !== undefined) {
        this.violations.push(
          error('tag-duplicate', `${name} already appears on line ${first}; keep only one`, line),
        );
        return;
      }
      this.seen.set(name, line);
    }
    switch (name) {
      case 'EXT-X-DISCONTINUITY':
        this.pendingDiscontinuity = true;
        break;
      case 'EXT-X-TARGETDURATION':
        if (value === undefined || !DECIMAL_INTEGER.test(value)) {
          this.violations.push(
            error(
              'targetduration-invalid',
              `EXT-X-TARGETDURATION "${value ?? ''}" must be a whole number of seconds`,
              line,
            ),
          );
        } else {
          this.targetDuration = Number(value);
        }
        break;
      case 'EXT-X-MEDIA-SEQUENCE':
        if (this.segments.length > 0) {
          this.violations.push(
            error('media-sequence-late', 'move EXT-X-MEDIA-SEQUENCE above the first segment', line),
          );
        }
        if (value === undefined || !DECIMAL_INTEGER.test(value)) {
          this.violations.push(
            error(
              'media-sequence-invalid',
              `EXT-X-MEDIA-SEQUENCE "${value ?? ''}" must be a whole number`,
              line,
            ),
          );
        } else {
          this.mediaSequence = Number(value);
        }
        break;
      case 'EXT-X-DISCONTINUITY-SEQUENCE':
        if (value !== undefined && DECIMAL_INTEGER.test(value)) this.discontinuitySequence = Number(value);
        break;
      case 'EXT-X-PLAYLIST-TYPE':
        if (value === 'EVENT' || value === 'VOD') this.playlistType = value;
        break;
      case 'EXT-X-ENDLIST':
        this.endlistLine = line;
        break;
      default:
        if (MASTER_TAGS.has(name)) {
          if (!this.mixedReported) {
            this.violations.push(
              error(
                'mixed-playlist',
                `${name} is a master playlist tag; a media playlist cannot carry it`,
                line,
              ),
            );
            this.mixedReported = true;
          }
        } else if (!isKnownTag(name) && !this.unknownReported.has(name)) {
          this.unknownReported.add(name);
          this.violations.push(
            warning('tag-unknown', `${name} is not an HLS tag; it is kept and players ignore it`, line),
          );
        }
    }
  }

  /** Closes the pass: the rules that need the whole playlist, and the snapshot. */
  finish(): MediaSnapshot {
    if (this.pendingLine !== undefined) {
      this.violations.push(
        error('extinf-without-uri', 'EXTINF is not followed by a segment URI', this.pendingLine),
      );
    }
    const targetDuration = this.targetDuration;
    if (targetDuration === undefined) {
      if (!this.seen.has('EXT-X-TARGETDURATION')) {
        this.violations.push(
          error('targetduration-missing', 'add #EXT-X-TARGETDURATION:<seconds> to the header', 1),
        );
      }
    } else {
      for (let i = 0; i < this.segments.length; i++) {
        const s = this.segments[i] as SnapshotSegment;
        if (Math.round(s.duration) > targetDuration) {
          this.violations.push(
            error(
              'extinf-exceeds-targetduration',
              `segment "${s.uri}" lasts ${s.duration} s, more than EXT-X-TARGETDURATION ${targetDuration} s once rounded`,
              this.segmentLines.extinf[i],
            ),
          );
        }
      }
    }
    return {
      targetDuration: targetDuration ?? 0,
      mediaSequence: this.mediaSequence,
      discontinuitySequence: this.discontinuitySequence,
      ...(this.playlistType === undefined ? {} : { playlistType: this.playlistType }),
      endlist: this.endlistLine !== undefined,
      segments: this.segments,
    };
  }
}

/** Reads a media playlist: its snapshot and segment lines, or undefined when the text is unreadable. */
function readMedia(
  text: string,
  limits: ScanLimits,
  violations: Violation[],
): { snapshot: MediaSnapshot; segmentLines: SegmentLines } | undefined {
  const reader = new MediaReader(violations);
  const read = readLines(text, limits, reader);
  // The text-level findings (BOM, first line) come first, as they do in the text.
  violations.unshift(...read.violations);
  return read.readable ? { snapshot: reader.finish(), segmentLines: reader.segmentLines } : undefined;
}

/** rfc8216bis §6.2.1–6.2.2: how a live media playlist may change between two versions. */
function checkLiveUpdate(before: MediaSnapshot, after: MediaSnapshot, lines: SegmentLines): Violation[] {
  const found: Violation[] = [];
  const lineOfSequence = (n: number) => lines.uri[n - after.mediaSequence];

  if (before.endlist) {
    if (!sameSegments(before, after) || !after.endlist) {
      found.push(
        error(
          'live-after-endlist',
          'the previous version ended with EXT-X-ENDLIST; an ended playlist never changes',
        ),
      );
    }
    return found;
  }
  if (after.targetDuration !== before.targetDuration) {
    found.push(
      error(
        'live-targetduration-changed',
        `EXT-X-TARGETDURATION changed from ${before.targetDuration} to ${after.targetDuration}; keep it constant while live`,
      ),
    );
  }
  if (after.mediaSequence < before.mediaSequence) {
    found.push(
      error(
        'live-media-sequence-decreased',
        `EXT-X-MEDIA-SEQUENCE went back from ${before.mediaSequence} to ${after.mediaSequence}; did the encoder restart without epoch-locked numbering?`,
      ),
    );
    return found;
  }
  if (before.playlistType === 'EVENT' && after.mediaSequence !== before.mediaSequence) {
    found.push(error('live-event-segment-removed', 'an EVENT playlist removed segments from its head'));
  }

  const beforeLast = lastSequenceOf(before);
  const afterLast = lastSequenceOf(after);
  const removedHead = before.segments.slice(0, Math.max(0, after.mediaSequence - before.mediaSequence));
  const expectedDiscontinuity =
    before.discontinuitySequence + removedHead.filter((s) => s.discontinuity).length;

  if (after.mediaSequence > beforeLast + 1) {
    found.push(
      warning(
        'live-sequence-gap',
        `versions between media sequence ${beforeLast} and ${after.mediaSequence} were not seen; overlap rules not checked`,
      ),
    );
    if (after.discontinuitySequence < expectedDiscontinuity) {
      found.push(discontinuityViolation(expectedDiscontinuity, after.discontinuitySequence, 'at least '));
    }
    return found;
  }
  if (after.discontinuitySequence !== expectedDiscontinuity) {
    found.push(discontinuityViolation(expectedDiscontinuity, after.discontinuitySequence, ''));
  }

  const overlapEnd = Math.min(beforeLast, afterLast);
  for (let n = after.mediaSequence; n <= overlapEnd; n++) {
    const was = before.segments[n - before.mediaSequence] as SnapshotSegment;
    const now = after.segments[n - after.mediaSequence] as SnapshotSegment;
    if (was.uri === now.uri && was.duration === now.duration && was.discontinuity === now.discontinuity)
      continue;
    const shiftedFrom = before.segments.findIndex((s) => s.uri === now.uri);
    if (was.uri !== now.uri && shiftedFrom >= 0) {
      const removed = after.mediaSequence - before.mediaSequence + (n - after.mediaSequence) - shiftedFrom;
      found.push(
        error(
          'live-media-sequence-mismatch',
          `segment "${now.uri}" had media sequence ${before.mediaSequence + shiftedFrom} and now has ${n}: EXT-X-MEDIA-SEQUENCE must advance by exactly the number of segments removed (off by ${-removed})`,
          lineOfSequence(n),
        ),
      );
    } else {
      found.push(
        error(
          'live-segment-rewritten',
          `media sequence ${n} was "${was.uri}" (${was.duration} s${was.discontinuity ? ', discontinuity' : ''}) and is now "${now.uri}" (${now.duration} s${now.discontinuity ? ', discontinuity' : ''}); published segments never change`,
          lineOfSequence(n),
        ),
      );
    }
    break; // one misalignment shifts every later segment: report its cause once
  }
  if (afterLast < beforeLast && after.segments.length > 0) {
    found.push(
      error(
        'live-segment-removed',
        `segments ${afterLast + 1}–${beforeLast} were removed from the end; only the head of a live playlist may shrink`,
      ),
    );
  }
  return found;
}

function discontinuityViolation(expected: number, actual: number, qualifier: string): Violation {
  return error(
    'live-discontinuity-sequence',
    `EXT-X-DISCONTINUITY-SEQUENCE is ${actual} but must be ${qualifier}${expected}: increment it once per EXT-X-DISCONTINUITY removed from the head`,
  );
}

function sameSegments(a: MediaSnapshot, b: MediaSnapshot): boolean {
  return (
    a.mediaSequence === b.mediaSequence &&
    a.segments.length === b.segments.length &&
    a.segments.every((s, i) => s.uri === b.segments[i]?.uri && s.duration === b.segments[i]?.duration)
  );
}
