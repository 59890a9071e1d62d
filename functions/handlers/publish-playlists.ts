/**
 * PublishViewerPlaylists (published mode, issue 15): publishes what CheckCounterpartFreshness did
 * not publish itself (functions/publisher.ts): every rendition of the newly preferred encoder after
 * a switch found once it had waited out the lag grace, and, for the watchdog's look, every
 * rendition a dead execution left unpublished.
 */
import { createPublisher, type PublishOutput } from '../publisher';
import type { ChannelActions } from './check-freshness';
import { createDeps, type HandlerDeps } from './deps';

export type { PublishOutput } from '../publisher';

export function createPublishPlaylists(deps: HandlerDeps) {
  const publish = createPublisher(deps);
  return (input: ChannelActions): Promise<PublishOutput> =>
    publish(input.bucket, input.channel, input.publish ?? []);
}

export const handler = createPublishPlaylists(createDeps({ functionName: 'PublishViewerPlaylists' }));
