/**
 * The live-update rules: how a media playlist may change from one version to the next. They all
 * follow from RFC 8216 §6.2.1: "The server MUST NOT change the Media Playlist file, except to:
 * Append lines to it; Remove Media Segment URIs from the Playlist in the order that they appear,
 * along with any tags that apply only to those segments; Increment the value of the
 * EXT-X-MEDIA-SEQUENCE or EXT-X-DISCONTINUITY-SEQUENCE tags; Add an EXT-X-ENDLIST tag to the
 * Playlist." A Playlist Delta Update (EXT-X-SKIP, rfc8216bis §6.2.5.1) is first filled in from
 * the previous version, as a client does, and then held to the same rules.
 */
import type { MediaSnapshot, SnapshotSegment } from './validate-media';
import { error, type Violation, warning } from './violations';

/** Where the new version says things (1-based lines), by listed segment index and by tag. */
export interface MediaLines {
  readonly uri: number[];
  readonly extinf: number[];
  /** Line of the EXT-X-KEY tag in effect for each listed segment (0 before the first one). */
  readonly key: number[];
  /** Line of the EXT-X-MAP tag in effect for each listed segment (0 before the first one). */
  readonly map: number[];
  /** Line of the EXT-X-PROGRAM-DATE-TIME tag applied to a listed segment. */
  readonly programDateTime: Map<number, number>;
  /** Line of each tag that appears once per playlist (EXT-X-VERSION, EXT-X-MEDIA-SEQUENCE …). */
  readonly tags: ReadonlyMap<string, number>;
}

/**
 * How many media sequence numbers `to` lies after `from`: the one place these rules subtract
 * sequence numbers, so the loops below run over segment indices, never over sequence numbers.
 */
export function sequenceDistance(from: number, to: number): number {
  return to - from;
}

/**
 * Whether every sequence number of a snapshot is exact as a JS number. RFC 8216 §4.2 allows up to
 * 2^64−1 (validated on the digits, numbers.ts); above 2^53−1 a number is only the nearest double,
 * so the live-update rules cannot compare it and say so instead of guessing.
 */
export function hasExactSequences(snapshot: MediaSnapshot): boolean {
  return (
    Number.isSafeInteger(snapshot.mediaSequence) &&
    Number.isSafeInteger(lastSequenceOf(snapshot)) &&
    Number.isSafeInteger(snapshot.discontinuitySequence + snapshot.segments.length)
  );
}

/** Media sequence number of the first segment a snapshot lists (after any EXT-X-SKIP). */
export function firstListedSequence(snapshot: MediaSnapshot): number {
  return snapshot.mediaSequence + (snapshot.skippedSegments ?? 0);
}

/** Media sequence number of the last segment (one before the first when there is none). */
export function lastSequenceOf(snapshot: MediaSnapshot): number {
  return firstListedSequence(snapshot) + snapshot.segments.length - 1;
}

/** How far a written date may stray from one derived from an earlier date and the durations. */
const DERIVED_DATE_TOLERANCE_MS = 1000;

/**
 * Checks `after` against the previous accepted version. Returns the violations and the snapshot
 * to keep: a delta update comes back filled in from `before`, so the next comparison sees a
 * whole playlist.
 */
export function checkLiveUpdate(
  before: MediaSnapshot,
  delta: MediaSnapshot,
  lines: MediaLines,
): { readonly violations: Violation[]; readonly snapshot: MediaSnapshot } {
  const after = fillSkipped(before, delta, lines);
  const found: Violation[] = [];
  if (after === undefined) {
    found.push(
      warning(
        'live-sequence-gap',
        `EXT-X-SKIP leaves out media sequence ${delta.mediaSequence}–${firstListedSequence(delta) - 1}, which the previous version did not list; the skipped segments were not checked`,
        lines.tags.get('EXT-X-MEDIA-SEQUENCE'),
      ),
    );
  }
  const whole = after ?? delta;
  compareVersions(before, whole, shiftLines(lines, whole.segments.length - delta.segments.length), found);
  return { violations: found, snapshot: whole };
}

/** The lines of a delta update once `lead` skipped segments are filled in before the listed ones (which have no line). */
function shiftLines(lines: MediaLines, lead: number): MediaLines {
  if (lead === 0) return lines;
  const none = new Array<number>(lead).fill(0);
  return {
    ...lines,
    uri: [...none, ...lines.uri],
    extinf: [...none, ...lines.extinf],
    key: [...none, ...lines.key],
    map: [...none, ...lines.map],
    programDateTime: new Map([...lines.programDateTime].map(([i, line]) => [i + lead, line])),
  };
}

