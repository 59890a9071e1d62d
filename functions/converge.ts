/**
 * Converge, don't remember (issue 16 §1): what a channel's objects should be, from its state,
 * against what the bucket holds; the difference is a list of repairs that go through the same
 * ApplyChannelActions path as the transitions (the withdrawal and the merge). The execution that records a
 * transition may die before its effects: the next comparison repairs them, whoever runs it.
 *
 * - A withdrawn encoder's media playlists still served: those of renditions the state does not
 *   call fresh again. A withdrawn encoder that uploads again is recovering: the playlists of its
 *   renditions fresh again are its way back (the freshness hysteresis restores it) and stay.
 *   With splicing, a withdrawn encoder's playlists are replaced by splices (functions/hls/splice.ts)
 *   rather than deleted: a playlist written after the stall is a splice (or the encoder's own, back),
 *   and only those from before it are stale.
 * - index.m3u8 or steering.json missing, or not the bytes MergeIndex recorded (SHA-256).
 * - A master whose stored ETag is not the one the index was merged from (a master acknowledged
 *   whose execution died before the merge).
 *
 * The watchdog reads what this needs ({@link objectsToRead}) once per period; pure: no SDK.
 */
import { type ChannelState, indexIsStale, mastersFingerprint } from './channel-state';
import { encoderPrefix } from './keys';

/** An object of an encoder folder as listed. */
export interface FolderObject {
  readonly key: string;
  /** Epoch ms (S3 LastModified, whole seconds). */
  readonly lastModified: number;
}

/** What the bucket holds of a channel, as read for {@link planRepairs}. */
export interface ChannelObjects {
  /** SHA-256 (hex) of the stored index.m3u8; undefined when it is missing. */
  readonly index: string | undefined;
  /** SHA-256 (hex) of the stored steering.json; undefined when it is missing. */
  readonly steering: string | undefined;
  /** The stored ETag of each encoder's recorded master; undefined when it is missing. */
  readonly masters: Readonly<Record<string, string | undefined>>;
  /** Each withdrawn encoder's folder, listed. */
  readonly folders: Readonly<Record<string, readonly FolderObject[]>>;
}

export interface Repairs {
  /** Encoders whose stale media playlists are still served. */
  readonly withdraw: readonly string[];
  /** index.m3u8 / steering.json must be rebuilt. */
  readonly mergeNeeded: boolean;
  /** What was found, for the log and the audit. */
  readonly reasons: readonly string[];
}

export const NO_REPAIRS: Repairs = { withdraw: [], mergeNeeded: false, reasons: [] };

/**
 * True when `encoder`'s playlists may be withdrawn now: the state says withdrawn, and another
 * encoder is healthy (never the last healthy encoder).
 */
export function mayWithdraw(state: ChannelState, encoder: string, encoders: readonly string[]): boolean {
  const health = state.health;
  return (
    health?.withdrawn.includes(encoder) === true &&
    encoders.some((e) => e !== encoder && health.encoders[e]?.status === 'healthy')
  );
}

/**
 * How long after a stall its withdrawal is left to the execution that owns it (normally done in
 * about a second): the executions of the same segment must not all queue a WithdrawStalePlaylists
 * in front of the owner's (measured: steering 3.4 s after the last good upload instead of < 2.5 s).
 */
export const WITHDRAWAL_OWNER_GRACE_MS = 10_000;

/**
 * The state-only check every event execution makes (no request): encoders that may be withdrawn
 * now but whose withdrawal for their current stall WithdrawStalePlaylists has not recorded as done
 * (`state.withdrawals`) {@link WITHDRAWAL_OWNER_GRACE_MS} after the stall, less those `owned` by
 * this execution's transitions.
 */
export function unconfirmedWithdrawals(
  state: ChannelState,
  encoders: readonly string[],
  owned: readonly string[],
  at: number,
): string[] {
  return foldersToList(state, encoders).filter((e) => {
    const since = state.health?.encoders[e]?.since;
    return (
      !owned.includes(e) &&
      since !== undefined &&
      at - since >= WITHDRAWAL_OWNER_GRACE_MS &&
      state.withdrawals?.[e] !== since
    );
  });
}

/** `state` recording that `encoder`'s withdrawal for its current stall is done. */
export function confirmWithdrawal(state: ChannelState, encoder: string): ChannelState {
  const since = state.health?.encoders[encoder]?.since;
  if (since === undefined || state.withdrawals?.[encoder] === since) return state;
  return { ...state, withdrawals: { ...state.withdrawals, [encoder]: since } };
}

/** The encoders whose folders {@link planRepairs} needs listed: those that may be withdrawn now. */
export function foldersToList(state: ChannelState, encoders: readonly string[]): string[] {
  return encoders.filter((e) => mayWithdraw(state, e, encoders));
}

/**
 * The media playlists of a withdrawn encoder's folder (never its master); with `staleOnly`, only
 * those it has not brought back (a repair, while the encoder may be recovering). Without it,
 * all of them (the owner of the withdrawal, right after the stall: a playlist of the same burst may
 * land a second later).
 */
