/**
 * Freshness: a pure state machine per channel that turns what the encoders' media playlists
 * say (and when they said it) into per-encoder health and explicit transitions the workflow acts
 * and alerts on exactly once.
 *
 * Two signals (docs/design.md, "Freshness"): the lag in media sequence numbers between the two encoders (output
 * locking gives both the same numbering, so the lag is exact) and the age of a playlist against
 * its target duration (rfc8216bis §6.2.1: a server makes a new version available within 1.5 ×
 * the target duration; S3 LastModified has 1 s resolution).
 */
import { ConfigInvalidError } from './errors';
import { DEFAULT_ENCODERS } from './merge';

export type EncoderStatus = 'healthy' | 'stalled' | 'ended' | 'unknown';

/** What one media playlist of one encoder looks like right now. */
export interface PlaylistObservation {
  readonly mediaSequence: number;
  /** Media sequence number of the last segment. */
  readonly lastSequence: number;
  readonly targetDuration: number;
  readonly endlist: boolean;
  /** When the playlist was last written (epoch ms; S3 LastModified). */
  readonly lastModified: number;
  /**
   * When the workflow first accepted a version ending with `lastSequence` (epoch ms, millisecond
   * resolution, unlike `lastModified`): the other encoder is one segment behind since then.
   * Unknown for a playlist read but not yet accepted.
   */
  readonly seenAt?: number;
}

/** What freshness needs of a media playlist: its snapshot, and when it was written (epoch ms). */
export function observeSnapshot(
  snapshot: {
    readonly mediaSequence: number;
    readonly targetDuration: number;
    readonly endlist: boolean;
    /** Segments a delta update (EXT-X-SKIP) left out before the listed ones. */
    readonly skippedSegments?: number;
    readonly segments: readonly unknown[];
  },
  lastModified: number,
): PlaylistObservation {
  return {
    mediaSequence: snapshot.mediaSequence,
    lastSequence: snapshot.mediaSequence + (snapshot.skippedSegments ?? 0) + snapshot.segments.length - 1,
    targetDuration: snapshot.targetDuration,
    endlist: snapshot.endlist,
    lastModified,
  };
}

export interface RenditionObservation {
  readonly encoder: string;
  /** The media playlist's path inside the encoder folder, e.g. `720p/index.m3u8`. */
  readonly rendition: string;
  readonly playlist: PlaylistObservation;
}

/** An encoder's open INVALID PLAYLIST incident, as the freshness assessment needs it. */
export interface InvalidEvidence {
  readonly incidentId: string;
  /** Per rendition with a rejected version: when it was last rejected (epoch ms). */
  readonly rejectedAt: Readonly<Record<string, number>>;
}

/** One look at a channel: the clock, and whatever playlists were read (none for a watchdog tick). */
export interface Observation {
  /** Epoch ms. */
  readonly now: number;
  readonly renditions: readonly RenditionObservation[];
  /**
   * Open INVALID PLAYLIST incidents by encoder. A rendition whose newest write was rejected is not
   * behind (the encoder wrote): only the age of its last accepted version can make it stalled, and
   * an encoder that stalls while its incident is open is withdrawn as part of that incident (no
   * STALLED, no RECOVERED of its own).
   */
  readonly invalid?: Readonly<Record<string, InvalidEvidence>>;
  /**
   * When the workflow started watching again after a gap (epoch ms): an upload came whose previous
   * accepted version is older than the stall threshold (the workflow and its storage, or that
   * encoder, were away). Kept in the state. A playlist written before then, not yet stalled, is
   * judged by its age from then, not by its LastModified nor by its lag: a stall is declared only
   * on an encoder that stays silent for the stall threshold while watched.
   */
  readonly watchingSince?: number;
}

export interface RenditionHealth extends PlaylistObservation {
  readonly status: EncoderStatus;
  readonly reason: string;
  /**
   * Since when (epoch ms) this rendition has been one segment behind the other encoder's: when
   * the other encoder's version was accepted (its `seenAt`), or else when a look first saw the lag.
   */
  readonly behindSince?: number;
}