/**
 * rfc8216bis §6.2.5.1: a Playlist Delta Update is the playlist "in which Media Segments that are
 * further from the end … than the Skip Boundary …, as well as their associated tags, are replaced
 * by an EXT-X-SKIP tag". The client fills them in from the version it holds; so do we. The KEY and
 * MAP in effect at the last skipped segment still apply to listed segments until the delta's own.
 * Undefined when the previous version does not list every skipped segment.
 */
function fillSkipped(
  before: MediaSnapshot,
  delta: MediaSnapshot,
  lines: MediaLines,
): MediaSnapshot | undefined {
  const skipped = delta.skippedSegments ?? 0;
  if (skipped === 0) return delta;
  if (!hasExactSequences(before) || !hasExactSequences(delta)) return undefined;
  const start = sequenceDistance(firstListedSequence(before), delta.mediaSequence);
  if (start < 0 || start + skipped > before.segments.length) return undefined;
  const filled = before.segments.slice(start, start + skipped);
  const last = filled[filled.length - 1] as SnapshotSegment;
  const listed = delta.segments.map((s, i) =>
    lines.key[i] === 0 || lines.map[i] === 0
      ? withTags(s, lines.key[i] === 0 ? last.key : s.key, lines.map[i] === 0 ? last.map : s.map)
      : s,
  );
  const { skippedSegments: _, ...rest } = delta;
  return { ...rest, segments: [...filled, ...listed] };
}

function withTags(s: SnapshotSegment, key: string | undefined, map: string | undefined): SnapshotSegment {
  return {
    uri: s.uri,
    duration: s.duration,
    discontinuity: s.discontinuity,
    ...(key === undefined ? {} : { key }),
    ...(map === undefined ? {} : { map }),
    ...(s.programDateTime === undefined ? {} : { programDateTime: s.programDateTime }),
  };
}

function compareVersions(
  before: MediaSnapshot,
  after: MediaSnapshot,
  lines: MediaLines,
  found: Violation[],
): void {
  if (before.endlist) {
    if (!sameSegments(before, after) || !after.endlist) {
      found.push(
        error(
          'live-after-endlist',
          'the previous version ended with EXT-X-ENDLIST; an ended playlist never changes',
        ),
      );
    }
    return;
  }
  if (before.playlistType === 'VOD') {
    // RFC 8216 §4.3.3.5: "If the EXT-X-PLAYLIST-TYPE is VOD, the Media Playlist cannot change."
    if (!sameSegments(before, after) || after.playlistType !== 'VOD' || after.endlist !== before.endlist) {
      found.push(
        error(
          'live-vod-changed',
          'the previous version is EXT-X-PLAYLIST-TYPE:VOD, and a VOD playlist never changes; publish changed content under a new playlist URI',
          lines.tags.get('EXT-X-PLAYLIST-TYPE'),
        ),
      );
    }
    return;
  }
  found.push(...checkPlaylistTags(before, after, lines));
  if (!hasExactSequences(before) || !hasExactSequences(after)) {
    found.push(
      warning(
        'live-sequence-unsafe',
        'media or discontinuity sequence numbers above 2^53−1 cannot be compared exactly; the segment rules of a live update were not checked',
      ),
    );
    return;
  }
  const removed = sequenceDistance(before.mediaSequence, after.mediaSequence);
  if (removed < 0) {
    found.push(
      error(
        'live-media-sequence-decreased',
        `EXT-X-MEDIA-SEQUENCE went back from ${before.mediaSequence} to ${after.mediaSequence}; did the encoder restart without epoch-locked numbering?`,
        lines.tags.get('EXT-X-MEDIA-SEQUENCE'),
      ),
    );
    return;
  }
  if (removed > 0) {
    if (before.playlistType === 'EVENT') {
      found.push(
        error(
          'live-event-segment-removed',
          'an EVENT playlist removed segments from its head; an EVENT playlist only appends',
          lines.tags.get('EXT-X-MEDIA-SEQUENCE'),
        ),
      );
    }
    found.push(...checkRemainingDuration(after, lines));
  }

  const beforeLast = lastSequenceOf(before);
  const afterLast = lastSequenceOf(after);
  // Discontinuities among the removed head segments are known only when the previous version listed them all.
  const headKnown = before.skippedSegments === undefined;
  const removedHead = before.segments.slice(0, Math.max(0, removed));
  const expectedDiscontinuity =
    before.discontinuitySequence + removedHead.filter((s) => s.discontinuity).length;
  const gap = sequenceDistance(beforeLast, firstListedSequence(after)) > 1;
  if (gap) {
    found.push(
      warning(
        'live-sequence-gap',
        `versions between media sequence ${beforeLast} and ${after.mediaSequence} were not seen; overlap rules not checked`,
      ),
    );
  }
  if (
    headKnown &&
    (gap
      ? after.discontinuitySequence < expectedDiscontinuity
      : after.discontinuitySequence !== expectedDiscontinuity)
  ) {
    found.push(
      discontinuityViolation(expectedDiscontinuity, after.discontinuitySequence, gap ? 'at least ' : ''),
    );
  }
  if (gap) return;

  compareOverlap(before, after, lines, found);
  if (sequenceDistance(afterLast, beforeLast) > 0 && after.segments.length > 0) {
    found.push(
      error(
        'live-segment-removed',
        `segments ${afterLast + 1}–${beforeLast} were removed from the end; only the head of a live playlist may shrink`,
      ),
    );
  }
}

