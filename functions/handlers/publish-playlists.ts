/**
 * PublishViewerPlaylists (published mode, issue 15): publishes what CheckCounterpartFreshness did
 * not publish itself (functions/publisher.ts): every rendition of the newly preferred encoder after
 * a switch found once it had waited out the lag grace, and, for the watchdog's look, every
 * rendition a dead execution left unpublished.
 */
import { readChannelState } from '../channel-state';
import { createPublisher, type PublishOutput } from '../publisher';
import type { ChannelActions } from './check-freshness';
import { createDeps, type HandlerDeps } from './deps';

export type { PublishOutput } from '../publisher';

export function createPublishPlaylists(deps: HandlerDeps) {
  const publish = createPublisher(deps);
  return async (input: ChannelActions): Promise<PublishOutput> => {
    const { state } = await readChannelState(deps.records, input.channel);
    return publish(input.bucket, input.channel, input.publish ?? [], state.health?.ended === true);
  };
}

export const handler = createPublishPlaylists(createDeps({ functionName: 'PublishViewerPlaylists' }));
