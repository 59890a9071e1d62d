/**
 * Media playlist validation: RFC 8216 syntax, plus the live-update rules (live-update.ts)
 * against the previously accepted version.
 */
import { checkLiveUpdate, type MediaLines } from './live-update';
import { describeDecimalInteger, parseDecimalInteger, parseSafeInteger } from './numbers';
import { checkWithHlsParser } from './parser';
import { type Attribute, attributeValue, type LineVisitor, readLines, type ScanLimits } from './scan';
import { TagChecker } from './tag-lines';
import { isKnownTag, MASTER_TAGS, ONCE_PER_MEDIA_PLAYLIST } from './tags';
import type { UriPolicy } from './uris';
import { error, toValidationResult, type ValidationResult, type Violation, warning } from './violations';

export { lastSequenceOf } from './live-update';

/** One media segment as the live-update rules see it. */
export interface SnapshotSegment {
  readonly uri: string;
  readonly duration: number;
  /** An EXT-X-DISCONTINUITY precedes this segment. */
  readonly discontinuity: boolean;
  /** The EXT-X-KEY attribute lists in effect (one per KEYFORMAT, newline-separated); absent when clear. */
  readonly key?: string;
  /** The EXT-X-MAP attribute list in effect. */
  readonly map?: string;
  /** The EXT-X-PROGRAM-DATE-TIME applied to this segment, in epoch milliseconds. */
  readonly programDateTime?: number;
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
  /**
   * EXT-X-VERSION (1 when absent). Absent in snapshots stored before hls-failover recorded the
   * version and segment tags: the rules on those are then skipped.
   */
  readonly version?: number;
  /**
   * Segments an EXT-X-SKIP left out of a delta update that no previous version filled in: the
   * first listed segment then has media sequence `mediaSequence + skippedSegments`.
   */
  readonly skippedSegments?: number;
  readonly segments: readonly SnapshotSegment[];
}

/** Size limit, and the hosting policy applied to segment, key, map, part and report URIs. */
export interface MediaValidationOptions extends ScanLimits, UriPolicy {}

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
  const read = readMedia(text, options, violations, true);
  if (read === undefined) return toValidationResult(violations);
  const { snapshot, lines } = read;
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
      const live = checkLiveUpdate(before, snapshot, lines);
      violations.push(...live.violations);
      return toValidationResult(violations, live.snapshot);
    }
  }
  return toValidationResult(violations, snapshot);
}