/** Playlist-level tags stay as they were: a live playlist only appends (RFC 8216 §6.2.1). */
function checkPlaylistTags(before: MediaSnapshot, after: MediaSnapshot, lines: MediaLines): Violation[] {
  const found: Violation[] = [];
  if (after.playlistType !== before.playlistType) {
    found.push(
      error(
        'live-playlist-type-changed',
        `EXT-X-PLAYLIST-TYPE changed from ${before.playlistType ?? '(none)'} to ${after.playlistType ?? '(none)'}; a live playlist only appends, so keep the tag as it was`,
        lines.tags.get('EXT-X-PLAYLIST-TYPE') ?? 1,
      ),
    );
  }
  // Snapshots stored before versions were recorded carry none: then there is nothing to compare.
  if (before.version !== undefined && after.version !== before.version) {
    found.push(
      error(
        'live-version-changed',
        `EXT-X-VERSION changed from ${before.version} to ${after.version ?? 1}; keep the version of a live playlist (start a new playlist URI for a new version)`,
        lines.tags.get('EXT-X-VERSION') ?? 1,
      ),
    );
  }
  if (after.targetDuration !== before.targetDuration) {
    found.push(
      error(
        'live-targetduration-changed',
        `EXT-X-TARGETDURATION changed from ${before.targetDuration} to ${after.targetDuration}; keep it constant while live`,
        lines.tags.get('EXT-X-TARGETDURATION'),
      ),
    );
  }
  return found;
}

/**
 * RFC 8216 §6.2.2: "The server MUST NOT remove a Media Segment from a Playlist file without an
 * EXT-X-ENDLIST tag if that would produce a Playlist whose duration is less than three times the
 * Target Duration."
 */
function checkRemainingDuration(after: MediaSnapshot, lines: MediaLines): Violation[] {
  if (after.endlist || after.skippedSegments !== undefined) return [];
  let total = 0;
  for (const s of after.segments) total += s.duration;
  const minimum = 3 * after.targetDuration;
  // A millisecond of slack for durations written with three decimals.
  if (total + 0.001 >= minimum) return [];
  return [
    error(
      'live-playlist-too-short',
      `segments were removed from the head, leaving ${Number(total.toFixed(3))} s; a live playlist keeps at least 3 × EXT-X-TARGETDURATION = ${minimum} s, so remove a segment only once enough new ones are appended`,
      lines.tags.get('EXT-X-MEDIA-SEQUENCE'),
    ),
  ];
}

/**
 * The segments both versions list must be the same segments: same URI, duration and
 * discontinuity (RFC 8216 §6.2.1), same EXT-X-KEY and EXT-X-MAP in effect (§6.2.1; §6.2.3: "The
 * server MUST NOT remove an EXT-X-KEY tag from the Playlist file if it applies to any Media
 * Segment in the Playlist file") and the same date.
 */
