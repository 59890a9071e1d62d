/**
 * What the end-to-end tests measure, as pure functions over what was recorded: the player page's
 * samples (what a viewer saw) and the runtime's object events (what the encoders uploaded and
 * what the workflow wrote or withdrew, and when). Every time is epoch ms on one machine.
 */
import { SEGMENT_NUMBER } from '../../local/playlist-dater';

/** One 250 ms sample of the player page (test/e2e/player.html). */
export interface PlayerSample {
  readonly at: number;
  readonly currentTime: number;
  readonly bufferedEnd: number;
  readonly paused: boolean;
  readonly ended: boolean;
  readonly readyState: number;
  /** Encoder folder of the last main-fragment URL hls.js loaded (`other` when none). */
  readonly fragEncoder: string;
  readonly levelEncoder: string;
  readonly pathwayPriority: readonly string[] | null;
}

export interface PlayerLoad {
  readonly at: number;
  readonly type: string;
  readonly url: string;
  readonly encoder: string;
  readonly sn?: number | string;
  /** For `level-loaded` / `audio-loaded`: false when the playlist carried EXT-X-ENDLIST. */
  readonly live?: boolean;
}

export interface PlayerError {
  readonly at: number;
  readonly type: string;
  readonly details: string;
  readonly fatal?: boolean;
  readonly url?: string;
  readonly code?: number;
}

/** Everything the player page recorded. */
export interface PlayerRecord {
  readonly src: string;
  /** Which player (test/e2e/player.html) and its version. */
  readonly player: string;
  readonly playerVersion: string;
  readonly startedAt: number;
  readonly samples: readonly PlayerSample[];
  readonly mediaEvents: readonly {
    readonly at: number;
    readonly type: string;
    readonly currentTime: number;
  }[];
  /** hls.js: its own load events; the other players: the network requests below. */
  readonly loads: readonly PlayerLoad[];
  /** Playlist (`level`) and segment (`frag`) requests, and responses of 400 and above (`http-404`), from the browser. */
  readonly network?: readonly PlayerLoad[];
  readonly errors: readonly PlayerError[];
  readonly steering: readonly { readonly at: number; readonly priority: readonly string[] | null }[];
  readonly pageErrors?: readonly string[];
}

/** A stretch where the picture stood still while the player was meant to play. */
export interface Freeze {
  readonly from: number;
  readonly to: number;
  /** Wall time minus media time over the stretch: how long the viewer waited. */
  readonly seconds: number;
  /** Still frozen at the last sample. */
  readonly open: boolean;
}

export interface PlaybackSummary {
  /** Epoch ms of the first sample whose currentTime had advanced; undefined: never played. */
  readonly playingSince: number | undefined;
  /** Wall seconds observed while playing (from max(playingSince, window start) to the last sample). */
  readonly observedSeconds: number;
  /** Total rebuffer: the sum of every freeze. */
  readonly rebufferSeconds: number;
  readonly longestFreezeSeconds: number;
  readonly freezes: readonly Freeze[];
  /** Wall time minus media time over the whole window (a cross-check of rebufferSeconds). */
  readonly driftSeconds: number;
  /** `waiting` events inside the window. */
  readonly waitingEvents: number;
  /** Forward jumps of currentTime (hls.js skipping a gap or seeking to live) inside the window. */
  readonly jumps: number;
  /** Content the viewer never saw because of those jumps (media time beyond wall time), seconds. */
  readonly skippedSeconds: number;
  /** currentTime advanced over the last 2 s of the window and the element has not ended. */
  readonly playingAtEnd: boolean;
  /** The media element reached `ended` (the session is over for this viewer). */
  readonly ended: boolean;
  /** Encoder of the segments played at the fault and at the end of the window. */
  readonly pathwayBefore: string;
  readonly pathwayAfter: string;
  /** First main-fragment load from another encoder than pathwayBefore after the fault (epoch ms). */
  readonly switchedAt: number | undefined;
  readonly fatalErrors: readonly string[];
}

/** A sample interval counts toward a freeze when the picture fell behind the wall clock by this much. */
const FREEZE_INTERVAL_DEFICIT_S = 0.1;
/** Media time that moves this much more than wall time in one interval is a jump, not playback. */
const JUMP_S = 0.5;

