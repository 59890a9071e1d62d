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
  /**
   * Why the record is not a channel state (not JSON, or not its shape). `state` is then empty:
   * {@link updateChannelState} replaces the record with the state rebuilt from the bucket.
   */
  readonly corrupt?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is wrong with a stored channel state's shape, if anything (the fields decisions read). */
function channelStateProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'not a JSON object';
  if (v.version !== 1) return `version is ${JSON.stringify(v.version)}, not 1`;
  if (
    !isObject(v.masters) ||
    !Object.values(v.masters).every((m) => isObject(m) && typeof m.rest === 'string')
  )
    return 'masters is not a map of encoder to master';
  if (v.index !== undefined && !isObject(v.index)) return 'index is not an object';
  if (
    v.invalid !== undefined &&
    !(isObject(v.invalid) && Object.values(v.invalid).every((i) => isObject(i) && isObject(i.playlists)))
  )
    return 'invalid is not a map of encoder to incident';
  const h = v.health;
  if (h === undefined) return undefined;
  if (!isObject(h)) return 'health is not an object';
  if (typeof h.preferred !== 'string') return 'health.preferred is not a string';
  if (!Array.isArray(h.withdrawn) || !h.withdrawn.every((e) => typeof e === 'string'))
    return 'health.withdrawn is not a list of encoders';
  if (typeof h.channelDown !== 'boolean' || typeof h.ended !== 'boolean' || typeof h.updatedAt !== 'number')
    return 'health.channelDown, ended or updatedAt is missing';
  if (
    !isObject(h.encoders) ||
    !Object.values(h.encoders).every(
      (e) =>
        isObject(e) && typeof e.status === 'string' && typeof e.since === 'number' && isObject(e.renditions),
    )
  )
    return 'health.encoders is not a map of encoder to health';
  return undefined;
}

/** Parses a stored channel state, checking the shape its readers rely on. */
export function parseChannelState(
  body: string,
): { success: true; data: ChannelState } | { success: false; error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    return { success: false, error: `not JSON (${(e as Error).message})` };
  }
  const problem = channelStateProblem(parsed);
  return problem === undefined
    ? { success: true, data: parsed as ChannelState }
    : { success: false, error: problem };
}

export async function readChannelState(records: RecordStore, channel: string): Promise<ReadChannelState> {
  const record = await records.get(stateKey(channel));
  if (record === undefined) return { state: emptyChannelState(channel), record };
  const parsed = parseChannelState(record.body);
  return parsed.success
    ? { state: parsed.data, record }
    : { state: emptyChannelState(channel), record, corrupt: parsed.error };
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
 * the state as the caller just read it, saves the first read. A corrupt record is replaced:
 * `change` then starts from `options.rebuilt` (or the empty state), and the one execution whose
 * write replaces it gets `rebuilt`, the reason, to alert on. With `options.outbox`, the alerts of
 * the change are recorded as pending by the same write, and `resend` holds the due pending alerts
 * this write took over (functions/outbox.ts).
 */
export async function updateChannelState<R>(
  records: RecordStore,
  channel: string,
  change: (state: ChannelState) => { state: ChannelState; result: R },
  read?: ReadChannelState,
  options: { readonly rebuilt?: ChannelState; readonly outbox?: OutboxOptions<R> } = {},
): Promise<{ state: ChannelState; result: R; written: boolean; resend: readonly Alert[]; rebuilt?: string }> {
  const key = stateKey(channel);
  const { rebuilt, outbox } = options;
  const apply: (state: ChannelState) => { state: ChannelState; result: R; resend?: readonly Alert[] } =
    outbox === undefined ? change : withAlertOutbox(change, outbox);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const current = attempt === 1 && read !== undefined ? read : await readChannelState(records, channel);
    const { record, corrupt } = current;
    const state = corrupt !== undefined && rebuilt !== undefined ? rebuilt : current.state;
    const next = apply(state);
    const resend = next.resend ?? [];
    if (
      corrupt === undefined &&
      record !== undefined &&
      JSON.stringify(decisionOf(next.state)) === JSON.stringify(decisionOf(state))
    )
      return { state: next.state, result: next.result, written: false, resend: [] };
    const written = await records.put(key, JSON.stringify(next.state), afterRead(record));
    if (written !== 'precondition-failed')
      return {
        state: next.state,
        result: next.result,
        written: true,
        resend,
        ...(corrupt === undefined ? {} : { rebuilt: corrupt }),
      };
    // Lost to a concurrent execution: back off with full jitter before re-reading.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
  }
  throw new StateContentionError(`${key.group} ${key.name}`, MAX_ATTEMPTS);
}
