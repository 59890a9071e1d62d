/**
 * Watchdog (scheduled): checks every known channel against the clock by reading each known
 * rendition's playlists, so an encoder that went silent is caught even when no event arrives
 * (both encoders silent: CHANNEL DOWN; one silent while the other's events are delayed).
 */
import { alertsFor } from '../alerts';
import { healthHash } from '../audit';
import { indexIsStale, readChannelState, updateChannelState } from '../channel-state';
import { assessFreshness, type RenditionObservation, type Transition } from '../hls';
import { channelOfStateKey } from '../keys';
import { healthMetrics } from '../metrics';
import { channelAudit, type HealthOutput, observePlaylist, withdrawalsOwned } from './check-freshness';
import { createDeps, freshnessOptions, type HandlerDeps } from './deps';

export function createWatchdog(deps: HandlerDeps) {
  const { store, settings, now } = deps;
  return async (input: { bucket: string }): Promise<HealthOutput & { readonly checked: number }> => {
    const at = now();
    const channels = (await store.list(input.bucket, `${settings.statePrefix}channels/`))
      .map((o) => channelOfStateKey(settings.statePrefix, o.key))
      .filter((c): c is string => c !== undefined);
    const output: {
      channels: HealthOutput['channels'][number][];
      alerts: HealthOutput['alerts'][number][];
      metrics: HealthOutput['metrics'];
      transitions: Transition[];
      audit: HealthOutput['audit'][number][];
    } = {
      channels: [],
      alerts: [],
      metrics: [{ name: 'WatchdogRuns', value: 1, unit: 'Count', dimensions: {} }],
      transitions: [],
      audit: [],
    };
    for (const channel of channels) {
      const { state } = await readChannelState(store, input.bucket, settings.statePrefix, channel);
      if (state.health?.ended) continue; // the event is over: nothing is expected to be live
      const renditions: RenditionObservation[] = [];
      for (const [encoder, health] of Object.entries(state.health?.encoders ?? {})) {
        for (const rendition of Object.keys(health.renditions)) {
          const seen = await observePlaylist(
            store,
            input.bucket,
            channel,
            encoder,
            rendition,
            settings.maxPlaylistChars,
          );
          if (seen !== undefined) renditions.push(seen);
        }
      }
      const update = await updateChannelState(
        store,
        input.bucket,
        settings.statePrefix,
        channel,
        (current) => {
          const assessed = assessFreshness(
            current.health,
            { now: at, renditions },
            freshnessOptions(settings),
          );
          return {
            state: { ...current, health: assessed.state },
            result: { transitions: assessed.transitions, before: healthHash(current.health) },
          };
        },
      );
      const health = update.state.health;
      if (health === undefined) continue;
      const owned = update.written ? update.result.transitions : [];
      const withdraw = withdrawalsOwned(owned);
      const mergeNeeded = indexIsStale(update.state);
      if (mergeNeeded || withdraw.length > 0)
        output.channels.push({ bucket: input.bucket, channel, mergeNeeded, withdraw });
      output.alerts.push(...alertsFor(channel, owned, health, at));
      output.metrics.push(...healthMetrics(channel, health, at));
      output.transitions.push(...owned);
      if (owned.length > 0)
        output.audit.push(
          channelAudit(channel, owned, { kind: 'none' }, undefined, update.result.before, health),
        );
    }
    return { ...output, checked: channels.length };
  };
}

export const handler = createWatchdog(createDeps({ functionName: 'Watchdog' }));