/**
 * Summarises playback between `from` and `to` (epoch ms; default: everything after playback
 * started, its first advance at the pace of the wall clock). A freeze is a run of sample intervals in which media time fell behind wall time by more
 * than 0.1 s each; its length is the total deficit, so 250 ms sampling still measures a 0.3 s
 * freeze as 0.3 s. Intervals after the element ended are not freezes (the session is over, which
 * `ended` reports).
 */
export function summarizePlayback(
  record: PlayerRecord,
  window: { readonly from?: number; readonly to?: number; readonly fault?: number } = {},
): PlaybackSummary {
  const samples = record.samples;
  // Playback starts at the first advance no larger than the wall time that passed: a player's seek
  // to the live edge before its first frame (video.js: 0 → 6 s, then ~0.5 s to buffer) is a jump,
  // and the wait after it is startup, not a freeze.
  const started = samples.findIndex((s, i) => {
    const previous = samples[i - 1];
    if (i === 0 || previous === undefined) return false;
    const media = s.currentTime - previous.currentTime;
    return media > 0 && media <= (s.at - previous.at) / 1000 + JUMP_S;
  });
  const playingSince = started > 0 ? samples[started]?.at : undefined;
  const from = Math.max(playingSince ?? Number.POSITIVE_INFINITY, window.from ?? 0);
  const to = window.to ?? Number.POSITIVE_INFINITY;
  const inWindow = samples.filter((s) => s.at >= from && s.at <= to);

  const freezes: Freeze[] = [];
  let run: { from: number; to: number; seconds: number } | undefined;
  let jumps = 0;
  let skipped = 0;
  for (let i = 1; i < inWindow.length; i++) {
    const a = inWindow[i - 1] as PlayerSample;
    const b = inWindow[i] as PlayerSample;
    const wall = (b.at - a.at) / 1000;
    const media = b.currentTime - a.currentTime;
    if (media > wall + JUMP_S) {
      jumps++;
      skipped += media - wall;
    }
    const deficit = a.ended || b.ended || a.paused ? 0 : wall - Math.max(0, media);
    if (deficit > FREEZE_INTERVAL_DEFICIT_S) {
      run =
        run === undefined
          ? { from: a.at, to: b.at, seconds: deficit }
          : { ...run, to: b.at, seconds: run.seconds + deficit };
    } else if (run !== undefined) {
      freezes.push({ ...run, seconds: round(run.seconds), open: false });
      run = undefined;
    }
  }
  if (run !== undefined) freezes.push({ ...run, seconds: round(run.seconds), open: true });

  const first = inWindow[0];
  const last = inWindow.at(-1);
  const observedSeconds = first && last ? (last.at - first.at) / 1000 : 0;
  const driftSeconds = first && last ? observedSeconds - (last.currentTime - first.currentTime) : 0;
  const tail = inWindow.filter((s) => last !== undefined && s.at >= last.at - 2000);
  const playingAtEnd =
    last !== undefined &&
    !last.ended &&
    tail.length >= 2 &&
    last.currentTime - (tail[0] as PlayerSample).currentTime >
      0.5 * ((last.at - (tail[0] as PlayerSample).at) / 1000);

  const fault = window.fault;
  const atFault = fault === undefined ? first : (samples.filter((s) => s.at <= fault).at(-1) ?? first);
  const pathwayBefore = atFault?.fragEncoder ?? 'other';
  const switchedAt =
    fault === undefined
      ? undefined
      : record.loads.find((l) => l.type === 'frag' && l.at >= fault && l.encoder !== pathwayBefore)?.at;
  return {
    playingSince,
    observedSeconds: round(observedSeconds),
    rebufferSeconds: round(freezes.reduce((sum, f) => sum + f.seconds, 0)),
    longestFreezeSeconds: Math.max(0, ...freezes.map((f) => f.seconds)),
    freezes,
    driftSeconds: round(driftSeconds),
    waitingEvents: record.mediaEvents.filter((e) => e.type === 'waiting' && e.at >= from && e.at <= to)
      .length,
    jumps,
    skippedSeconds: round(skipped),
    playingAtEnd,
    ended: record.mediaEvents.some((e) => e.type === 'ended') || (last?.ended ?? false),
    pathwayBefore,
    pathwayAfter: last?.fragEncoder ?? 'other',
    switchedAt,
    fatalErrors: record.errors.filter((e) => e.fatal).map((e) => `${e.details} ${e.url ?? ''}`.trim()),
  };
}

