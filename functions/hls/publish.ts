/**
 * Published mode (issue 15): the media playlists viewers read, one per rendition under the viewer
 * prefix (`<channel>/live/<rest>`), written only by the workflow from an encoder's accepted
 * version. Viewers never load an encoder's own playlist, so what the workflow has not validated
 * (an invalid playlist, a one-sided EXT-X-ENDLIST) never reaches them.
 *
 * A published playlist only moves forwards, one segment at a time: a segment, once listed, keeps
 * its media sequence number, its URI and its tags (hls.js drops a reload that lists a known number
 * under another URI). A change of encoder is a splice inside it: for output-locked encoders the
 * same numbers and timing go on ({@link checkLock}); otherwise the new encoder's segments follow an
 * EXT-X-DISCONTINUITY, renumbered after the last published one, and EXT-X-DISCONTINUITY-SEQUENCE
 * counts the discontinuities that slide out of the window (RFC 8216 §4.3.3.3).
 *
 * Published playlists are built from the snapshot, not the encoder's lines: EXTINF, EXT-X-KEY,
 * EXT-X-MAP, EXT-X-PROGRAM-DATE-TIME and EXT-X-DISCONTINUITY per segment; EXT-X-VERSION,
 * EXT-X-TARGETDURATION, EXT-X-INDEPENDENT-SEGMENTS, EXT-X-PLAYLIST-TYPE:EVENT and
 * EXT-X-I-FRAMES-ONLY in the header. Low-latency
 * tags (parts, preload hints, rendition reports, delta updates) are not published: a published
 * playlist is a regular-latency one.
 */
import { firstListedSequence, lastSequenceOf } from './live-update';
import { checkLock, isRelative, type LockOptions, siblingPrefix, withUriUnder } from './splice';
import type { MediaSnapshot, SnapshotSegment } from './validate-media';

/**
 * The comment line (RFC 8216 §4.1) after `#EXTM3U` of a published playlist: the encoder whose
 * segments it lists last, and the offset from that encoder's media sequence numbers to the
 * published ones (0 while no unlocked switch happened).
 */
export const PUBLISHED_MARKER = '#HLS-FAILOVER-PUBLISHED:';

export interface PublishedFrom {
  readonly encoder: string;
  readonly offset: number;
}

/** What a published playlist's marker says, or undefined when `text` is not a published playlist. */
export function publishedFrom(text: string): PublishedFrom | undefined {
  const second = text.split('\n', 2)[1]?.trim();
  if (!second?.startsWith(PUBLISHED_MARKER)) return undefined;
  const match = /^([A-Za-z0-9._-]+) (-?\d+)$/.exec(second.slice(PUBLISHED_MARKER.length));
  if (match === null) return undefined;
  return { encoder: match[1] as string, offset: Number(match[2]) };
}

export interface PublishInput {
  /** The encoder to publish from: its folder name and its accepted version of the rendition. */
  readonly source: { readonly encoder: string; readonly text: string; readonly snapshot: MediaSnapshot };
  /** The published playlist viewers load now, if any. */
  readonly previous?: { readonly text: string; readonly snapshot: MediaSnapshot };
  /** The rendition's path inside an encoder folder, and under the viewer prefix: `720p/index.m3u8`. */
  readonly rest: string;
  /**
   * Every encoder has ended this rendition (EXT-X-ENDLIST): the published playlist may end too.
   * Otherwise a source's EXT-X-ENDLIST is left out (one encoder stopped; the other goes on), and
   * so is its last segment, which the stop may have cut short.
   */
  readonly ended: boolean;
}

export type PublishResult =
  | {
      readonly kind: 'publish';
      readonly text: string;
      /** The published playlist's last media sequence number. */
      readonly lastSequence: number;
      /** Set when this publication changes encoder: locked (same numbers) or spliced with a discontinuity. */
      readonly switched?: { readonly from: string; readonly locked: boolean; readonly reason?: string };
    }
  /** Nothing new to publish: the segment is published already (the other encoder's event, a retry). */
  | { readonly kind: 'unchanged'; readonly reason: string }
  | { readonly kind: 'refused'; readonly reason: string };

/** One published segment, its URIs as viewers resolve them from the viewer prefix. */
interface Entry {
  readonly sequence: number;
  readonly segment: SnapshotSegment;
}

