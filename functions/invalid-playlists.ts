/**
 * Invalid-playlist incidents: one per encoder, so repeated invalid playlists page on-call once,
 * not once per file. Pure: the functions here compute a channel's next state; the handlers store
 * it with {@link updateChannelState}'s conditional write, so under concurrent executions exactly
 * one owns the opening (and sends the INVALID PLAYLIST alert) and exactly one owns the closing.
 *
 * An incident opens with the first rejected playlist of an encoder while none is open. It lists
 * each rejected playlist (its path inside the encoder folder). A path leaves the list when a
 * version of it is accepted again, or when it has not been rejected for {@link INVALID_QUIET_MS}
 * (the encoder stopped writing it: a rendition dropped from the ladder must not hold the incident
 * open forever and swallow the next one). The incident ends when its list is empty; the execution
 * that empties it sends one PLAYLISTS VALID AGAIN notice.
 */
import type { ChannelState } from './channel-state';
import type { InvalidEvidence } from './hls';

/** A rejected path that has not been rejected again for this long no longer holds the incident open. */
export const INVALID_QUIET_MS = 5 * 60_000;

export interface RejectedPlaylist {
  /** How many versions of this path were rejected during the incident. */
  readonly count: number;
  /** Epoch ms of the last rejection. */
  readonly lastAt: number;
  /** The rule ids the last rejected version broke. */
  readonly rules: readonly string[];
}

export interface InvalidIncident {
  readonly incidentId: string;
  /** Epoch ms of the first rejection. */
  readonly since: number;
  /** Rejected playlists by path inside the encoder folder. */
  readonly playlists: Readonly<Record<string, RejectedPlaylist>>;
  /** Every rejection during the incident, all paths together. */
  readonly rejected: number;
}

/** What one rejection did to the encoder's incident. */
export type Rejection =
  | { readonly kind: 'opened'; readonly incident: InvalidIncident }
  | { readonly kind: 'continued'; readonly incident: InvalidIncident };

/** What one accepted playlist did to the encoder's incident, if one was open. */
export type Settlement =
  | { readonly kind: 'none' }
  | { readonly kind: 'narrowed'; readonly incident: InvalidIncident }
  | { readonly kind: 'closed'; readonly incident: InvalidIncident; readonly at: number };

function withIncident(
  state: ChannelState,
  encoder: string,
  incident: InvalidIncident | undefined,
): ChannelState {
  const invalid = { ...(state.invalid ?? {}) };
  if (incident === undefined) delete invalid[encoder];
  else invalid[encoder] = incident;
  const { invalid: _dropped, ...rest } = state;
  return Object.keys(invalid).length === 0 ? rest : { ...rest, invalid };
}

function withoutQuiet(incident: InvalidIncident, now: number): Record<string, RejectedPlaylist> {
  return Object.fromEntries(
    Object.entries(incident.playlists).filter(([, p]) => now - p.lastAt < INVALID_QUIET_MS),
  );
}

/**
 * Records one rejected playlist of `encoder` at `rest` (its path inside the encoder folder).
 * Opens an incident when none is open (or the open one had gone quiet on every path).
 */
export function recordRejection(
  state: ChannelState,
  rejection: {
    readonly encoder: string;
    readonly rest: string;
    readonly rules: readonly string[];
    readonly at: number;
  },
): { state: ChannelState; result: Rejection } {
  const { encoder, rest, rules, at } = rejection;
  const open = state.invalid?.[encoder];
  const live = open === undefined ? {} : withoutQuiet(open, at);
  if (open === undefined || Object.keys(live).length === 0) {
    const incident: InvalidIncident = {
      incidentId: `invalid-${encoder}-${new Date(at).toISOString()}`,
      since: at,
      playlists: { [rest]: { count: 1, lastAt: at, rules } },
      rejected: 1,
    };
    return { state: withIncident(state, encoder, incident), result: { kind: 'opened', incident } };
  }
  const previous = live[rest];
  const incident: InvalidIncident = {
    ...open,
    playlists: { ...live, [rest]: { count: (previous?.count ?? 0) + 1, lastAt: at, rules } },
    rejected: open.rejected + 1,
  };
  return { state: withIncident(state, encoder, incident), result: { kind: 'continued', incident } };
}

/**
 * Records that a version of `rest` from `encoder` was accepted: it no longer holds the incident
 * open, if it was read after the path's last rejection (`readAt`). A version read before may be
 * older than the rejected one, which would still be the stored object: the path stays listed.
 */
export function settleRejections(
  state: ChannelState,
  accepted: {
    readonly encoder: string;
    readonly rest: string;
    readonly at: number;
    readonly readAt?: number;
  },
): { state: ChannelState; result: Settlement } {
  const open = state.invalid?.[accepted.encoder];
  if (open === undefined) return { state, result: { kind: 'none' } };
  const playlists = withoutQuiet(open, accepted.at);
  const rejectedAt = playlists[accepted.rest]?.lastAt;
  if (rejectedAt === undefined || accepted.readAt === undefined || accepted.readAt >= rejectedAt)
    delete playlists[accepted.rest];
  if (Object.keys(playlists).length === 0) {
    return {
      state: withIncident(state, accepted.encoder, undefined),
      result: { kind: 'closed', incident: open, at: accepted.at },
    };
  }
  if (Object.keys(playlists).length === Object.keys(open.playlists).length) {
    return { state, result: { kind: 'none' } };
  }
  const incident = { ...open, playlists };
  return { state: withIncident(state, accepted.encoder, incident), result: { kind: 'narrowed', incident } };
}

/** The open incidents as the freshness assessment takes them (functions/hls/freshness.ts). */
export function invalidEvidence(state: ChannelState): Record<string, InvalidEvidence> {
  return Object.fromEntries(
    Object.entries(state.invalid ?? {}).map(([encoder, incident]) => [
      encoder,
      {
        incidentId: incident.incidentId,
        rejectedAt: Object.fromEntries(
          Object.entries(incident.playlists).map(([rest, p]) => [rest, p.lastAt]),
        ),
      },
    ]),
  );
}

/** The rule ids in a PlaylistInvalid cause (`line 3 extinf-invalid: …; line 0 …`). */
export function rulesOfCause(cause: string): string[] {
  return [...new Set([...cause.matchAll(/line \d+ ([a-z0-9-]+):/g)].map((m) => m[1] as string))];
}

/**
 * The message of an error Cause as Step Functions gives it: a Lambda error's Cause is a JSON
 * document (`{"errorType", "errorMessage", "trace"}`), the local engine's is the message itself.
 */
export function causeMessage(cause: string | undefined): string {
  if (cause === undefined) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: already the message
  }
  return cause;
}