export interface EncoderHealth {
  readonly status: EncoderStatus;
  /** When the current status began (epoch ms). */
  readonly since: number;
  readonly reason: string;
  /** Fresh updates seen in a row while not healthy (hysteresis for recovery). */
  readonly freshStreak: number;
  /** Set while the encoder is not healthy: identifies the incident in alerts and audit. */
  readonly incidentId?: string;
  /**
   * The incident this encoder's is part of (a CHANNEL DOWN, or an INVALID PLAYLIST incident): its
   * stall and its recovery raise no alert of their own; that incident's alerts speak for them.
   */
  readonly partOf?: string;
  readonly renditions: Readonly<Record<string, RenditionHealth>>;
}

export interface ChannelHealth {
  readonly version: 1;
  /** The encoder listed first and first in steering. */
  readonly preferred: string;
  readonly encoders: Readonly<Record<string, EncoderHealth>>;
  /** Encoders whose media playlists are withdrawn (answer 404) so players fail over. */
  readonly withdrawn: readonly string[];
  /** No encoder live: each stalled, stopped or never seen, at least one of them down. */
  readonly channelDown: boolean;
  /** While the channel is down: its incident. */
  readonly channelIncidentId?: string;
  /** Every encoder ended its playlists: the event is over. */
  readonly ended: boolean;
  /** The latest time the workflow started watching again after a gap ({@link Observation.watchingSince}). */
  readonly watchingSince?: number;
  readonly updatedAt: number;
}

/** Per-rendition evidence carried by transitions, for people and machines. */
export interface RenditionEvidence {
  readonly rendition: string;
  readonly lastSequence: number;
  readonly counterpartLastSequence?: number;
  readonly ageSeconds: number;
  readonly ageTargetDurations: number;
  readonly reason: string;
}

export type Transition =
  | {
      readonly kind: 'encoder-stalled' | 'encoder-stopped';
      readonly encoder: string;
      readonly incidentId: string;
      readonly reason: string;
      readonly evidence: readonly RenditionEvidence[];
      /** The incident this stall is part of: no alert of its own ({@link EncoderHealth.partOf}). */
      readonly partOf?: string;
    }
  | {
      readonly kind: 'encoder-recovered';
      readonly encoder: string;
      readonly incidentId: string;
      readonly incidentStart: number;
      readonly durationMs: number;
      /** The incident this stall was part of: no alert of its own. */
      readonly partOf?: string;
    }
  | {
      readonly kind: 'preferred-changed';
      readonly from: string;
      readonly to: string;
      readonly reason: string;
    }
  | {
      readonly kind: 'withdrawal-changed';
      readonly withdrawn: readonly string[];
      readonly restored: readonly string[];
    }
  | {
      readonly kind: 'channel-down';
      readonly incidentId: string;
      readonly reason: string;
      /** Encoder incidents already alerted (STALLED, STOPPED) that this one takes over. */
      readonly folds: readonly string[];
    }
  | {
      readonly kind: 'channel-up';
      readonly incidentId?: string;
      /** Encoders still down: part of the closed incident, they come back with no further notice. */
      readonly stillDown: readonly string[];
    }
  | { readonly kind: 'channel-ended' };