/** Why a source cannot be published from its snapshot, if it cannot. */
function unpublishable(source: PublishInput['source']): string | undefined {
  if ((source.snapshot.skippedSegments ?? 0) > 0)
    return 'it is a delta update (EXT-X-SKIP): only a whole playlist can be published';
  if (/^#EXT-X-BYTERANGE:/m.test(source.text)) return 'its segments are byte ranges (EXT-X-BYTERANGE)';
  if (source.snapshot.segments.some((s) => s.uri.includes('{$')))
    return 'its segment URIs name variables (EXT-X-DEFINE)';
  return undefined;
}

/** The source's segments as published: numbered with `offset`, URIs under the encoder's folder. */
function sourceEntries(source: PublishInput['source'], rest: string, offset: number): Entry[] {
  const prefix = siblingPrefix(rest, source.encoder);
  const first = firstListedSequence(source.snapshot);
  return source.snapshot.segments.map((s, i) => ({
    sequence: first + i + offset,
    segment: {
      ...s,
      uri: isRelative(s.uri) ? `${prefix}${s.uri}` : s.uri,
      ...(s.key === undefined
        ? {}
        : {
            key: s.key
              .split('\n')
              .map((k) => withUriUnder(k, prefix))
              .join('\n'),
          }),
      ...(s.map === undefined ? {} : { map: withUriUnder(s.map, prefix) }),
    },
  }));
}

function entriesOf(snapshot: MediaSnapshot): Entry[] {
  const first = firstListedSequence(snapshot);
  return snapshot.segments.map((segment, i) => ({ sequence: first + i, segment }));
}

/**
 * For an unlocked switch, the index of the source's first segment after what is published: by
 * date when both date their segments (undefined when none is newer yet: publishing an older one
 * would repeat content), else the source's newest segment (the live edge).
 */
function firstNewSegment(published: readonly Entry[], source: readonly Entry[]): number | undefined {
  const last = published.at(-1)?.segment;
  const end = last?.programDateTime === undefined ? undefined : last.programDateTime + last.duration * 1000;
  if (end !== undefined) {
    // Half a segment of slack: encoders' clocks differ by a constant offset, not by a segment.
    const next = source.findIndex(
      (e) =>
        e.segment.programDateTime !== undefined &&
        e.segment.programDateTime >= end - (e.segment.duration * 1000) / 2,
    );
    if (next !== -1) return next;
    if (source.some((e) => e.segment.programDateTime !== undefined)) return undefined;
  }
  return source.length - 1;
}

/**
 * The next published version of one rendition, from `source`: or `unchanged` when it adds no
 * segment (each segment is published once, whichever encoder's event comes first), or `refused`
 * when the source cannot be published (the last published version then stays).
 */
export function publishPlaylist(input: PublishInput, options: LockOptions = {}): PublishResult {
  const { previous, rest, ended } = input;
  const problem = unpublishable(input.source);
  if (problem !== undefined)
    return { kind: 'refused', reason: `${input.source.encoder}/${rest}: ${problem}` };
  // A one-sided end: an encoder stopped mid-segment cuts its last segment short (ffmpeg on
  // SIGTERM), and the other encoder writes that segment whole. Published, the short one would leave
  // a gap or a repeat at the switch; it waits for the other encoder's instead.
  const source =
    input.source.snapshot.endlist && !ended
      ? {
          ...input.source,
          snapshot: { ...input.source.snapshot, segments: input.source.snapshot.segments.slice(0, -1) },
        }
      : input.source;
  const end = ended && source.snapshot.endlist;
  const marker = previous === undefined ? undefined : publishedFrom(previous.text);
  // An ended published playlist is over: a new event (a new generation of the encoders) starts a
  // new one, as a player that loaded the ended one never reloads it.
  if (previous === undefined || marker === undefined || (previous.snapshot.endlist && !end)) {
    const entries = sourceEntries(source, rest, 0);
    return {
      kind: 'publish',
      text: render(
        source,
        entries,
        source.snapshot.discontinuitySequence,
        { encoder: source.encoder, offset: 0 },
        end,
      ),
      lastSequence: lastSequenceOf(source.snapshot),
    };
  }

  const published = entriesOf(previous.snapshot);
  const publishedLast = lastSequenceOf(previous.snapshot);
  let offset = marker.offset;
  let fresh = sourceEntries(source, rest, offset);
  if (fresh.length === 0)
    return { kind: 'unchanged', reason: `${source.encoder}/${rest} lists no segment to publish` };
  let switched: { from: string; locked: boolean; reason?: string } | undefined;
  // A new generation of the same encoder (it restarted its numbering: the accepted version lies
  // wholly before the published window) is spliced in as another encoder would be.
  const restarted = (fresh.at(-1) as Entry).sequence < (published[0]?.sequence ?? publishedLast + 1);
  if (marker.encoder !== source.encoder || restarted) {
    const shifted = { ...source.snapshot, mediaSequence: source.snapshot.mediaSequence + offset };
    const lock = checkLock(previous.snapshot, shifted, options);
    if (lock.locked) switched = { from: marker.encoder, locked: true };
    else {
      const k = firstNewSegment(published, fresh);
      if (k === undefined)
        return {
          kind: 'unchanged',
          reason: `${source.encoder}/${rest} has no segment dated after the published ones yet (not output-locked: ${lock.reason})`,
        };
      offset += publishedLast + 1 - (fresh[k] as Entry).sequence;
      fresh = sourceEntries(source, rest, offset).slice(k);
      const head = fresh[0] as Entry;
      fresh[0] = { ...head, segment: { ...head.segment, discontinuity: true } };
      switched = { from: marker.encoder, locked: false, reason: lock.reason };
    }
  }
  const appended = fresh.filter((e) => e.sequence > publishedLast);
  const ending = end && !previous.snapshot.endlist;
  if (appended.length === 0 && !ending) {
    const last = fresh.at(-1)?.sequence ?? Number.NEGATIVE_INFINITY;
    return {
      kind: 'unchanged',
      reason:
        last === publishedLast
          ? `segment ${publishedLast} is published already`
          : `${source.encoder}/${rest} ends at segment ${last}, before the published ${publishedLast}: never backwards`,
    };
  }
  // The window: as many segments as the source lists, never fewer than this publication adds.
  const all = [...published, ...appended];
  const dropped = Math.max(0, all.length - Math.max(source.snapshot.segments.length, appended.length));
  const slid = all.slice(0, dropped).filter((e) => e.segment.discontinuity).length;
  return {
    kind: 'publish',
    text: render(
      source,
      all.slice(dropped),
      previous.snapshot.discontinuitySequence + slid,
      { encoder: source.encoder, offset },
      end,
      previous.snapshot,
    ),
    lastSequence: (all.at(-1) as Entry).sequence,
    ...(switched === undefined ? {} : { switched }),
  };
}

/** A published playlist's text. */
function render(
  source: PublishInput['source'],
  entries: readonly Entry[],
  discontinuitySequence: number,
  from: PublishedFrom,
  endlist: boolean,
  previous?: MediaSnapshot,
): string {
  const longest = Math.max(0, ...entries.map((e) => Math.round(e.segment.duration)));
  // EXT-X-TARGETDURATION must not change (RFC 8216 §6.2.1): the first published one stays, unless
  // a segment would outgrow it.
  const target = Math.max(previous?.targetDuration ?? source.snapshot.targetDuration, longest);
  const iFramesOnly = /^#EXT-X-I-FRAMES-ONLY\s*$/m.test(source.text);
  // EXT-X-MAP outside an I-frames-only playlist needs version 6 (RFC 8216 §7).
  const mapped = !iFramesOnly && entries.some((e) => e.segment.map !== undefined);
  const version = Math.max(previous?.version ?? 1, source.snapshot.version ?? 1, mapped ? 6 : 3);
  const lines = [
    '#EXTM3U',
    `${PUBLISHED_MARKER}${from.encoder} ${from.offset}`,
    `#EXT-X-VERSION:${version}`,
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${entries[0]?.sequence ?? lastSequenceOf(source.snapshot) + 1}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuitySequence}`,
  ];
  if (/^#EXT-X-INDEPENDENT-SEGMENTS\s*$/m.test(source.text)) lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  if (source.snapshot.playlistType === 'EVENT') lines.push('#EXT-X-PLAYLIST-TYPE:EVENT');
  if (iFramesOnly) lines.push('#EXT-X-I-FRAMES-ONLY');
  let key: string | undefined;
  let map: string | undefined;
  for (const { segment } of entries) {
    if (segment.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (segment.key !== key) {
      for (const k of segment.key?.split('\n') ?? ['METHOD=NONE']) lines.push(`#EXT-X-KEY:${k}`);
      key = segment.key;
    }
    if (segment.map !== undefined && segment.map !== map) {
      lines.push(`#EXT-X-MAP:${segment.map}`);
      map = segment.map;
    }
    if (segment.programDateTime !== undefined)
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateTime).toISOString()}`);
    lines.push(`#EXTINF:${segment.duration},`, segment.uri);
  }
  if (endlist) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}