/** One object write or delete the runtime saw (local/runtime.ts ObjectEvent). */
export interface TimedObjectEvent {
  readonly key: string;
  readonly kind: 'created' | 'deleted';
  /** S3's reason: uploads are PutObject (or a multipart upload), the workflow's splices CopyObject. */
  readonly reason: string;
  readonly at: number;
}

/** Queries over the runtime's object events of one channel. */
export class ObjectTimeline {
  readonly events: TimedObjectEvent[] = [];

  constructor(readonly channel: string) {}

  readonly record = (event: TimedObjectEvent): void => {
    this.events.push(event);
  };

  /** Media playlist uploads of one encoder (every rendition; not its master; not the workflow's splices). */
  mediaPlaylistPuts(encoder: string): TimedObjectEvent[] {
    const prefix = `${this.channel}/${encoder}/`;
    return this.events.filter(
      (e) =>
        e.kind === 'created' &&
        e.reason !== 'CopyObject' &&
        e.key.startsWith(prefix) &&
        e.key.endsWith('.m3u8') &&
        !e.key.slice(prefix.length).startsWith('master'),
    );
  }

  /** The last media playlist PUT of `encoder` at or before `at` (default: ever). */
  lastUpload(encoder: string, at = Number.POSITIVE_INFINITY): number | undefined {
    return this.mediaPlaylistPuts(encoder)
      .filter((e) => e.at <= at)
      .at(-1)?.at;
  }

  /**
   * When `encoder` last brought every media playlist up to date before `at`: the oldest of each
   * rendition's last PUT. A fault in the middle of an upload round leaves some renditions one
   * update behind; their clock started at their previous upload.
   */
  lastCompleteUpload(encoder: string, at = Number.POSITIVE_INFINITY): number | undefined {
    const last = new Map<string, number>();
    for (const e of this.mediaPlaylistPuts(encoder)) if (e.at <= at) last.set(e.key, e.at);
    return last.size === 0 ? undefined : Math.min(...last.values());
  }

  /** The first media playlist PUT of `encoder` after `at`. */
  firstUploadAfter(encoder: string, at: number): number | undefined {
    return this.mediaPlaylistPuts(encoder).find((e) => e.at > at)?.at;
  }

  /** When `encoder` first wrote each of its segments (not playlists), by name inside its folder. */
  private segmentWrites(encoder: string): Map<string, number> {
    const prefix = `${this.channel}/${encoder}/`;
    const byRest = new Map<string, number>();
    for (const e of this.events) {
      const rest = e.key.slice(prefix.length);
      if (
        e.kind === 'created' &&
        e.reason !== 'CopyObject' &&
        e.key.startsWith(prefix) &&
        !rest.endsWith('.m3u8')
      )
        if (!byRest.has(rest)) byRest.set(rest, e.at);
    }
    return byRest;
  }

  /**
   * How far apart the two encoders write the same segment, in ms: output-locked encoders name a
   * segment by its media sequence number, so each segment object `a` and `b` both wrote is one
   * pair (the media playlist update follows it). The lag grace must cover this, with the event
   * delivery on top. (Pairing playlist uploads by nearest time instead misses a late encoder: its
   * late update pairs with the other's next one.) Only segments both wrote within [`from`, `to`):
   * the scenario's steady state, before a fault (an encoder stopped mid-segment writes its last
   * one early, cut short).
   */
  uploadSkewMs(
    a: string,
    b: string,
    from = Number.NEGATIVE_INFINITY,
    to = Number.POSITIVE_INFINITY,
  ): number[] {
    const inWindow = (at: number) => at >= from && at < to;
    const ofA = this.segmentWrites(a);
    return [...this.segmentWrites(b)].flatMap(([rest, at]) => {
      const other = ofA.get(rest);
      return other === undefined || !inWindow(other) || !inWindow(at) ? [] : [Math.abs(other - at)];
    });
  }

