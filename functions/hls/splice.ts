/**
 * Splicing (issue 14): a failed encoder's media playlist kept live with the healthy encoder's
 * segments. Output-locked encoders give the same content the same media sequence number, the
 * same duration and the same timestamps, so the healthy encoder's playlist, its newer segments
 * copied into the failed encoder's folder, is the playlist the failed encoder would have written.
 * A viewer reading the failed encoder's playlist then keeps loading a live playlist: no 404, no
 * pathway switch, no segment URI that changes, nothing asked of the player.
 *
 * Only when the lock holds ({@link checkLock}): on the segments both encoders list, the same
 * durations, the same discontinuity sequence and, where both write EXT-X-PROGRAM-DATE-TIME, the
 * same dates. Otherwise the splice is refused with the reason, and the workflow falls back to
 * steering.
 */
import { firstListedSequence, lastSequenceOf } from './live-update';
import { escapesFolder, joinUri, SCHEME } from './uris';
import type { MediaSnapshot } from './validate-media';

/**
 * The comment line (RFC 8216 §4.1: a line starting with '#' but not '#EXT' is a comment, which
 * clients ignore) that marks a playlist the workflow spliced, and names the encoder whose
 * segments it lists.
 */
export const SPLICE_MARKER = '#HLS-FAILOVER-SPLICED-FROM:';

export interface LockOptions {
  /** Largest difference between the two encoders' EXTINF for one segment, in seconds. @default 0.01 */
  readonly durationToleranceSeconds?: number;
  /**
   * Largest difference between their EXT-X-PROGRAM-DATE-TIME for one segment, in ms. Encoders that
   * date segments by their own clocks at start-up (ffmpeg dates from its start, 60 ms apart for
   * two started on the same boundary, measured) differ by a constant offset. 250 ms is far below
   * the half segment that would mean another segment, and no more than a viewer that aligns the
   * splice by date may skip or repeat (the e2e freeze budget). @default 250
   */
  readonly dateToleranceMs?: number;
}

export type LockCheck =
  | {
      readonly locked: true;
      /** Segments compared (those both playlists list). */
      readonly compared: number;
      /**
       * What was compared: durations and discontinuities, and dates when both write them; nothing
       * when the failed encoder's playlist is a splice already (checked when it was first written).
       */
      readonly basis: 'durations' | 'durations and dates' | 'a splice already';
    }
  | { readonly locked: false; readonly reason: string };

/**
 * Per listed segment: media sequence → its duration, discontinuity sequence and date. A segment
 * without its own EXT-X-PROGRAM-DATE-TIME is dated, as a client dates it, from the one before
 * plus that one's duration (not across a discontinuity).
 */
function segmentsBySequence(
  s: MediaSnapshot,
): Map<number, { duration: number; discontinuitySequence: number; date: number | undefined }> {
  const out = new Map<
    number,
    { duration: number; discontinuitySequence: number; date: number | undefined }
  >();
  let discontinuitySequence = s.discontinuitySequence;
  let next: number | undefined;
  const first = firstListedSequence(s);
  s.segments.forEach((segment, i) => {
    if (segment.discontinuity) {
      discontinuitySequence++;
      next = undefined;
    }
    const date = segment.programDateTime ?? next;
    out.set(first + i, { duration: segment.duration, discontinuitySequence, date });
    next = date === undefined ? undefined : date + segment.duration * 1000;
  });
  return out;
}

/**
 * Whether two encoders' versions of one rendition are output-locked: on every media sequence
 * number both list, the same duration, the same discontinuity sequence and (when both write one)
 * the same EXT-X-PROGRAM-DATE-TIME, within the tolerances.
 */
