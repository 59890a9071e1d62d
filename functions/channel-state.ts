/**
 * A channel's state, one record of the {@link RecordStore} (a DynamoDB item on AWS, never in the
 * bucket): the freshness health, each encoder's master, and what the index was last built from.
 * Every change goes through {@link updateChannelState}: read, compute, conditional write (only if
 * absent / only if still at the version read). The execution whose write succeeds owns the
 * transitions it computed; the others fail the condition, re-read, recompute against the winner's
 * state, and find nothing left to own.
 *
 * The record is written only when a decision changes ({@link decisionOf}): a status, an incident,
 * the preferred encoder, a withdrawal, a master, the index. The renditions' latest observations
 * live in the accepted records (functions/accepted.ts), which every upload writes anyway, so a
 * routine upload writes nothing here and the executions of one segment do not race for this record.
 */
import type { Alert } from './alerts';
import { StateContentionError } from './errors';
import type { ChannelHealth } from './hls';
import type { InvalidIncident } from './invalid-playlists';
import { channelOfStateGroup, STATE_RECORDS, stateKey } from './keys';
import { type OutboxOptions, type PendingAlert, withAlertOutbox } from './outbox';
import { afterRead, type RecordStore, type StoredRecord } from './record-store';

export interface ChannelState {
  readonly version: 1;
  readonly channel: string;
  readonly health: ChannelHealth | undefined;
  /** Each encoder's master playlist: its path inside the encoder folder and the ETag accepted. */
  readonly masters: Readonly<Record<string, { readonly rest: string; readonly etag: string }>>;
  /** What index.m3u8 / steering.json were last written from, and what was written (functions/converge.ts). */
  readonly index?: IndexRecord;
  /** Open invalid-playlist incidents, by encoder (functions/invalid-playlists.ts). */
  readonly invalid?: Readonly<Record<string, InvalidIncident>>;
  /**
   * Per withdrawn encoder: the stall (its health's `since`) whose withdrawal WithdrawStalePlaylists
   * carried out. A withdrawn encoder without it is a withdrawal whose execution died: the next
   * event repairs it (functions/converge.ts unconfirmedWithdrawals).
   */
  readonly withdrawals?: Readonly<Record<string, number>>;
  /** Alerts recorded with the transition they announce, not yet confirmed sent (functions/outbox.ts). */
  readonly outbox?: Readonly<Record<string, PendingAlert>>;
}

/** What MergeIndex last wrote for a channel. */
export interface IndexRecord {
  readonly preferred: string;
  /** {@link mastersFingerprint} of the state it was built from. */
  readonly masters: string;
  readonly writtenAt: number;
  /** SHA-256 (hex) of the index.m3u8 bytes written; absent in states written before it was kept. */
  readonly hash?: string;
  /** SHA-256 (hex) of the steering.json bytes written (steering on). */
  readonly steeringHash?: string;
  /** The ETag of each encoder's master as read for the merge (encoders whose master was merged). */
  readonly sources?: Readonly<Record<string, string>>;
}

export function emptyChannelState(channel: string): ChannelState {
  return { version: 1, channel, health: undefined, masters: {} };
}

/**
 * A fingerprint of what an index is built from: each encoder's master (which file, which ETag),
 * or for an encoder without one, the media playlists it has written (a new rendition rebuilds).
 */
export function mastersFingerprint(state: ChannelState): string {
  const encoders = new Set([...Object.keys(state.masters), ...Object.keys(state.health?.encoders ?? {})]);
  return [...encoders]
    .sort((a, b) => a.localeCompare(b))
    .map((e) => {
      const master = state.masters[e];
      if (master !== undefined) return `${e}:${master.rest}:${master.etag}`;
      const renditions = Object.keys(state.health?.encoders[e]?.renditions ?? {});
      return `${e}:media:${renditions.sort((a, b) => a.localeCompare(b)).join(',')}`;
    })
    .join('|');
}

/** True when index.m3u8 must be (re)built: missing, built from other masters, or for another preferred encoder. */
export function indexIsStale(state: ChannelState): boolean {
  if (state.health === undefined) return false;
  return (
    state.index === undefined ||
    state.index.preferred !== state.health.preferred ||
    state.index.masters !== mastersFingerprint(state)
  );
}

/** The state as read, and the record it came from (undefined for a channel without one). */
export interface ReadChannelState {
  readonly state: ChannelState;
  readonly record: StoredRecord | undefined;
}

export async function readChannelState(records: RecordStore, channel: string): Promise<ReadChannelState> {
  const record = await records.get(stateKey(channel));
  if (record === undefined) return { state: emptyChannelState(channel), record };
  return { state: JSON.parse(record.body) as ChannelState, record };
}

/** Every channel with a recorded state, sorted. */
export async function listChannels(records: RecordStore): Promise<string[]> {
  return (await records.listGroups(STATE_RECORDS))
    .map(channelOfStateGroup)
    .filter((c): c is string => c !== undefined)
    .sort();
}

/**
 * What a state decides, without what only describes the latest look: each rendition's observation
 * (kept in its accepted record), the reasons worded from it, and the time of the look. Two states
 * with the same decision need no write.
 */
export function decisionOf(state: ChannelState): unknown {
  const health = state.health;
  if (health === undefined) return state;
  const encoders = Object.fromEntries(
    Object.entries(health.encoders).map(([name, { reason: _reason, renditions, ...encoder }]) => [
      name,
      {
        ...encoder,
        renditions: Object.fromEntries(Object.entries(renditions).map(([r, h]) => [r, h.status])),
      },
    ]),
  );
  const { updatedAt: _updatedAt, ...decided } = health;
  return { ...state, health: { ...decided, encoders } };
}

const MAX_ATTEMPTS = 6;

/**
 * Applies `change` to the channel's state with a conditional write, re-reading and re-applying
 * on contention. `change` must be pure: it may run several times, and only the result of the run
 * whose write succeeded is returned (`written` false when it changed no decision: no write). `read`,
 * the state as the caller just read it, saves the first read. With `outbox`, the alerts of the
 * change are recorded as pending by the same write, and `resend` holds the due pending alerts this
 * write took over (functions/outbox.ts).
 */
export async function updateChannelState<R>(
  records: RecordStore,
  channel: string,
  change: (state: ChannelState) => { state: ChannelState; result: R },
  read?: ReadChannelState,
  outbox?: OutboxOptions<R>,
): Promise<{ state: ChannelState; result: R; written: boolean; resend: readonly Alert[] }> {
  const key = stateKey(channel);
  const apply: (state: ChannelState) => { state: ChannelState; result: R; resend?: readonly Alert[] } =
    outbox === undefined ? change : withAlertOutbox(change, outbox);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const { state, record } =
      attempt === 1 && read !== undefined ? read : await readChannelState(records, channel);
    const next = apply(state);
    const resend = next.resend ?? [];
    if (record !== undefined && JSON.stringify(decisionOf(next.state)) === JSON.stringify(decisionOf(state)))
      return { state: next.state, result: next.result, written: false, resend: [] };
    const written = await records.put(key, JSON.stringify(next.state), afterRead(record));
    if (written !== 'precondition-failed')
      return { state: next.state, result: next.result, written: true, resend };
    // Lost to a concurrent execution: back off with full jitter before re-reading.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
  }
  throw new StateContentionError(`${key.group} ${key.name}`, MAX_ATTEMPTS);
}
