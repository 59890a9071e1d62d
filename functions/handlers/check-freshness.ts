/**
 * CheckCounterpartFreshness: reads the other encoder's playlist of the same rendition and the
 * channel's accepted records (every rendition's latest accepted version, one query), folds them
 * into the channel's health, and stores it with a conditional write when a decision changed. Only
 * the execution whose write succeeds gets the transitions, so each alert is sent once.
 */
import { acceptedObservations, withSeenAt } from '../accepted';
import { type Alert, alertsFor, playlistsValidAgainAlert, stateRebuiltAlert } from '../alerts';
import { type AuditDecision, type ChannelAudit, decisionsOf, healthHash } from '../audit';
import { type ChannelState, emptyChannelState, readChannelState, updateChannelState } from '../channel-state';
import { publishedFolderOf, type Settings } from '../config';
import { mergeNeeded, type SpliceTarget, spliceTargets } from '../converge';
import {
  assessFreshness,
  classifyPlaylist,
  isAcceptable,
  observeSnapshot,
  type RenditionObservation,
  snapshotMediaPlaylist,
  splicedFrom,
  type Transition,
  validateMasterPlaylist,
} from '../hls';
import { invalidEvidence, type Settlement, settleRejections } from '../invalid-playlists';
import { encoderPrefix } from '../keys';
import { healthMetrics } from '../metrics';
import { createPublisher, type PublishOutput } from '../publisher';
import { type PublishTarget, publishTargets } from '../publishing';
import type { ObjectStore } from '../store';
import { alertOptions, createDeps, freshnessOptions, type HandlerDeps, splicingOn } from './deps';
import { withUnconfirmedWithdrawals } from './repairs';
import type { ValidateOutput } from './validate-playlist';

export interface ChannelActions {
  readonly bucket: string;
  readonly channel: string;
  /** index.m3u8 / steering.json must be rebuilt. */
  readonly mergeNeeded: boolean;
  /** Encoders whose media playlists this execution must withdraw. */
  readonly withdraw: readonly string[];
  /**
   * Of `withdraw`, the encoders withdrawn by a repair (functions/converge.ts), not by a transition
   * this execution owns: only their playlists not brought back (functions/converge.ts) are deleted.
   */
  readonly staleOnly?: readonly string[];
  /**
   * With splicing: playlists of withdrawn encoders to splice again from the healthy encoder's
   * version this execution accepted (functions/converge.ts, `spliceTargets`).
   */
  readonly splice?: readonly SpliceTarget[];
  /** Published mode: the renditions to publish (functions/publishing.ts). */
  readonly publish?: readonly PublishTarget[];
}

export interface HealthOutput {
  readonly channels: readonly ChannelActions[];
  readonly alerts: readonly Alert[];
  readonly metrics: ReturnType<typeof healthMetrics>;
  /** The transitions this execution owns (its state write succeeded), for the audit trail. */
  readonly transitions: readonly Transition[];
  /** Per channel: the decisions this execution owns and the health hashes (functions/audit.ts). */
  readonly audit: readonly ChannelAudit[];
  /** Published mode: what this execution published as soon as its first look was stored. */
  readonly publication?: PublishOutput;
}

/**
 * Reads one encoder playlist and describes it for the freshness assessment; undefined when absent.
 * A splice is the other encoder's playlist, not this encoder's: undefined too, unless `accepted`
 * is given, whose record of this playlist then stands for it (the encoder's own upload that the
 * splice replaced once it was accepted: a restarted encoder's, until failback).
 */
export async function observePlaylist(
  store: ObjectStore,
  bucket: string,
  channel: string,
  encoder: string,
  rendition: string,
  maxPlaylistChars: number,
  accepted?: readonly RenditionObservation[],
): Promise<RenditionObservation | undefined> {
  const object = await store.get(bucket, `${encoderPrefix(channel, encoder)}${rendition}`);
  if (object === undefined) return undefined;
  if (splicedFrom(object.body) !== undefined)
    return accepted?.find((a) => a.encoder === encoder && a.rendition === rendition);
  const snapshot = snapshotMediaPlaylist(object.body, { maxPlaylistChars });
  if (snapshot === undefined || snapshot.targetDuration === 0) return undefined;
  return { encoder, rendition, playlist: observeSnapshot(snapshot, object.lastModified) };
}