export function checkLock(
  failed: MediaSnapshot,
  healthy: MediaSnapshot,
  options: LockOptions = {},
): LockCheck {
  const durationTolerance = options.durationToleranceSeconds ?? 0.01;
  const dateTolerance = options.dateToleranceMs ?? 250;
  const a = segmentsBySequence(failed);
  const b = segmentsBySequence(healthy);
  let compared = 0;
  let dates = 0;
  for (const [sequence, x] of a) {
    const y = b.get(sequence);
    if (y === undefined) continue;
    compared++;
    if (Math.abs(x.duration - y.duration) > durationTolerance)
      return {
        locked: false,
        reason: `segment ${sequence} lasts ${x.duration} s in one encoder and ${y.duration} s in the other`,
      };
    if (x.discontinuitySequence !== y.discontinuitySequence)
      return {
        locked: false,
        reason: `segment ${sequence} is in discontinuity sequence ${x.discontinuitySequence} in one encoder and ${y.discontinuitySequence} in the other`,
      };
    if (x.date !== undefined && y.date !== undefined) {
      dates++;
      if (Math.abs(x.date - y.date) > dateTolerance)
        return {
          locked: false,
          reason: `segment ${sequence} is dated ${new Date(x.date).toISOString()} in one encoder and ${new Date(y.date).toISOString()} in the other (${Math.abs(x.date - y.date)} ms apart, tolerance ${dateTolerance} ms)`,
        };
    }
  }
  if (compared === 0)
    return {
      locked: false,
      reason: `no segment in common to compare (one lists up to ${lastSequenceOf(failed)}, the other from ${lastSequenceOf(healthy) - healthy.segments.length + 1})`,
    };
  return { locked: true, compared, basis: dates > 0 ? 'durations and dates' : 'durations' };
}

export interface SpliceInput {
  /** The healthy encoder: its folder name, and its accepted media playlist (text and snapshot). */
  readonly healthy: { readonly encoder: string; readonly text: string; readonly snapshot: MediaSnapshot };
  /**
   * The failed encoder: its folder name, and what its viewers last loaded of this rendition: its
   * last accepted version, or the splice written since (`spliced`: the lock was verified when the
   * first splice was written, and the splice only moves on along the healthy encoder's playlist).
   */
  readonly failed: {
    readonly encoder: string;
    readonly snapshot: MediaSnapshot | undefined;
    readonly spliced?: boolean;
  };
  /** The rendition's path inside an encoder folder (the same in both: one ladder), e.g. `720p/index.m3u8`. */
  readonly rest: string;
}

export type SpliceResult =
  | {
      readonly kind: 'spliced';
      readonly text: string;
      readonly lock: Extract<LockCheck, { locked: true }>;
      /**
       * Segment objects to copy from the healthy encoder's folder into the failed encoder's, before
       * the splice is written: paths inside an encoder folder (`720p/seg_141.ts`), the same in both.
       */
      readonly copies: readonly string[];
    }
  | { readonly kind: 'refused'; readonly reason: string };

