/**
 * WithdrawStalePlaylists: deletes a stalled encoder's media playlists so they answer 404 and
 * every redundant-stream player fails over. Checks again, against the stored state, that the
 * encoder is still withdrawn and another encoder is healthy: never the last healthy encoder.
 * The same Task repairs a withdrawal whose execution died (functions/converge.ts): then, as the
 * encoder may have started uploading again, only the playlists it has not brought back go.
 * The bucket keeps versions, and the encoder's next upload brings its playlists back.
 */
import { readChannelState, updateChannelState } from '../channel-state';
import { confirmWithdrawal, mayWithdraw, stalePlaylists } from '../converge';
import { encoderPrefix } from '../keys';
import type { ChannelActions } from './check-freshness';
import { createDeps, type HandlerDeps } from './deps';

export interface WithdrawOutput {
  readonly deleted: Readonly<Record<string, readonly string[]>>;
  readonly skipped: readonly string[];
}

export function createWithdrawPlaylists(deps: HandlerDeps) {
  const { store, records, settings, log } = deps;
  return async (input: ChannelActions): Promise<WithdrawOutput> => {
    const { bucket, channel } = input;
    const { state } = await readChannelState(records, channel);
    const deleted: Record<string, string[]> = {};
    const skipped: string[] = [];
    for (const encoder of input.withdraw) {
      if (!mayWithdraw(state, encoder, settings.encoders)) {
        skipped.push(`${encoder}: not withdrawn now, or no other encoder is healthy`);
        continue;
      }
      const listed = await store.list(bucket, encoderPrefix(channel, encoder));
      const keys = stalePlaylists(state, encoder, listed, input.staleOnly?.includes(encoder) === true).map(
        (o) => o.key,
      );
      for (const key of keys) await store.delete(bucket, key);
      deleted[encoder] = keys;
      log.info('withdrew media playlists', { channel, encoder, count: keys.length });
    }
    // Done: the events after this one need not withdraw again (functions/converge.ts).
    const done = Object.keys(deleted);
    if (done.length > 0)
      await updateChannelState(records, channel, (current) => ({
        state: done.reduce(
          (next, e) => (mayWithdraw(next, e, settings.encoders) ? confirmWithdrawal(next, e) : next),
          current,
        ),
        result: undefined,
      }));
    return { deleted, skipped };
  };
}

export const handler = createWithdrawPlaylists(createDeps({ functionName: 'WithdrawStalePlaylists' }));