export interface FreshnessOptions {
  /** Encoder names; the first is home (preferred when healthy). @default ['primary', 'failover'] */
  readonly encoders?: readonly [string, string];
  /** A playlist older than this many target durations is stalled (rfc8216bis §6.2.1). @default 1.5 */
  readonly stallAfterTargetDurations?: number;
  /** An encoder this many segments behind its counterpart is stalled. @default 2 */
  readonly maxLagSegments?: number;
  /**
   * An encoder one segment behind its counterpart for this many target durations is stalled:
   * output-locked encoders write the same segment within milliseconds of each other, so an
   * encoder that has not written segment n+1 this long after the other did has missed its update
   * (detection at about 1 + this many target durations after its last upload, where the age signal
   * alone needs 1.5 × TD plus the LastModified resolution). @default 0.3
   */
  readonly lagGraceTargetDurations?: number;
  /**
   * Fresh updates in a row before a stalled encoder counts as healthy again: steps forward by a
   * segment on every rendition (the playlist events of one segment are one update). @default 3
   */
  readonly recoverAfterUpdates?: number;
  /** After the home encoder recovers: move back to it (`auto`) or stay (`manual`). @default 'auto' */
  readonly failback?: 'auto' | 'manual';
  /** Withdraw the media playlists of an encoder that stalled while the other is healthy. @default true */
  readonly withdraw?: boolean;
  /**
   * Resolution of `lastModified`: S3 stamps whole seconds, so a playlist can look up to this much
   * older than it is. Ages are reduced by it before the stall comparison (no false stalls; a real
   * stall is seen at most this much later). @default 1000
   */
  readonly lastModifiedResolutionMs?: number;
}

type ResolvedOptions = Required<FreshnessOptions>;

/** S3 stamps `LastModified` in whole seconds: two stamps' difference is off by up to this much. */
export const LAST_MODIFIED_RESOLUTION_MS = 1000;

export const DEFAULT_FRESHNESS_OPTIONS: ResolvedOptions = {
  encoders: DEFAULT_ENCODERS,
  stallAfterTargetDurations: 1.5,
  maxLagSegments: 2,
  lagGraceTargetDurations: 0.3,
  recoverAfterUpdates: 3,
  failback: 'auto',
  withdraw: true,
  lastModifiedResolutionMs: LAST_MODIFIED_RESOLUTION_MS,
};

/** Checks freshness options, reporting every problem at once. */
export function resolveFreshnessOptions(options: FreshnessOptions = {}): ResolvedOptions {
  const o = { ...DEFAULT_FRESHNESS_OPTIONS, ...options };
  const problems: string[] = [];
  if (!(o.stallAfterTargetDurations > 0)) problems.push('stallAfterTargetDurations must be above 0');
  if (!Number.isInteger(o.maxLagSegments) || o.maxLagSegments < 1)
    problems.push('maxLagSegments must be a whole number >= 1');
  if (!Number.isInteger(o.recoverAfterUpdates) || o.recoverAfterUpdates < 1) {
    problems.push('recoverAfterUpdates must be a whole number >= 1');
  }
  if (!(o.lastModifiedResolutionMs >= 0)) problems.push('lastModifiedResolutionMs must be 0 or more');
  if (!(o.lagGraceTargetDurations > 0)) problems.push('lagGraceTargetDurations must be above 0');
  if (o.failback !== 'auto' && o.failback !== 'manual')
    problems.push(`failback must be auto or manual (got ${String(o.failback)})`);
  if (o.encoders[0] === o.encoders[1]) problems.push('the two encoders need different names');
  if (problems.length > 0) throw new ConfigInvalidError(problems);
  return o;
}

/** The state of a channel nobody has seen yet. */
export function initialChannelHealth(options: FreshnessOptions = {}, now = 0): ChannelHealth {
  const { encoders } = resolveFreshnessOptions(options);
  const unknown: EncoderHealth = {
    status: 'unknown',
    since: now,
    reason: 'no playlist seen yet',
    freshStreak: 0,
    renditions: {},
  };
  return {
    version: 1,
    preferred: encoders[0],
    encoders: Object.fromEntries(encoders.map((e) => [e, unknown])),
    withdrawn: [],
    channelDown: false,
    ended: false,
    updatedAt: now,
  };
}

/** The largest time a Date holds (ECMA-262 §21.4.1.1). */
const MAX_DATE_MS = 8.64e15;

/**
 * Folds one observation into the channel's health. Pure and deterministic: the same previous
 * state and observation give the same result, so a retried execution decides the same way, and
 * an observation older than the state (a duplicate or out-of-order event) changes nothing.
 *
 * @example
 * const { state, transitions } = assessFreshness(previous, { now: Date.now(), renditions }, {});
 * for (const t of transitions) act(t); // alert, steer, withdraw — once, by the execution that stores `state`
 */