/** The path inside the encoder folder of a relative segment URI, or why it cannot be copied. */
function segmentPath(folder: string, uri: string): string | { readonly reason: string } {
  if (uri.includes('{$'))
    return { reason: `segment "${uri}" names a variable (EXT-X-DEFINE): its object cannot be copied` };
  const path = uri.split(/[?#]/, 1)[0] ?? '';
  if (escapesFolder(`${folder}${path}`))
    return { reason: `segment "${uri}" climbs out of the encoder's folder` };
  try {
    return decodeURIComponent(joinUri(folder, path));
  } catch {
    return { reason: `segment "${uri}" is not a valid percent-encoded path` };
  }
}

/**
 * The failed encoder's playlist for `rest`, spliced from the healthy encoder's: the same lines and
 * media sequence, and a {@link SPLICE_MARKER} comment after `#EXTM3U`.
 *
 * A segment URI never changes once viewers have seen it under a media sequence number: hls.js
 * (1.5+) drops a reloaded playlist that lists a known number under another URI ("media sequence
 * mismatch") and stalls. So each segment the failed encoder's viewers already know keeps its URI,
 * and each newer one keeps the healthy encoder's relative URI, its object copied into the failed
 * encoder's folder ({@link SpliceResult} `copies`): the name the failed encoder gives the same
 * segment when the two name segments alike, as locked pairs do, so its own playlists agree with the
 * splice again when it comes back. Absolute segment URIs stay as they are. EXT-X-MAP, EXT-X-KEY,
 * EXT-X-PART and EXT-X-PRELOAD-HINT point at the healthy encoder's objects; rendition reports keep
 * their URIs (the failed encoder's sibling playlists, spliced too).
 *
 * Refused when the encoders are not locked, when the healthy playlist would take viewers backwards
 * (it ends before the failed encoder's last segment), or when a segment cannot be copied (a
 * variable in its URI, a path out of the folder, or a name the failed encoder uses for another
 * segment).
 */
export function splicePlaylist(input: SpliceInput, options: LockOptions = {}): SpliceResult {
  const { healthy, failed, rest } = input;
  if (failed.snapshot === undefined)
    return {
      kind: 'refused',
      reason: `no accepted version of ${failed.encoder}/${rest} to check the lock against`,
    };
  if (lastSequenceOf(healthy.snapshot) < lastSequenceOf(failed.snapshot))
    return {
      kind: 'refused',
      reason: `${healthy.encoder}/${rest} ends at segment ${lastSequenceOf(healthy.snapshot)}, before ${failed.encoder}'s ${lastSequenceOf(failed.snapshot)}: viewers would go backwards`,
    };
  const lock: LockCheck = failed.spliced
    ? { locked: true, compared: 0, basis: 'a splice already' }
    : checkLock(failed.snapshot, healthy.snapshot, options);
  if (!lock.locked) return { kind: 'refused', reason: `${rest}: not output-locked: ${lock.reason}` };

  const folder = rest.slice(0, rest.lastIndexOf('/') + 1);
  // What the failed encoder's viewers know: media sequence → URI, and the objects those name.
  const known = new Map<number, string>();
  const knownPaths = new Map<string, number>();
  const failedFirst = firstListedSequence(failed.snapshot);
  failed.snapshot.segments.forEach((s, i) => {
    known.set(failedFirst + i, s.uri);
    const path = isRelative(s.uri) ? segmentPath(folder, s.uri) : undefined;
    if (typeof path === 'string') knownPaths.set(path, failedFirst + i);
  });
  const uris: string[] = [];
  const copies = new Set<string>();
  const healthyFirst = firstListedSequence(healthy.snapshot);
  for (const [i, segment] of healthy.snapshot.segments.entries()) {
    const sequence = healthyFirst + i;
    const uri = known.get(sequence) ?? segment.uri;
    uris.push(uri);
    if (known.has(sequence) || !isRelative(uri)) continue;
    const path = segmentPath(folder, uri);
    if (typeof path !== 'string') return { kind: 'refused', reason: `${rest}: ${path.reason}` };
    const owner = knownPaths.get(path);
    if (owner !== undefined && owner !== sequence)
      return {
        kind: 'refused',
        reason: `${rest}: segment ${sequence} of ${healthy.encoder} is named "${uri}", which ${failed.encoder} lists as segment ${owner}`,
      };
    copies.add(path);
  }

  const prefix = siblingPrefix(rest, healthy.encoder);
  const lines: string[] = [];
  let segment = 0;
  for (const raw of healthy.text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith(SPLICE_MARKER)) continue;
    if (line === '' || (line.startsWith('#') && !/^#EXT-X-(KEY|MAP|PART|PRELOAD-HINT):/.test(line))) {
      lines.push(raw);
      if (line === '#EXTM3U' && lines.length === 1) lines.push(`${SPLICE_MARKER}${healthy.encoder}`);
    } else if (line.startsWith('#')) {
      const colon = line.indexOf(':');
      lines.push(`${line.slice(0, colon + 1)}${withUriUnder(line.slice(colon + 1), prefix)}`);
    } else {
      lines.push(uris[segment++] ?? line);
    }
  }
  return { kind: 'spliced', text: lines.join('\n'), lock, copies: [...copies] };
}

/**
 * From a playlist at `<folder>/<rest>` (an encoder folder, or the viewer prefix), the prefix that
 * reaches the same folder of `rest` in `encoder`'s folder: `../../failover/720p/` for `720p/index.m3u8`.
 */
export function siblingPrefix(rest: string, encoder: string): string {
  const depth = rest.split('/').length - 1;
  return `${'../'.repeat(depth + 1)}${encoder}/${rest.slice(0, rest.lastIndexOf('/') + 1)}`;
}

/** An attribute list with its relative `URI="..."` put under `prefix`. */
export function withUriUnder(attributes: string, prefix: string): string {
  return attributes.replace(
    /(^|,)URI="([^"]*)"/g,
    (_m, lead: string, uri: string) => `${lead}URI="${isRelative(uri) ? `${prefix}${uri}` : uri}"`,
  );
}

/** A URI relative to the playlist's folder: no scheme, not root-relative. */
export function isRelative(uri: string): boolean {
  return !SCHEME.test(uri) && !uri.startsWith('/');
}

/** The encoder whose segments a spliced playlist lists, or undefined for an encoder's own playlist. */
export function splicedFrom(text: string): string | undefined {
  const second = text.split('\n', 2)[1]?.trim();
  return second?.startsWith(SPLICE_MARKER) ? second.slice(SPLICE_MARKER.length) : undefined;
}
