/**
 * Watchdog (scheduled): checks every known channel against the clock by reading each known
 * rendition's playlists, so an encoder that went silent is caught even when no event arrives
 * (both encoders silent: CHANNEL DOWN; one silent while the other's events are delayed).
 *
 * Two inputs, one per ASL state. The scheduled run (`{ bucket }`) only lists the channels: the
 * workflow starts one execution per channel (`{ bucket, channel }`), which assesses that channel
 * and goes through the same actions, metrics and alerts as an event. Each execution's data then
 * stays the size of one channel, whatever the number of channels or of channels down at once
 * (Step Functions fails an execution whose state passes 256 KiB).
 */
import { acceptedObservations, withSeenAt } from '../accepted';
import { alertsFor, stateRebuiltAlert } from '../alerts';
import { healthHash } from '../audit';
import {
  type ChannelState,
  indexIsStale,
  listChannels,
  readChannelState,
  updateChannelState,
} from '../channel-state';
import { publishedFolderOf, reservedFolders } from '../config';
import { assessFreshness, type RenditionObservation } from '../hls';
import { invalidEvidence } from '../invalid-playlists';
import { channelNameProblem } from '../keys';
import { healthMetrics, type MetricDatum } from '../metrics';
import { publishTargets } from '../publishing';
import {
  channelAudit,
  type HealthOutput,
  observePlaylist,
  rebuiltChannelState,
  withdrawalsOwned,
} from './check-freshness';
import { alertOptions, createDeps, freshnessOptions, type HandlerDeps } from './deps';
import { findRepairs, withRepairs } from './repairs';

export interface WatchdogInput {
  readonly bucket: string;
  /** The channel to check; without it, the run lists the channels to check. */
  readonly channel?: string;
}

export interface WatchdogOutput extends HealthOutput {
  /** The scheduled run: every channel with a recorded state, each checked by its own execution. */
  readonly channelsToCheck: readonly string[];
}

const NOTHING: Omit<HealthOutput, 'metrics'> = { channels: [], alerts: [], transitions: [], audit: [] };

export function createWatchdog(deps: HandlerDeps) {
  const { store, records, settings, now, log } = deps;

  async function listChannelsToCheck(): Promise<WatchdogOutput> {
    // A state left from other encoder folder names may name a channel that now reads as an encoder
    // folder: checking it would write its index.m3u8 into that folder.
    const channelsToCheck = (await listChannels(records)).filter(
      (c) => channelNameProblem(c, reservedFolders(settings)) === undefined,
    );
    const runs: MetricDatum = { name: 'WatchdogRuns', value: 1, unit: 'Count', dimensions: {} };
    return { ...NOTHING, metrics: [runs], channelsToCheck };
  }

  async function checkChannel(bucket: string, channel: string): Promise<WatchdogOutput> {
    const at = now();
    const [{ state, corrupt }, accepted] = await Promise.all([
      readChannelState(records, channel),
      acceptedObservations(records, channel, settings.encoders),
    ]);
    const quiet = { ...NOTHING, metrics: [], channelsToCheck: [] };
    if (state.health?.ended) return quiet; // the event is over: nothing is expected to be live
    const renditions: RenditionObservation[] = [];
    for (const [encoder, rendition] of knownRenditions(state, accepted)) {
      const seen = await observePlaylist(
        store,
        bucket,
        channel,
        encoder,
        rendition,
        settings.maxPlaylistChars,
        accepted,
      );
      if (seen !== undefined) renditions.push(withSeenAt(seen, accepted));
    }
    const rebuilt =
      corrupt === undefined ? undefined : await rebuiltChannelState(store, bucket, channel, settings);
    const update = await updateChannelState(
      records,
      channel,
      (current) => {
        const assessed = assessFreshness(
          current.health,
          { now: at, renditions, invalid: invalidEvidence(current) },
          freshnessOptions(settings),
        );
        return {
          state: { ...current, health: assessed.state },
          result: { transitions: assessed.transitions, before: healthHash(current.health) },
        };
      },
      undefined,
      {
        ...(rebuilt === undefined ? {} : { rebuilt }),
        outbox: {
          alertsOf: (result, next) =>
            next.health === undefined
              ? []
              : alertsFor(channel, result.transitions, next.health, at, alertOptions(settings)),
          at,
          resend: true,
        },
      },
    );
    const health = update.state.health;
    if (health === undefined) return quiet;
    const owned = update.written ? update.result.transitions : [];
    // Converge: the effects of transitions whose execution died, and objects changed behind the
    // workflow's back (functions/converge.ts).
    const repairs = await findRepairs(deps, bucket, update.state);
    if (repairs.reasons.length > 0)
      log.warn('repairing channel objects', { channel, reasons: repairs.reasons });
    // Published mode: every rendition, from the encoder viewers are served from (converge).
    const publish =
      publishedFolderOf(settings) === undefined ? [] : publishTargets(health, undefined, owned, true);
    const actions = withRepairs(
      {
        bucket,
        channel,
        mergeNeeded: indexIsStale(update.state),
        withdraw: withdrawalsOwned(owned),
        ...(publish.length === 0 ? {} : { publish }),
      },
      repairs,
    );
    return {
      channels: actions.mergeNeeded || actions.withdraw.length > 0 || publish.length > 0 ? [actions] : [],
      alerts: [
        ...(update.rebuilt === undefined ? [] : [stateRebuiltAlert(channel, update.rebuilt, health, at)]),
        // Taken over from the outbox first: an incident's earlier alert before its next one.
        ...update.resend,
        ...alertsFor(channel, owned, health, at, alertOptions(settings)),
      ],
      metrics: healthMetrics(channel, health, at),
      transitions: owned,
      audit:
        owned.length > 0
          ? [channelAudit(channel, owned, { kind: 'none' }, undefined, update.result.before, health)]
          : [],
      channelsToCheck: [],
    };
  }

  return (input: WatchdogInput): Promise<WatchdogOutput> =>
    input.channel === undefined ? listChannelsToCheck() : checkChannel(input.bucket, input.channel);
}

/** Every rendition the state or the accepted records know, once (a rebuilt state knows none yet). */
function knownRenditions(
  state: ChannelState,
  accepted: readonly RenditionObservation[],
): (readonly [string, string])[] {
  const known = new Map<string, readonly [string, string]>();
  const add = (encoder: string, rendition: string) =>
    known.set(JSON.stringify([encoder, rendition]), [encoder, rendition]);
  for (const [encoder, health] of Object.entries(state.health?.encoders ?? {}))
    for (const rendition of Object.keys(health.renditions)) add(encoder, rendition);
  for (const a of accepted) add(a.encoder, a.rendition);
  return [...known.values()];
}

export const handler = createWatchdog(createDeps({ functionName: 'Watchdog' }));