export function assessFreshness(
  previous: ChannelHealth | undefined,
  observation: Observation,
  options: FreshnessOptions = {},
): {
  state: ChannelHealth;
  transitions: Transition[];
  /** Per rendition one segment behind within its lag grace: when the grace ends (epoch ms). */
  rechecks: Readonly<Record<string, number>>;
  /** The earliest of `rechecks`. */
  recheckAt?: number;
} {
  // Incident ids are ISO times: a clock outside Date's range (±8.64e15 ms) or NaN cannot be one.
  if (!(Math.abs(observation.now) <= MAX_DATE_MS))
    throw new ConfigInvalidError([
      `observation.now must be milliseconds since 1970 within ±${MAX_DATE_MS} (got ${observation.now})`,
    ]);
  const o = resolveFreshnessOptions(options);
  const [home, away] = o.encoders;
  const before = previous ?? initialChannelHealth(o, observation.now);
  const now = Math.max(observation.now, before.updatedAt);
  // Kept in the state: the looks after the one that saw the gap judge from it too.
  const watchingSince =
    observation.watchingSince === undefined ||
    (before.watchingSince ?? -Infinity) >= observation.watchingSince
      ? before.watchingSince
      : observation.watchingSince;

  // 1. Take in what is newer than what we know; remember which encoders moved forward: a new
  // segment on every rendition (one step, however many playlist events it takes), a new rendition,
  // or a restart after ENDLIST. Writing ENDLIST is no step: a stopping encoder does not recover.
  const renditions: Record<string, Record<string, PlaylistObservation>> = {};
  const progressed = new Set<string>();
  for (const encoder of o.encoders) renditions[encoder] = { ...(before.encoders[encoder]?.renditions ?? {}) };
  for (const r of observation.renditions) {
    const known = renditions[r.encoder];
    if (known === undefined) continue;
    const stored = known[r.rendition];
    if (stored === undefined || isNewer(r.playlist, stored)) {
      known[r.rendition] = r.playlist;
      if (stored === undefined || (stored.endlist && !r.playlist.endlist)) progressed.add(r.encoder);
    }
  }
  for (const encoder of o.encoders) {
    const was = frontier(before.encoders[encoder]?.renditions ?? {});
    const is = frontier(renditions[encoder] ?? {});
    if (is !== undefined && was !== undefined && is > was) progressed.add(encoder);
  }

  // 2. Each rendition against the clock and its counterpart; each encoder from its renditions.
  const transitions: Transition[] = [];
  const encoders: Record<string, EncoderHealth> = {};
  const rechecks: Record<string, number> = {};
  for (const encoder of o.encoders) {
    const counterpart = encoder === home ? away : home;
    const assessed: Record<string, RenditionHealth> = {};
    for (const [name, p] of Object.entries(renditions[encoder] ?? {})) {
      // The grace runs while this rendition stays where it was; any progress restarts it.
      const stored = before.encoders[encoder]?.renditions[name];
      const behindSince = stored?.lastSequence === p.lastSequence ? stored.behindSince : undefined;
      const rejectedAt = observation.invalid?.[encoder]?.rejectedAt[name];
      // A rendition already stalled stays so: the gap only spares what was not yet judged.
      const unwatched =
        watchingSince !== undefined && p.lastModified < watchingSince && stored?.status !== 'stalled';
      const watched = {
        // Its newest write was rejected (the encoder is writing, just not valid playlists), or it
        // was written before a gap in watching: no lag signal, age only.
        byAgeOnly: (rejectedAt !== undefined && rejectedAt >= p.lastModified) || unwatched,
        ageFrom: unwatched ? Math.max(p.lastModified, watchingSince) : p.lastModified,
      };
      assessed[name] = assessRendition(p, renditions[counterpart]?.[name], now, o, behindSince, watched);
      const graceEnds = assessed[name].behindSince;
      if (assessed[name].status === 'healthy' && graceEnds !== undefined) {
        const at = graceEnds + o.lagGraceTargetDurations * (p.targetDuration || 1) * 1000;
        rechecks[name] = Math.min(rechecks[name] ?? at, at);
      }
    }
    const was = before.encoders[encoder] ?? (initialChannelHealth(o, now).encoders[encoder] as EncoderHealth);
    encoders[encoder] = nextEncoderHealth(
      encoder,
      was,
      assessed,
      progressed.has(encoder),
      now,
      o,
      transitions,
      observation.invalid?.[encoder]?.incidentId,
    );
  }

  // 3. Channel-level decisions: stop vs end, preference, withdrawal, channel down.
  const statusOf = (e: string) => encoders[e]?.status ?? 'unknown';
  // An encoder never seen (a channel fed by one encoder) neither ends the event nor keeps it live.
  const seenEncoders = o.encoders.filter((e) => statusOf(e) !== 'unknown');
  const allEnded = seenEncoders.length > 0 && seenEncoders.every((e) => statusOf(e) === 'ended');
  const anyHealthy = o.encoders.some((e) => statusOf(e) === 'healthy');
  for (let i = 0; i < transitions.length; i++) {
    const t = transitions[i] as Transition;
    // One encoder's ENDLIST while the other is live is an encoder stop, not the end of the event:
    // that is no incident (nothing alerted, so nothing to recover from when a new event starts).
    if (t.kind === 'encoder-stopped' && allEnded) {
      transitions.splice(i--, 1);
      const { incidentId: _none, ...rest } = encoders[t.encoder] as EncoderHealth;
      encoders[t.encoder] = rest;
    }
  }
  let ended = before.ended;
  if (allEnded && !before.ended) {
    ended = true;
    transitions.push({ kind: 'channel-ended' });
  } else if (!allEnded && anyHealthy) {
    ended = false;
  }

  let preferred = o.encoders.includes(before.preferred) ? before.preferred : home;
  const other = preferred === home ? away : home;
  if (!allEnded && isDown(statusOf(preferred)) && statusOf(other) === 'healthy') {
    transitions.push({
      kind: 'preferred-changed',
      from: preferred,
      to: other,
      reason: `${preferred} is ${statusOf(preferred)}`,
    });
    preferred = other;
  } else if (
    o.failback === 'auto' &&
    preferred !== home &&
    statusOf(home) === 'healthy' &&
    coversPlayers(renditions[home] ?? {}, renditions[away] ?? {})
  ) {
    transitions.push({
      kind: 'preferred-changed',
      from: preferred,
      to: home,
      reason: `${home} recovered (failback)`,
    });
    preferred = home;
  }

  // With no encoder healthy, nothing changes: withdrawn playlists stay deleted until their encoder
  // writes fresh ones, and no other is withdrawn (the last good playlists are all viewers have).
  // An encoder back stays withdrawn until its playlists hold the segment players on the other one
  // are playing (its viewers keep the splices until then, functions/converge.ts).
  const backTooShort = (e: string) =>
    before.withdrawn.includes(e) &&
    statusOf(e) === 'healthy' &&
    !coversPlayers(renditions[e] ?? {}, renditions[e === home ? away : home] ?? {});
  const withdrawn =
    !o.withdraw || allEnded
      ? []
      : anyHealthy
        ? o.encoders.filter((e) => isDown(statusOf(e)) || backTooShort(e))
        : before.withdrawn;
  const newlyWithdrawn = withdrawn.filter((e) => !before.withdrawn.includes(e));
  const restored = before.withdrawn.filter((e) => !withdrawn.includes(e));
  if (newlyWithdrawn.length > 0 || restored.length > 0) {
    transitions.push({ kind: 'withdrawal-changed', withdrawn: newlyWithdrawn, restored });
  }

  // No encoder live: stalled, or one stopped (ENDLIST) and the other stalled, or the only encoder
  // ever seen down. Every seen encoder ended is the end of the event, not an incident.
  const down = o.encoders.filter((e) => isDown(statusOf(e)));
  const channelDown = !allEnded && !anyHealthy && down.length > 0;
  let channelIncidentId = before.channelDown ? before.channelIncidentId : undefined;
  if (channelDown && !before.channelDown) {
    // One incident for the channel: the encoder incidents open now become part of it (their
    // STALLED in this look and every RECOVERED raise no alert; CHANNEL UP is the one recovery).
    const since = Math.max(...down.map((e) => encoders[e]?.since ?? now));
    const incidentId = `channel-${new Date(since).toISOString()}`;
    channelIncidentId = incidentId;
    const openedNow = new Set(
      transitions.flatMap((t) =>
        t.kind === 'encoder-stalled' || t.kind === 'encoder-stopped' ? [t.encoder] : [],
      ),
    );
    const folds = down.flatMap((e) => {
      const h = encoders[e] as EncoderHealth;
      return h.incidentId !== undefined && h.partOf === undefined && !openedNow.has(e) ? [h.incidentId] : [];
    });
    for (const e of down) encoders[e] = { ...(encoders[e] as EncoderHealth), partOf: incidentId };
    for (let i = 0; i < transitions.length; i++) {
      const t = transitions[i] as Transition;
      if (t.kind === 'encoder-stalled' || t.kind === 'encoder-stopped')
        transitions[i] = { ...t, partOf: incidentId };
    }
    transitions.push({
      kind: 'channel-down',
      incidentId,
      reason: down.map((e) => `${e}: ${encoders[e]?.reason ?? ''}`).join('; '),
      folds,
    });
  } else if (!channelDown && before.channelDown && anyHealthy) {
    transitions.push({
      kind: 'channel-up',
      ...(channelIncidentId === undefined ? {} : { incidentId: channelIncidentId }),
      stillDown: down,
    });
    channelIncidentId = undefined;
  }
  const stillChannelDown = channelDown || (before.channelDown && !anyHealthy);

  return {
    state: {
      version: 1,
      preferred,
      encoders,
      withdrawn,
      channelDown: stillChannelDown,
      ...(stillChannelDown && channelIncidentId !== undefined ? { channelIncidentId } : {}),
      ended,
      ...(watchingSince === undefined ? {} : { watchingSince }),
      updatedAt: now,
    },
    transitions,
    rechecks,
    ...(Object.keys(rechecks).length === 0 ? {} : { recheckAt: Math.min(...Object.values(rechecks)) }),
  };
}