/**
 * A channel's state rebuilt from the bucket, for a channel whose state record is corrupt: each
 * encoder's master is the valid master playlist at the top of its folder. Health is not rebuilt
 * here: the look that stores this state assesses it from the accepted records and the playlists.
 */
export async function rebuiltChannelState(
  store: ObjectStore,
  bucket: string,
  channel: string,
  settings: Settings,
): Promise<ChannelState> {
  const masters: Record<string, { rest: string; etag: string }> = {};
  const limits = { maxPlaylistChars: settings.maxPlaylistChars, allowedHosts: settings.allowedHosts };
  for (const encoder of settings.encoders) {
    const prefix = encoderPrefix(channel, encoder);
    const candidates = (await store.list(bucket, prefix))
      .map((o) => o.key.slice(prefix.length))
      .filter((rest) => rest.endsWith('.m3u8') && !rest.includes('/'))
      .sort();
    for (const rest of candidates) {
      const object = await store.get(bucket, `${prefix}${rest}`);
      if (object === undefined || classifyPlaylist(object.body) !== 'master') continue;
      if (!isAcceptable(validateMasterPlaylist(object.body, limits))) continue;
      masters[encoder] = { rest, etag: object.etag };
      break;
    }
  }
  return { ...emptyChannelState(channel), masters };
}

/** The audit of one channel's owned transitions and settled invalid-playlist incident. */
export function channelAudit(
  channel: string,
  transitions: readonly Transition[],
  settlement: Settlement,
  encoder: string | undefined,
  before: string | undefined,
  after: unknown,
): ChannelAudit {
  const decisions: AuditDecision[] = decisionsOf(transitions);
  if (settlement.kind !== 'none' && encoder !== undefined) {
    decisions.push({
      decision: settlement.kind === 'closed' ? 'invalid-playlist-closed' : 'invalid-playlist-narrowed',
      encoder,
      reason:
        settlement.kind === 'closed'
          ? `every rejected playlist of ${encoder} is accepted again or no longer written (${settlement.incident.rejected} rejected)`
          : `still rejected: ${Object.keys(settlement.incident.playlists).join(', ')}`,
      incidentId: settlement.incident.incidentId,
    });
  }
  const afterHash = healthHash(after);
  return {
    channel,
    decisions,
    ...(transitions.length === 0 || afterHash === undefined
      ? {}
      : { health: { ...(before === undefined ? {} : { before }), after: afterHash } }),
  };
}

/** Withdrawals this execution must apply: encoders it just marked withdrawn. */
export function withdrawalsOwned(transitions: readonly Transition[]): string[] {
  return transitions.flatMap((t) => (t.kind === 'withdrawal-changed' ? [...t.withdrawn] : []));
}

/** The longest a CheckCounterpartFreshness invocation waits to look again (its timeout is 30 s). */
const MAX_RECHECK_WAIT_MS = 20_000;