export function stalePlaylists<T extends FolderObject>(
  state: ChannelState,
  encoder: string,
  folder: readonly T[],
  staleOnly = true,
  splicing = false,
): T[] {
  const prefix = encoderPrefix(state.channel, encoder);
  const master = state.masters[encoder];
  const health = state.health?.encoders[encoder];
  /**
   * A playlist the encoder brought back: its rendition is fresh again in the state (the encoder
   * recovers through the hysteresis). Not its LastModified: an old version uploaded again (a
   * duplicate held up behind a frozen upload, measured in the chaos test) is newer than the stall
   * and still stale. A rendition the state does not know is judged by LastModified.
   */
  const recovering = (o: T) => {
    const status = health?.renditions[o.key.slice(prefix.length)]?.status;
    return status === undefined
      ? health !== undefined && o.lastModified > health.since
      : status === 'healthy';
  };
  // A splice is written after the stall (S3's whole seconds: one in the stall's second counts as
  // stale, and is spliced again).
  const splicedSinceStall = (o: T) => splicing && health !== undefined && o.lastModified > health.since;
  return folder.filter(
    (o) =>
      o.key.endsWith('.m3u8') &&
      o.key !== `${prefix}${master?.rest ?? ''}` &&
      !(staleOnly && (recovering(o) || splicedSinceStall(o))),
  );
}

/** A media playlist of a withdrawn encoder to splice again from the healthy encoder's new version. */
export interface SpliceTarget {
  readonly encoder: string;
  /** The rendition's path inside the encoder folder. */
  readonly rendition: string;
}

/**
 * With splicing, what an upload of `rendition` splices (again): while an encoder is withdrawn, its
 * playlist of that rendition, from the healthy encoder's version. A healthy encoder's upload
 * refreshes each withdrawn encoder's; a withdrawn encoder's own upload (back, but its playlists
 * do not yet hold what players play: freshness keeps it withdrawn) is accepted, then spliced over,
 * so its viewers never load a playlist that starts at its restart (a skip or a freeze).
 */
export function spliceTargets(
  state: ChannelState,
  uploader: string,
  rendition: string,
  encoders: readonly string[],
  /**
   * When this execution began to assess (epoch ms), after it had read the upload. The withdrawal
   * of an encoder that stalled later, whose owner has not recorded it done yet, reads this version
   * (or a newer one) for its splice: this execution leaves that encoder to the owner.
   */
  readBefore?: number,
): SpliceTarget[] {
  if (state.health?.encoders[uploader]?.status !== 'healthy') return [];
  if (mayWithdraw(state, uploader, encoders)) return [{ encoder: uploader, rendition }];
  const leftToOwner = (e: string) => {
    const health = state.health?.encoders[e];
    return (
      readBefore !== undefined &&
      health !== undefined &&
      health.status !== 'healthy' &&
      readBefore <= health.since &&
      state.withdrawals?.[e] !== health.since
    );
  };
  return encoders
    .filter((e) => e !== uploader && mayWithdraw(state, e, encoders) && !leftToOwner(e))
    .map((encoder) => ({ encoder, rendition }));
}

/**
 * Whether an event execution that owns no transition merges the index: when it is stale
 * (`indexIsStale`), unless only the preference moved, in a transition decided at or after
 * `readBefore` (when this execution began to assess). That transition's owner merges after
 * storing it, from the state it stored, as {@link spliceTargets} leaves the owner its splice: the
 * executions of the stall's segment do not all merge at once with it. Should the owner die, the
 * next upload's execution merges.
 */
export function mergeNeeded(state: ChannelState, ownsTransition: boolean, readBefore: number): boolean {
  if (!indexIsStale(state)) return false;
  if (ownsTransition || state.health === undefined || state.index === undefined) return true;
  if (state.index.masters !== mastersFingerprint(state)) return true;
  const latest = Math.max(...Object.values(state.health.encoders).map((e) => e.since));
  return readBefore > latest;
}

/** The repairs that make the channel's objects what its state says they are. */
export function planRepairs(
  state: ChannelState,
  found: ChannelObjects,
  options: { readonly encoders: readonly string[]; readonly steering: boolean; readonly splicing: boolean },
): Repairs {
  if (state.health === undefined) return NO_REPAIRS;
  const reasons: string[] = [];
  const withdraw: string[] = [];
  for (const encoder of foldersToList(state, options.encoders)) {
    const stale = stalePlaylists(state, encoder, found.folders[encoder] ?? [], true, options.splicing);
    if (stale.length === 0) continue;
    withdraw.push(encoder);
    reasons.push(`${encoder} is withdrawn but ${stale.length} of its media playlists are still served`);
  }
  const withdrawals = reasons.length;
  const index = state.index;
  if (index !== undefined) {
    if (found.index === undefined) reasons.push('index.m3u8 is missing');
    else if (index.hash !== undefined && found.index !== index.hash)
      reasons.push('index.m3u8 is not the one MergeIndex wrote');
    if (options.steering) {
      if (found.steering === undefined) reasons.push('steering.json is missing');
      else if (index.steeringHash !== undefined && found.steering !== index.steeringHash)
        reasons.push('steering.json is not the one MergeIndex wrote');
    }
    for (const [encoder, master] of Object.entries(state.masters)) {
      const merged = index.sources?.[encoder] ?? master.etag;
      const stored = found.masters[encoder];
      if (stored !== undefined && stored !== merged)
        reasons.push(`${encoder}'s master changed since the index was merged`);
    }
  }
  return { withdraw, mergeNeeded: reasons.length > withdrawals, reasons };
}