/**
 * Players play about 3 target durations behind the live edge (hls.js liveSyncDurationCount 3;
 * rfc8216bis §6.3.3 "no closer than three target durations"). A restarted encoder's playlists
 * start at its restart: moving players back before they reach that far back makes hls.js seek
 * forward (content skipped). Fail back once every rendition of `home` holds the segment players
 * on `other` are playing.
 */
const PLAYER_BEHIND_SEGMENTS = 3;
function coversPlayers(
  home: Record<string, PlaylistObservation>,
  other: Record<string, PlaylistObservation>,
): boolean {
  return Object.entries(home).every(([name, p]) => {
    const c = other[name];
    return c === undefined || c.endlist || p.mediaSequence <= c.lastSequence - PLAYER_BEHIND_SEGMENTS;
  });
}

/**
 * The segment every rendition of an encoder has reached (the lowest last segment), or undefined
 * when it has none or one ends with EXT-X-ENDLIST. A rendition the encoder no longer writes holds
 * it back: that encoder stays stalled by the rendition's age, as before the frontier existed.
 */
function frontier(renditions: Readonly<Record<string, PlaylistObservation>>): number | undefined {
  const all = Object.values(renditions);
  if (all.length === 0 || all.some((p) => p.endlist)) return undefined;
  return Math.min(...all.map((p) => p.lastSequence));
}

