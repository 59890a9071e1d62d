/**
 * Media playlist validation: RFC 8216 syntax, plus the live-update rules of
 * draft-pantos-hls-rfc8216bis §6.2.1–6.2.2 against the previously accepted version.
 */
import { parseWithHlsParser } from './parser';
import { type PlaylistLine, type ScanLimits, scanPlaylist } from './scan';
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

interface LocatedSegment extends SnapshotSegment {
  /** Line of the segment's URI. */
  readonly line: number;
  /** Line of its EXTINF (the URI line when it has none). */
  readonly extinfLine: number;
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
  const scanned = scanPlaylist(text, options);
  const violations = [...scanned.violations];
  if (!scanned.readable) return result(violations);

  const { snapshot, segments } = readMediaLines(scanned.lines, violations);
  if (!violations.some((v) => v.severity === 'error')) {
    // hls-parser's strict mode knows the long tail (LL-HLS parts, DATERANGE, BYTERANGE, version
    // compatibility); it stops at its first finding, so it runs only when ours found nothing.
    const strict = parseWithHlsParser(text, true);
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
      violations.push(...checkLiveUpdate(before, snapshot, segments));
    }
  }
  return result(violations, snapshot);
}

/** The snapshot of a media playlist, or undefined when it cannot be read at all. */
export function snapshotMediaPlaylist(text: string, options: ScanLimits = {}): MediaSnapshot | undefined {
  const scanned = scanPlaylist(text, options);
  return scanned.readable ? readMediaLines(scanned.lines, []).snapshot : undefined;
}

function result<S>(violations: readonly Violation[], snapshot?: S): ValidationResult<S> {
  const errors = violations.filter((v) => v.severity === 'error');
  const warnings = violations.filter((v) => v.severity === 'warning');
  const base = { valid: errors.length === 0, errors, warnings };
  return snapshot === undefined ? base : { ...base, snapshot };
}

const DECIMAL_INTEGER = /^\d+$/;
const DECIMAL_FLOAT = /^\d+(\.\d+)?$/;

