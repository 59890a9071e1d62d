/**
 * RecordInvalidPlaylist: after ValidatePlaylist rejected a playlist, records the rejection in the
 * channel state (conditional write) and counts it. The execution whose write opens the encoder's
 * invalid-playlist incident owns it and returns the one INVALID PLAYLIST alert; every later
 * rejection from that encoder joins the incident silently (functions/invalid-playlists.ts). The
 * output has the shape of CheckCounterpartFreshness's, so the same PublishHealthMetrics →
 * NotifyOnCall tail publishes it; the execution then still fails as PlaylistInvalid.
 */
import { channelLabel, invalidPlaylistAlert, stateRebuiltAlert } from '../alerts';
import { updateChannelState } from '../channel-state';
import { causeMessage, recordRejection, rulesOfCause } from '../invalid-playlists';
import { keyCandidates, parseEncoderKey } from '../keys';
import type { MetricDatum } from '../metrics';
import type { HealthOutput } from './check-freshness';
import { createDeps, type HandlerDeps } from './deps';

export interface RecordInvalidInput {
  readonly bucket: string;
  /** As the event gives it: may be URL-encoded. */
  readonly key: string;
  /** What the Catch put in `$.error`. */
  readonly error?: { readonly Error?: string; readonly Cause?: string };
}

export function createRecordInvalidPlaylist(deps: HandlerDeps) {
  const { records, settings, now } = deps;
  return async (input: RecordInvalidInput): Promise<HealthOutput> => {
    const at = now();
    const parsed = keyCandidates(input.key)
      .map((key) => ({ key, parsed: parseEncoderKey(key, settings.encoders) }))
      .find((c) => c.parsed !== undefined);
    const metric = (dimensions: Record<string, string>): MetricDatum => ({
      name: 'InvalidPlaylists',
      value: 1,
      unit: 'Count',
      dimensions,
      aggregate: true,
    });
    if (parsed?.parsed === undefined) {
      return { channels: [], alerts: [], metrics: [metric({})], transitions: [], audit: [] };
    }
    const { channel, encoder, rest } = parsed.parsed;
    const cause = causeMessage(input.error?.Cause);
    const update = await updateChannelState(records, channel, (state) =>
      recordRejection(state, { encoder, rest, rules: rulesOfCause(cause), at }),
    );
    const { kind, incident } = update.result;
    const opened = update.written && kind === 'opened';
    return {
      channels: [],
      alerts: [
        // A corrupt state record is replaced by the empty state here: its health follows from the next look.
        ...(update.rebuilt === undefined
          ? []
          : [stateRebuiltAlert(channel, update.rebuilt, update.state.health, at)]),
        ...(opened
          ? [
              invalidPlaylistAlert(
                channel,
                { encoder, key: parsed.key, rest, cause, incident },
                update.state.health,
                at,
              ),
            ]
          : []),
      ],
      metrics: [metric({ Channel: channelLabel(channel), Encoder: encoder })],
      transitions: [],
      audit: [
        {
          channel,
          decisions: [
            {
              decision: opened ? 'invalid-playlist-opened' : 'invalid-playlist-continued',
              encoder,
              reason: cause,
              incidentId: incident.incidentId,
            },
          ],
        },
      ],
    };
  };
}

export const handler = createRecordInvalidPlaylist(createDeps({ functionName: 'RecordInvalidPlaylist' }));