  /**
   * How late `encoder` wrote its segments written within [`from`, `to`), in ms: segment n of a lock-step
   * encoder ends at n + 1 segment durations since the Unix epoch (local/encoders.ts), and reaches
   * the origin a little after. On a loaded machine it comes seconds late, and the workflow rightly
   * judges that encoder stalled.
   */
  segmentLatenessMs(
    encoder: string,
    segmentSeconds: number,
    from = Number.NEGATIVE_INFINITY,
    to = Number.POSITIVE_INFINITY,
  ): number[] {
    return [...this.segmentWrites(encoder)].flatMap(([rest, at]) => {
      const n = SEGMENT_NUMBER.exec(rest)?.[1];
      return n === undefined || at < from || at >= to ? [] : [at - (Number(n) + 1) * segmentSeconds * 1000];
    });
  }

  /**
   * Published mode: for each write of a published playlist (`<channel>/<folder>/<rendition>`), the
   * time since the latest upload of that rendition by either encoder, in ms: the hop the
   * workflow adds between an encoder and its viewers. Publications `before` a time only (a fault's
   * own writes, such as invalid playlists, are not an encoder's uploads).
   */
  publicationHopsMs(folder: string, before = Number.POSITIVE_INFINITY): number[] {
    const prefix = `${this.channel}/${folder}/`;
    const uploads = [...this.mediaPlaylistPuts('primary'), ...this.mediaPlaylistPuts('failover')];
    const restOf = (key: string) => key.slice(key.indexOf('/', this.channel.length + 1) + 1);
    return this.events
      .filter((e) => e.kind === 'created' && e.key.startsWith(prefix) && e.at < before)
      .flatMap((e) => {
        const before = uploads.filter((u) => restOf(u.key) === restOf(e.key) && u.at <= e.at).at(-1);
        return before === undefined ? [] : [e.at - before.at];
      });
  }

  /** Writes of `<channel>/<name>` (steering.json, index.m3u8) after `at`. */
  writesOf(name: string, after: number): number[] {
    const key = `${this.channel}/${name}`;
    return this.events.filter((e) => e.kind === 'created' && e.key === key && e.at > after).map((e) => e.at);
  }

  /**
   * When every media playlist of `encoder` written before `at` was withdrawn after it: the latest
   * of each playlist's first withdrawal (splices are written again on each healthy upload).
   */
  withdrawn(encoder: string, after: number): number | undefined {
    const first = new Map<string, number>();
    for (const e of this.withdrawals(encoder, after)) if (!first.has(e.key)) first.set(e.key, e.at);
    return first.size === 0 ? undefined : Math.max(...first.values());
  }

  /**
   * The withdrawal of `encoder`'s media playlists after `at`: their splices (copies) or deletions
   * (ffmpeg deletes only segments, and never copies).
   */
  withdrawals(encoder: string, after: number): TimedObjectEvent[] {
    const prefix = `${this.channel}/${encoder}/`;
    return this.events.filter(
      (e) =>
        (e.kind === 'deleted' || e.reason === 'CopyObject') &&
        e.key.startsWith(prefix) &&
        e.key.endsWith('.m3u8') &&
        e.at > after,
    );
  }
}

/** Seconds between two epoch-ms times, one decimal; undefined when either is missing. */
export function secondsBetween(from: number | undefined, to: number | undefined): number | undefined {
  return from === undefined || to === undefined ? undefined : round((to - from) / 1000);
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** min / median / max of a list of numbers (undefined entries are counted as missing). */
export function distribution(values: readonly (number | undefined)[]): {
  readonly n: number;
  readonly missing: number;
  readonly min?: number;
  readonly median?: number;
  readonly max?: number;
} {
  const present = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  const missing = values.length - present.length;
  if (present.length === 0) return { n: 0, missing };
  const mid = Math.floor(present.length / 2);
  const median =
    present.length % 2 === 1
      ? (present[mid] as number)
      : ((present[mid - 1] as number) + (present[mid] as number)) / 2;
  return {
    n: present.length,
    missing,
    min: present[0] as number,
    median: round(median),
    max: present.at(-1) as number,
  };
}