function isDown(status: EncoderStatus): boolean {
  return status === 'stalled' || status === 'ended';
}

/**
 * Newer: later segments, or the same segments written later (ENDLIST added), or a restart after
 * ENDLIST. Segments first: LastModified has whole seconds, so two versions often share it.
 */
export function isNewer(next: PlaylistObservation, stored: PlaylistObservation): boolean {
  if (stored.endlist && !next.endlist) return next.lastModified > stored.lastModified;
  if (next.lastSequence !== stored.lastSequence) return next.lastSequence > stored.lastSequence;
  return next.lastModified > stored.lastModified || (next.endlist && !stored.endlist);
}

function assessRendition(
  p: PlaylistObservation,
  counterpart: PlaylistObservation | undefined,
  now: number,
  o: ResolvedOptions,
  behindSince: number | undefined,
  watched: { readonly byAgeOnly: boolean; readonly ageFrom: number } = {
    byAgeOnly: false,
    ageFrom: p.lastModified,
  },
): RenditionHealth {
  const ageSeconds = Math.max(0, now - watched.ageFrom) / 1000;
  const td = p.targetDuration > 0 ? p.targetDuration : 1;
  const surelyOlderThan = Math.max(0, ageSeconds - o.lastModifiedResolutionMs / 1000);
  if (p.endlist) {
    // ENDLIST while the other encoder is live is a stop; both ending is the end of the event.
    // Lock-step encoders that end together both put ENDLIST on the same last segment, so the
    // other encoder is live once it writes past that segment, or writes it later without ENDLIST.
    const otherLive =
      counterpart !== undefined &&
      !counterpart.endlist &&
      (counterpart.lastSequence > p.lastSequence ||
        (counterpart.lastSequence === p.lastSequence && counterpart.lastModified > p.lastModified));
    const undecided =
      counterpart !== undefined &&
      !counterpart.endlist &&
      !otherLive &&
      surelyOlderThan <= o.stallAfterTargetDurations * td;
    return undecided
      ? {
          ...p,
          status: 'healthy',
          reason: `ends with EXT-X-ENDLIST after segment ${p.lastSequence}: a stop if the other encoder moves on, the end of the event if it ends too`,
        }
      : { ...p, status: 'ended', reason: 'playlist ends with EXT-X-ENDLIST' };
  }
  if (surelyOlderThan > o.stallAfterTargetDurations * td) {
    return {
      ...p,
      status: 'stalled',
      reason: `no update for ${round(ageSeconds)} s (${round(ageSeconds / td)} × target duration ${td} s; limit ${o.stallAfterTargetDurations} ×)`,
    };
  }
  if (counterpart !== undefined && !counterpart.endlist && !watched.byAgeOnly) {
    const lag = counterpart.lastSequence - p.lastSequence;
    if (lag >= o.maxLagSegments) {
      return {
        ...p,
        status: 'stalled',
        reason: `${lag} segments behind the other encoder (limit ${o.maxLagSegments})`,
      };
    }
    if (lag >= 1) {
      const since = counterpart.seenAt ?? behindSince ?? now;
      const behindSeconds = (now - since) / 1000;
      if (behindSeconds >= o.lagGraceTargetDurations * td) {
        return {
          ...p,
          behindSince: since,
          status: 'stalled',
          reason: `${lag} segment behind the other encoder for ${round(behindSeconds)} s (limit ${o.lagGraceTargetDurations} × target duration ${td} s)`,
        };
      }
      return {
        ...p,
        behindSince: since,
        status: 'healthy',
        reason: `updated ${round(ageSeconds)} s ago; 1 segment behind`,
      };
    }
  }
  return { ...p, status: 'healthy', reason: `updated ${round(ageSeconds)} s ago` };
}