/** One pass over the lines: builds the snapshot and reports the single-playlist rules. */
function readMediaLines(
  lines: readonly PlaylistLine[],
  violations: Violation[],
): { snapshot: MediaSnapshot; segments: LocatedSegment[] } {
  const segments: LocatedSegment[] = [];
  const seen = new Map<string, number>();
  const unknownReported = new Set<string>();
  let targetDuration: number | undefined;
  let mediaSequence = 0;
  let discontinuitySequence = 0;
  let playlistType: 'EVENT' | 'VOD' | undefined;
  let endlistLine: number | undefined;
  let pendingDuration: number | undefined;
  let pendingLine: number | undefined;
  let pendingDiscontinuity = false;
  let mixedReported = false;

  for (const l of lines) {
    if (l.kind === 'uri') {
      if (endlistLine !== undefined) {
        violations.push(
          error(
            'content-after-endlist',
            `segment "${l.uri}" follows EXT-X-ENDLIST (line ${endlistLine})`,
            l.line,
          ),
        );
      }
      if (pendingLine === undefined) {
        violations.push(
          error(
            'segment-without-extinf',
            `segment "${l.uri}" has no EXTINF tag before it; add #EXTINF:<duration>,`,
            l.line,
          ),
        );
      }
      segments.push({
        uri: l.uri,
        duration: pendingDuration ?? 0,
        discontinuity: pendingDiscontinuity,
        line: l.line,
        extinfLine: pendingLine ?? l.line,
      });
      pendingDuration = undefined;
      pendingLine = undefined;
      pendingDiscontinuity = false;
      continue;
    }
    const { name, value, line } = l;
    if (ONCE_PER_MEDIA_PLAYLIST.has(name)) {
      const first = seen.get(name);
      if (first !== undefined) {
        violations.push(
          error('tag-duplicate', `${name} already appears on line ${first}; keep only one`, line),
        );
        continue;
      }
      seen.set(name, line);
    }
    switch (name) {
      case 'EXTINF': {
        const duration = (value ?? '').split(',', 1)[0]?.trim() ?? '';
        if (!DECIMAL_FLOAT.test(duration)) {
          violations.push(
            error('extinf-invalid', `EXTINF duration "${duration}" is not a decimal number of seconds`, line),
          );
        }
        pendingDuration = Number.parseFloat(duration) || 0;
        pendingLine = line;
        break;
      }
      case 'EXT-X-DISCONTINUITY':
        pendingDiscontinuity = true;
        break;
      case 'EXT-X-TARGETDURATION':
        if (value === undefined || !DECIMAL_INTEGER.test(value)) {
          violations.push(
            error(
              'targetduration-invalid',
              `EXT-X-TARGETDURATION "${value ?? ''}" must be a whole number of seconds`,
              line,
            ),
          );
        } else {
          targetDuration = Number(value);
        }
        break;
      case 'EXT-X-MEDIA-SEQUENCE':
        if (segments.length > 0) {
          violations.push(
            error('media-sequence-late', 'move EXT-X-MEDIA-SEQUENCE above the first segment', line),
          );
        }
        if (value === undefined || !DECIMAL_INTEGER.test(value)) {
          violations.push(
            error(
              'media-sequence-invalid',
              `EXT-X-MEDIA-SEQUENCE "${value ?? ''}" must be a whole number`,
              line,
            ),
          );
        } else {
          mediaSequence = Number(value);
        }
        break;
      case 'EXT-X-DISCONTINUITY-SEQUENCE':
        if (value !== undefined && DECIMAL_INTEGER.test(value)) discontinuitySequence = Number(value);
        break;
      case 'EXT-X-PLAYLIST-TYPE':
        if (value === 'EVENT' || value === 'VOD') playlistType = value;
        break;
      case 'EXT-X-ENDLIST':
        endlistLine = line;
        break;
      default:
        if (MASTER_TAGS.has(name)) {
          if (!mixedReported) {
            violations.push(
              error(
                'mixed-playlist',
                `${name} is a master playlist tag; a media playlist cannot carry it`,
                line,
              ),
            );
            mixedReported = true;
          }
        } else if (!isKnownTag(name) && !unknownReported.has(name)) {
          unknownReported.add(name);
          violations.push(
            warning('tag-unknown', `${name} is not an HLS tag; it is kept and players ignore it`, line),
          );
        }
    }
  }

  if (pendingLine !== undefined) {
    violations.push(error('extinf-without-uri', 'EXTINF is not followed by a segment URI', pendingLine));
  }
  if (targetDuration === undefined) {
    if (!seen.has('EXT-X-TARGETDURATION')) {
      violations.push(
        error('targetduration-missing', 'add #EXT-X-TARGETDURATION:<seconds> to the header', 1),
      );
    }
  } else {
    for (const s of segments) {
      if (Math.round(s.duration) > targetDuration) {
        violations.push(
          error(
            'extinf-exceeds-targetduration',
            `segment "${s.uri}" lasts ${s.duration} s, more than EXT-X-TARGETDURATION ${targetDuration} s once rounded`,
            s.extinfLine,
          ),
        );
      }
    }
  }

  const snapshot: MediaSnapshot = {
    targetDuration: targetDuration ?? 0,
    mediaSequence,
    discontinuitySequence,
    ...(playlistType === undefined ? {} : { playlistType }),
    endlist: endlistLine !== undefined,
    segments: segments.map(({ uri, duration, discontinuity }) => ({ uri, duration, discontinuity })),
  };
  return { snapshot, segments };
}

/** rfc8216bis §6.2.1–6.2.2: how a live media playlist may change between two versions. */
function checkLiveUpdate(
  before: MediaSnapshot,
  after: MediaSnapshot,
  located: readonly LocatedSegment[],
): Violation[] {
  const found: Violation[] = [];
  const lineOfSequence = (n: number) => located[n - after.mediaSequence]?.line;

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