/** The snapshot of a media playlist, or undefined when it cannot be read at all. */
export function snapshotMediaPlaylist(
  text: string,
  options: MediaValidationOptions = {},
): MediaSnapshot | undefined {
  return readMedia(text, options, [])?.snapshot;
}

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
  private readonly seen = new Map<string, number>();
  readonly lines: MediaLines = {
    uri: [],
    extinf: [],
    key: [],
    map: [],
    programDateTime: new Map(),
    tags: this.seen,
  };
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
  private version = 1;
  private skippedSegments = 0;
  /** EXT-X-KEY in effect, by KEYFORMAT (RFC 8216 §4.3.2.4: a KEY applies until the next one of its KEYFORMAT). */
  private readonly keys = new Map<string, string>();
  private key: string | undefined;
  private keyLine = 0;
  private map: string | undefined;
  private mapLine = 0;
  private pendingDate: number | undefined;
  private pendingDateLine = 0;
  private pendingByteRange = false;
  private readonly uris = new Set<string>();
  private readonly checker: TagChecker;

  /** `warnReuse`: check segment URIs for reuse (a warning; costs a set of every URI, so only when validating). */
  constructor(
    private readonly violations: Violation[],
    policy: UriPolicy,
    private readonly warnReuse: boolean,
  ) {
    this.checker = new TagChecker(violations, policy);
  }

  uri(uri: string, line: number): void {
    const requested = this.checker.uri(uri, line);
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
    if (this.warnReuse && !this.pendingByteRange) this.checkUriReuse(requested, line);
    const segment: { -readonly [K in keyof SnapshotSegment]: SnapshotSegment[K] } = {
      uri,
      duration: this.pendingDuration,
      discontinuity: this.pendingDiscontinuity,
    };
    if (this.key !== undefined) segment.key = this.key;
    if (this.map !== undefined) segment.map = this.map;
    if (this.pendingDate !== undefined) {
      segment.programDateTime = this.pendingDate;
      this.lines.programDateTime.set(this.segments.length, this.pendingDateLine);
    }
    this.segments.push(segment);
    this.lines.uri.push(line);
    this.lines.extinf.push(this.pendingLine ?? line);
    this.lines.key.push(this.keyLine);
    this.lines.map.push(this.mapLine);
    this.pendingDuration = 0;
    this.pendingLine = undefined;
    this.pendingDiscontinuity = false;
    this.pendingDate = undefined;
    this.pendingByteRange = false;
  }

  /**
   * A segment URI listed twice is a warning, as Apple's mediastreamvalidator gives it: not an RFC
   * 8216 MUST, but players and caches tell segments apart by URI. Byte ranges of one resource
   * (EXT-X-BYTERANGE) share their URI by design.
   */
  private checkUriReuse(uri: string, line: number): void {
    const count = this.uris.size;
    if (this.uris.add(uri).size > count) return;
    this.violations.push(
      warning(
        'segment-uri-reused',
        `segment "${uri}" is listed earlier in this playlist too; give every segment its own URI`,
        line,
      ),
    );
  }

  /** RFC 8216 §4.3.2.4: a KEY applies until the next KEY of its KEYFORMAT; METHOD=NONE clears them. */
  private applyKey(value: string | undefined, attributes: readonly Attribute[], line: number): void {
    if (attributeValue(attributes, 'METHOD') === 'NONE') this.keys.clear();
    else this.keys.set(attributeValue(attributes, 'KEYFORMAT') ?? 'identity', value ?? '');
    this.key = this.keys.size === 0 ? undefined : [...this.keys.values()].join('\n');
    this.keyLine = line;
  }

  /** rfc8216bis §4.4.5.2: SKIPPED-SEGMENTS (decimal-integer) is REQUIRED. */
  private readSkip(attributes: readonly Attribute[], line: number): void {
    const count = attributeValue(attributes, 'SKIPPED-SEGMENTS');
    const skipped = parseSafeInteger(count);
    if (skipped !== undefined) {
      this.skippedSegments = skipped;
      return;
    }
    this.violations.push(
      error(
        'skip-invalid',
        `EXT-X-SKIP needs SKIPPED-SEGMENTS=<number of segments skipped>: SKIPPED-SEGMENTS ${describeDecimalInteger(count)}`,
        line,
      ),
    );
  }

  extinf(raw: string, line: number): void {
    const duration = extinfDuration(raw);
    if (Number.isNaN(duration)) {
      const written = raw.slice(8).split(',', 1)[0];
      this.violations.push(
        error('extinf-invalid', `EXTINF duration "${written}" is not a decimal number of seconds`, line),
      );
    } else if (raw.indexOf(',', 8) < 0) {
      this.violations.push(
        error(
          'extinf-comma-missing',
          'EXTINF needs a comma after the duration, even without a title: #EXTINF:<duration>,[<title>]',
          line,
        ),
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
    const attributes = this.checker.attributes(name, value, line) ?? [];
    switch (name) {
      case 'EXT-X-DISCONTINUITY':
        this.pendingDiscontinuity = true;
        break;
      case 'EXT-X-TARGETDURATION':
        this.targetDuration = parseSafeInteger(value);
        if (this.targetDuration === undefined) {
          this.violations.push(
            error(
              'targetduration-invalid',
              `EXT-X-TARGETDURATION "${value ?? ''}" must be a whole number of seconds`,
              line,
            ),
          );
        }
        break;
      case 'EXT-X-MEDIA-SEQUENCE':
        if (this.segments.length > 0) {
          this.violations.push(
            error('media-sequence-late', 'move EXT-X-MEDIA-SEQUENCE above the first segment', line),
          );
        }
        this.mediaSequence = this.sequenceNumber('media-sequence-invalid', name, value, line);
        break;
      case 'EXT-X-DISCONTINUITY-SEQUENCE':
        this.discontinuitySequence = this.sequenceNumber('discontinuity-sequence-invalid', name, value, line);
        break;
      case 'EXT-X-PLAYLIST-TYPE':
        if (value === 'EVENT' || value === 'VOD') this.playlistType = value;
        else
          this.violations.push(
            error(
              'playlist-type-invalid',
              `EXT-X-PLAYLIST-TYPE is "${value ?? ''}"; write EVENT or VOD`,
              line,
            ),
          );
        break;
      case 'EXT-X-VERSION': {
        const version = parseSafeInteger(value);
        if (version === undefined)
          this.violations.push(
            error('version-invalid', `EXT-X-VERSION ${describeDecimalInteger(value)}`, line),
          );
        else this.version = version;
        break;
      }
      case 'EXT-X-KEY':
        this.applyKey(value, attributes, line);
        break;
      case 'EXT-X-MAP':
        this.map = value ?? '';
        this.mapLine = line;
        break;
      case 'EXT-X-PROGRAM-DATE-TIME': {
        const date = Date.parse(value ?? '');
        if (!Number.isNaN(date)) {
          this.pendingDate = date;
          this.pendingDateLine = line;
        }
        break;
      }
      case 'EXT-X-BYTERANGE':
        this.pendingByteRange = true;
        break;
      case 'EXT-X-SKIP':
        this.readSkip(attributes, line);
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

  /**
   * A sequence number (RFC 8216 §4.2 decimal-integer, 0 to 2^64−1). Above 2^53 it is kept as the
   * nearest number; the live-update rules then say they cannot compare it exactly.
   */
  private sequenceNumber(
    rule: 'media-sequence-invalid' | 'discontinuity-sequence-invalid',
    name: string,
    value: string | undefined,
    line: number,
  ): number {
    const parsed = parseDecimalInteger(value);
    if (parsed === undefined) {
      this.violations.push(error(rule, `${name} ${describeDecimalInteger(value)}`, line));
      return 0;
    }
    return Number(parsed);
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
              this.lines.extinf[i],
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
      version: this.version,
      ...(this.skippedSegments === 0 ? {} : { skippedSegments: this.skippedSegments }),
      segments: this.segments,
    };
  }
}

/** Reads a media playlist: its snapshot and segment lines, or undefined when the text is unreadable. */
function readMedia(
  text: string,
  limits: MediaValidationOptions,
  violations: Violation[],
  warnReuse = false,
): { snapshot: MediaSnapshot; lines: MediaLines } | undefined {
  const reader = new MediaReader(violations, limits, warnReuse);
  const read = readLines(text, limits, reader);
  // The text-level findings (BOM, first line) come first, as they do in the text.
  violations.unshift(...read.violations);
  return read.readable ? { snapshot: reader.finish(), lines: reader.lines } : undefined;
}