function compareOverlap(
  before: MediaSnapshot,
  after: MediaSnapshot,
  lines: MediaLines,
  found: Violation[],
): void {
  const bFirst = firstListedSequence(before);
  const aFirst = firstListedSequence(after);
  // Index in `before` of the first segment `after` lists.
  const shift = sequenceDistance(bFirst, aFirst);
  const start = Math.max(0, -shift);
  const end = Math.min(after.segments.length, before.segments.length - shift);
  const tagsRecorded = before.version !== undefined;
  const beforeDates = tagsRecorded ? programDates(before.segments) : [];
  const afterDates = tagsRecorded ? programDates(after.segments) : [];
  let keyReported = false;
  let mapReported = false;
  let dateReported = false;

  for (let i = start; i < end; i++) {
    const was = before.segments[i + shift] as SnapshotSegment;
    const now = after.segments[i] as SnapshotSegment;
    const sequence = aFirst + i;
    if (was.uri !== now.uri || was.duration !== now.duration || was.discontinuity !== now.discontinuity) {
      found.push(misalignment(before, bFirst, was, now, i + shift, sequence, lines.uri[i]));
      return; // one misalignment shifts every later segment: report its cause once
    }
    if (!tagsRecorded) continue;
    if (!keyReported && was.key !== now.key) {
      keyReported = true;
      found.push(
        error(
          'live-key-changed',
          `media sequence ${sequence} was published with ${describeTag('EXT-X-KEY', was.key)} and now has ${describeTag('EXT-X-KEY', now.key)}; a published segment keeps its key: add a new EXT-X-KEY before the first new segment, and keep the old one while a segment it applies to remains`,
          lines.key[i] || lines.uri[i],
        ),
      );
    }
    if (!mapReported && was.map !== now.map) {
      mapReported = true;
      found.push(
        error(
          'live-map-changed',
          `media sequence ${sequence} was published with ${describeTag('EXT-X-MAP', was.map)} and now has ${describeTag('EXT-X-MAP', now.map)}; a published segment keeps its initialization section: add a new EXT-X-MAP before the first new segment`,
          lines.map[i] || lines.uri[i],
        ),
      );
    }
    const wasDate = beforeDates[i + shift];
    const nowDate = afterDates[i];
    if (dateReported || wasDate === undefined || nowDate === undefined) continue;
    // Two written dates must be equal; a date written now for a segment whose date was derived
    // may differ by sub-second drift (rfc8216bis §6.2.1 allows "small (sub-second) overlaps").
    const written = was.programDateTime !== undefined && now.programDateTime !== undefined;
    if (Math.abs(wasDate - nowDate) >= (written ? 1 : DERIVED_DATE_TOLERANCE_MS)) {
      dateReported = true;
      found.push(
        error(
          'live-program-date-time-changed',
          `media sequence ${sequence} was dated ${isoDate(wasDate)} and is now dated ${isoDate(nowDate)}; a published segment keeps its EXT-X-PROGRAM-DATE-TIME: date new segments only`,
          lines.programDateTime.get(i) ?? lines.uri[i],
        ),
      );
    }
  }
}

function misalignment(
  before: MediaSnapshot,
  bFirst: number,
  was: SnapshotSegment,
  now: SnapshotSegment,
  beforeIndex: number,
  sequence: number,
  line: number | undefined,
): Violation {
  const shiftedFrom = was.uri === now.uri ? -1 : before.segments.findIndex((s) => s.uri === now.uri);
  if (shiftedFrom >= 0) {
    return error(
      'live-media-sequence-mismatch',
      `segment "${now.uri}" had media sequence ${bFirst + shiftedFrom} and now has ${sequence}: EXT-X-MEDIA-SEQUENCE must advance by exactly the number of segments removed (off by ${shiftedFrom - beforeIndex})`,
      line,
    );
  }
  return error(
    'live-segment-rewritten',
    `media sequence ${sequence} was "${was.uri}" (${was.duration} s${was.discontinuity ? ', discontinuity' : ''}) and is now "${now.uri}" (${now.duration} s${now.discontinuity ? ', discontinuity' : ''}); published segments never change`,
    line,
  );
}

/**
 * The date of each segment: its own EXT-X-PROGRAM-DATE-TIME, else the previous segment's date plus
 * that segment's duration, unless a discontinuity lies between (RFC 8216 §4.3.2.6).
 */
function programDates(segments: readonly SnapshotSegment[]): (number | undefined)[] {
  const dates: (number | undefined)[] = [];
  let previous: number | undefined;
  let previousDuration = 0;
  for (const s of segments) {
    const date =
      s.programDateTime ??
      (previous === undefined || s.discontinuity ? undefined : previous + previousDuration * 1000);
    dates.push(date);
    previous = date;
    previousDuration = s.duration;
  }
  return dates;
}

/** A date for a message; a derived date can leave the range Date can print (it must not throw). */
function isoDate(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms after 1970`;
}

function describeTag(name: string, value: string | undefined): string {
  return value === undefined ? `no ${name}` : `${name}:${value.replaceAll('\n', ` + ${name}:`)}`;
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
