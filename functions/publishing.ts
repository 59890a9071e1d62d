/**
 * Published mode's policy (issue 15): which playlists an execution publishes. Viewers are served
 * from one encoder at a time, the channel's preferred one (functions/hls/freshness.ts moves the
 * preference off an encoder that is down while the other is healthy, and back by the failback
 * rule). Pure: the handler (functions/handlers/publish-playlists.ts) reads and writes.
 */
import type { ChannelHealth, Transition } from './hls';

/** One rendition to publish from one encoder's last accepted version. */
export interface PublishTarget {
  readonly encoder: string;
  readonly rendition: string;
}

/**
 * What an execution publishes: the event's rendition when the event comes from the encoder viewers
 * are served from (the other encoder's event for the same segment publishes nothing), or when the
 * event ends its playlist (the channel may have ended); and, when this execution moved the
 * preference, every rendition of the newly preferred encoder (the switch). `everyRendition`: the
 * watchdog's look, which publishes whatever a dead execution left unpublished (converge).
 */
export function publishTargets(
  health: ChannelHealth,
  event: { readonly encoder: string; readonly rendition: string; readonly endlist: boolean } | undefined,
  transitions: readonly Transition[],
  everyRendition = false,
): PublishTarget[] {
  const encoder = health.preferred;
  const renditions = new Set<string>();
  if (event !== undefined && (event.encoder === encoder || event.endlist)) renditions.add(event.rendition);
  if (everyRendition || transitions.some((t) => t.kind === 'preferred-changed'))
    for (const rendition of Object.keys(health.encoders[encoder]?.renditions ?? {}))
      renditions.add(rendition);
  return [...renditions].sort().map((rendition) => ({ encoder, rendition }));
}