export function createCheckFreshness(deps: HandlerDeps) {
  const { store, records, settings, now, sleep } = deps;
  const publishNow = createPublisher(deps);

  /**
   * The renditions this look did not just read that the stored state and the accepted records
   * would newly call stalled, read now. The records lag behind a rendition whose events are late
   * (EventBridge delivery, a backlog of executions): judged from them, a healthy encoder would be
   * STALLED, then RECOVERED. So does the version this execution validated, read before a slow
   * start (a cold start, a backlog): by now its encoder may have written the next one. A stall
   * is declared only on a playlist read just now, as the watchdog does.
   */
  const stallsToConfirm = async (
    bucket: string,
    channel: string,
    state: ChannelState,
    observed: {
      /** The event's own version, validated before this look. */
      readonly own: readonly RenditionObservation[];
      /** The counterparts' playlists, read just now. */
      readonly read: readonly RenditionObservation[];
      readonly accepted: readonly RenditionObservation[];
    },
    look: { readonly now: number; readonly watchingSince?: number },
  ): Promise<RenditionObservation[]> => {
    const renditions = [...observed.own, ...observed.read, ...observed.accepted];
    if (state.health === undefined) return [];
    const stored = state.health.encoders;
    const dryRun = assessFreshness(
      state.health,
      { ...look, renditions, invalid: invalidEvidence(state) },
      freshnessOptions(settings),
    ).state;
    const read = new Set(observed.read.map((r) => `${r.encoder}/${r.rendition}`));
    const unconfirmed = Object.entries(dryRun.encoders).flatMap(([encoder, health]) =>
      Object.entries(health.renditions)
        .filter(
          ([rendition, r]) =>
            r.status === 'stalled' &&
            stored[encoder]?.renditions[rendition]?.status !== 'stalled' &&
            !read.has(`${encoder}/${rendition}`),
        )
        .map(([rendition]) => ({ encoder, rendition })),
    );
    const seen = await Promise.all(
      unconfirmed.map(({ encoder, rendition }) =>
        observePlaylist(store, bucket, channel, encoder, rendition, settings.maxPlaylistChars),
      ),
    );
    return seen
      .filter((o): o is RenditionObservation => o !== undefined)
      .map((o) => withSeenAt(o, observed.accepted));
  };

  /**
   * One look: the event's playlist (when given) and the counterpart's, folded in with a conditional
   * write. `watchingSince`: the workflow is watching again after a gap (the event's playlist
   * follows a silence longer than the stall threshold), so older playlists are judged from then.
   */
  const assess = async (
    p: Extract<ValidateOutput, { action: 'process' }>,
    withOwn: boolean,
    watchingSince: number | undefined,
  ) => {
    const at = now();
    const look = { now: at, ...(watchingSince === undefined ? {} : { watchingSince }) };
    const own: RenditionObservation[] =
      p.kind === 'media' && p.playlist !== undefined && withOwn
        ? [{ encoder: p.encoder, rendition: p.rendition, playlist: p.playlist }]
        : [];
    // The counterpart's playlists, the stored state and the accepted records, read at once (one round trip).
    const counterparts =
      p.kind === 'media' && p.playlist !== undefined ? settings.encoders.filter((e) => e !== p.encoder) : [];
    const [seen, stored, accepted] = await Promise.all([
      Promise.all(
        counterparts.map((e) =>
          observePlaylist(store, p.bucket, p.channel, e, p.rendition, settings.maxPlaylistChars),
        ),
      ),
      readChannelState(records, p.channel),
      acceptedObservations(records, p.channel, settings.encoders),
    ]);
    const read = seen.filter((o) => o !== undefined).map((o) => withSeenAt(o, accepted));
    // Accepted records lag behind the bucket as events do: only a playlist read confirms a stall.
    const confirmed = await stallsToConfirm(p.bucket, p.channel, stored.state, { own, read, accepted }, look);
    const renditions = [...own, ...read, ...accepted, ...confirmed];
    const rebuilt =
      stored.corrupt === undefined
        ? undefined
        : await rebuiltChannelState(store, p.bucket, p.channel, settings);
    const update = await updateChannelState(
      records,
      p.channel,
      (state) => {
        const assessed = assessFreshness(
          state.health,
          { ...look, renditions, invalid: invalidEvidence(state) },
          freshnessOptions(settings),
        );
        const masters =
          p.kind === 'master'
            ? { ...state.masters, [p.encoder]: { rest: p.rendition, etag: p.etag } }
            : state.masters;
        const settled = withOwn
          ? settleRejections(
              { ...state, health: assessed.state, masters },
              { encoder: p.encoder, rest: p.rendition, at, readAt: p.readAt },
            )
          : { state: { ...state, health: assessed.state }, result: { kind: 'none' } as Settlement };
        return {
          state: settled.state,
          result: {
            transitions: assessed.transitions,
            settlement: settled.result,
            before: healthHash(state.health),
            // Only this event's rendition: the others' lag is followed by their own executions
            // (their accepted records lag behind the bucket, as their events do).
            recheckAt: p.kind === 'media' ? assessed.rechecks[p.rendition] : undefined,
          },
        };
      },
      stored,
      {
        ...(rebuilt === undefined ? {} : { rebuilt }),
        // Recorded as pending with the transitions (functions/outbox.ts); the same alerts go out below.
        outbox: {
          alertsOf: (result, next) =>
            next.health === undefined
              ? []
              : alertsFor(p.channel, result.transitions, next.health, at, alertOptions(settings)),
          at,
          resend: withOwn,
        },
      },
    );
    return {
      at,
      update,
      transitions: update.written ? update.result.transitions : [],
      settlement: (update.written ? update.result.settlement : { kind: 'none' }) as Settlement,
    };
  };

  return async (input: { playlist: ValidateOutput }): Promise<HealthOutput> => {
    const p = input.playlist;
    if (p.action !== 'process') throw new TypeError('CheckCounterpartFreshness needs a processed playlist');
    const startedAt = now();
    const watchingSince = p.kind === 'media' && p.resumed === true ? startedAt : undefined;
    const first = await assess(p, true, watchingSince);
    // Published mode: this upload's rendition (and every rendition, when this look moved the
    // preference) published now, not after the wait for the lag grace below.
    const firstHealth = first.update.state.health;
    const early =
      publishedFolderOf(settings) === undefined || firstHealth === undefined
        ? []
        : publishTargets(
            firstHealth,
            p.kind === 'media'
              ? { encoder: p.encoder, rendition: p.rendition, endlist: p.playlist?.endlist === true }
              : undefined,
            first.transitions,
          );
    // A publication that fails (storage) does not fail the decision already stored: its targets
    // go to PublishViewerPlaylists, which retries them.
    let publication: PublishOutput | undefined;
    let deferred: readonly PublishTarget[] = [];
    if (early.length > 0)
      try {
        publication = await publishNow(p.bucket, p.channel, early);
      } catch (error) {
        deps.log.warn('publishing deferred to PublishViewerPlaylists', {
          channel: p.channel,
          error: (error as Error).message,
        });
        deferred = early;
      }
    const looks = [first];
    // The counterpart is one segment behind and within its grace: look again when the grace ends,
    // so a dead encoder is seen at about (1 + lagGrace) × TD after its last upload, not at the next event.
    const recheckAt = first.update.result.recheckAt;
    if (recheckAt !== undefined && recheckAt - now() <= MAX_RECHECK_WAIT_MS) {
      await sleep(Math.max(0, recheckAt - now()) + 20);
      looks.push(await assess(p, false, watchingSince));
    }
    const last = looks[looks.length - 1] as (typeof looks)[number];
    const health = last.update.state.health;
    const transitions = looks.flatMap((l) => l.transitions);
    const audit = looks
      .map((l) =>
        channelAudit(
          p.channel,
          l.transitions,
          l.settlement,
          p.encoder,
          l.update.result.before,
          l.update.state.health,
        ),
      )
      .filter((a) => a.decisions.length > 0);
    const settlement = first.settlement;
    const notices = [
      ...looks.flatMap((l) =>
        l.update.rebuilt === undefined ? [] : [stateRebuiltAlert(p.channel, l.update.rebuilt, health, l.at)],
      ),
      ...(settlement.kind === 'closed'
        ? [playlistsValidAgainAlert(p.channel, p.encoder, settlement.incident, health, first.at)]
        : []),
    ];
    if (health === undefined) return { channels: [], alerts: notices, metrics: [], transitions, audit };
    const splice =
      splicingOn(settings) && p.kind === 'media'
        ? spliceTargets(last.update.state, p.encoder, p.rendition, settings.encoders, startedAt)
        : [];
    // A switch the second look made: published by PublishViewerPlaylists.
    const publish =
      publishedFolderOf(settings) === undefined
        ? []
        : [
            ...deferred,
            ...publishTargets(
              health,
              undefined,
              looks.slice(1).flatMap((l) => l.transitions),
            ),
          ];
    return {
      channels: [
        withUnconfirmedWithdrawals(last.update.state, settings.encoders, last.at, {
          bucket: p.bucket,
          channel: p.channel,
          mergeNeeded: mergeNeeded(last.update.state, transitions.length > 0, startedAt),
          withdraw: withdrawalsOwned(transitions),
          ...(splice.length === 0 ? {} : { splice }),
          ...(publish.length === 0 ? {} : { publish }),
        }),
      ],
      // Alerts taken over from the outbox first: an incident's earlier alert before its next one.
      alerts: [
        ...looks.flatMap((l) => [
          ...l.update.resend,
          ...(l.update.state.health === undefined
            ? []
            : alertsFor(p.channel, l.transitions, l.update.state.health, l.at, alertOptions(settings))),
        ]),
        ...notices,
      ],
      metrics: healthMetrics(p.channel, health, last.at),
      transitions,
      audit,
      ...(publication === undefined ? {} : { publication }),
    };
  };
}

export const handler = createCheckFreshness(createDeps({ functionName: 'CheckCounterpartFreshness' }));