function nextEncoderHealth(
  encoder: string,
  was: EncoderHealth,
  renditions: Record<string, RenditionHealth>,
  progressed: boolean,
  now: number,
  o: ResolvedOptions,
  transitions: Transition[],
  /** The encoder's open INVALID PLAYLIST incident: a stall now is part of it. */
  invalidIncidentId: string | undefined,
): EncoderHealth {
  const list = Object.values(renditions);
  const stalled = Object.entries(renditions).filter(([, r]) => r.status === 'stalled');
  const endedCount = list.filter((r) => r.status === 'ended').length;
  let raw: EncoderStatus;
  let reason: string;
  if (list.length === 0) {
    [raw, reason] = ['unknown', 'no playlist seen yet'];
  } else if (stalled.length > 0) {
    raw = 'stalled';
    reason = stalled.map(([name, r]) => `${name}: ${r.reason}`).join('; ');
  } else if (endedCount === list.length) {
    [raw, reason] = ['ended', 'every media playlist ends with EXT-X-ENDLIST'];
  } else if (endedCount > 0) {
    // An encoder stopping writes ENDLIST into one media playlist after another, each its own
    // event: the first one already means the encoder is stopping (one STOPPED incident, not a stall).
    raw = 'ended';
    reason = `stopping: ${endedCount} of ${list.length} media playlists end with EXT-X-ENDLIST`;
  } else {
    [raw, reason] = ['healthy', 'every media playlist is fresh'];
  }

  const evidence = (): RenditionEvidence[] =>
    Object.entries(renditions)
      .filter(([, r]) => r.status !== 'healthy')
      .map(([rendition, r]) => {
        const ageSeconds = round(Math.max(0, now - r.lastModified) / 1000);
        return {
          rendition,
          lastSequence: r.lastSequence,
          ageSeconds,
          ageTargetDurations: round(ageSeconds / (r.targetDuration || 1)),
          reason: r.reason,
        };
      });

  if (raw === 'healthy' && was.status === 'ended' && was.incidentId === undefined) {
    // The channel's event ended (no incident) and a new one starts.
    return { status: 'healthy', since: now, reason, freshStreak: 0, renditions };
  }
  if (raw === 'healthy' && isDown(was.status)) {
    // Hysteresis: only updates that move forward count, and they must come in a row.
    const freshStreak = progressed ? was.freshStreak + 1 : was.freshStreak;
    if (freshStreak < o.recoverAfterUpdates) {
      return {
        ...was,
        freshStreak,
        renditions,
        reason: `recovering: ${freshStreak} of ${o.recoverAfterUpdates} fresh updates`,
      };
    }
    const incidentId = was.incidentId ?? `${encoder}-${new Date(was.since).toISOString()}`;
    transitions.push({
      kind: 'encoder-recovered',
      encoder,
      incidentId,
      incidentStart: was.since,
      durationMs: now - was.since,
      ...(was.partOf === undefined ? {} : { partOf: was.partOf }),
    });
    return { status: 'healthy', since: now, reason, freshStreak: 0, renditions };
  }
  if (isDown(raw) && !isDown(was.status)) {
    const incidentId = `${encoder}-${new Date(now).toISOString()}`;
    const partOf = raw === 'stalled' ? invalidIncidentId : undefined;
    transitions.push({
      kind: raw === 'ended' ? 'encoder-stopped' : 'encoder-stalled',
      encoder,
      incidentId,
      reason,
      evidence: evidence(),
      ...(partOf === undefined ? {} : { partOf }),
    });
    return {
      status: raw,
      since: now,
      reason,
      freshStreak: 0,
      incidentId,
      ...(partOf === undefined ? {} : { partOf }),
      renditions,
    };
  }
  if (raw === was.status || (isDown(raw) && isDown(was.status))) {
    // Same status, or the same incident (a stalled encoder that then ends stays in it): keep its
    // start and id. A stall while recovering resets the streak (hysteresis: fresh updates in a row).
    return { ...was, status: raw, reason, freshStreak: 0, renditions };
  }
  // unknown ↔ healthy, or back to unknown: no incident involved.
  return { status: raw, since: now, reason, freshStreak: 0, renditions };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
