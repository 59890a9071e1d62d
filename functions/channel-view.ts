/**
 * What people (the status page, the JSON API, the CLI) are shown of a channel: its stored state
 * read against the clock. Pure: ages are computed from the `now` given, so a view taken later
 * shows older playlists without any execution having run.
 */
import type { ChannelState } from './channel-state';
import type { EncoderStatus } from './hls';

export interface RenditionView {
  /** The media playlist's path inside the encoder folder. */
  readonly name: string;
  readonly status: EncoderStatus;
  readonly reason: string;
  readonly mediaSequence: number;
  readonly lastSequence: number;
  readonly targetDuration: number;
  readonly endlist: boolean;
  /** Seconds since the playlist was last written, as of `now`. */
  readonly ageSeconds: number;
  readonly ageTargetDurations: number;
  /** Segments behind the other encoder's same rendition (negative: ahead); null when it has none. */
  readonly lag: number | null;
}

export interface EncoderView {
  readonly name: string;
  readonly status: EncoderStatus;
  readonly since: string;
  readonly reason: string;
  readonly incidentId?: string;
  readonly withdrawn: boolean;
  readonly preferred: boolean;
  readonly renditions: readonly RenditionView[];
}

export interface ChannelView {
  readonly channel: string;
  readonly preferred: string | null;
  readonly channelDown: boolean;
  /** Both encoders ended their playlists: the event is over and no longer expected live. */
  readonly ended: boolean;
  readonly updatedAt: string | null;
  readonly index: { readonly preferred: string; readonly writtenAt: string } | null;
  readonly encoders: readonly EncoderView[];
}

const round = (n: number) => Math.round(n * 10) / 10;
const iso = (ms: number) => new Date(ms).toISOString();

export function describeChannel(state: ChannelState, now: number): ChannelView {
  const health = state.health;
  const names = Object.keys(health?.encoders ?? {});
  const encoders = names.map((name): EncoderView => {
    const encoder = health?.encoders[name];
    const counterpart = health?.encoders[names.find((n) => n !== name) ?? ''];
    const renditions = Object.entries(encoder?.renditions ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([rendition, r]): RenditionView => {
        const ageSeconds = round(Math.max(0, now - r.lastModified) / 1000);
        const other = counterpart?.renditions[rendition];
        return {
          name: rendition,
          status: r.status,
          reason: r.reason,
          mediaSequence: r.mediaSequence,
          lastSequence: r.lastSequence,
          targetDuration: r.targetDuration,
          endlist: r.endlist,
          ageSeconds,
          ageTargetDurations: round(ageSeconds / (r.targetDuration || 1)),
          lag: other === undefined ? null : other.lastSequence - r.lastSequence,
        };
      });
    return {
      name,
      status: encoder?.status ?? 'unknown',
      since: iso(encoder?.since ?? 0),
      reason: encoder?.reason ?? '',
      ...(encoder?.incidentId === undefined ? {} : { incidentId: encoder.incidentId }),
      withdrawn: health?.withdrawn.includes(name) ?? false,
      preferred: health?.preferred === name,
      renditions,
    };
  });
  return {
    channel: state.channel,
    preferred: health?.preferred ?? null,
    channelDown: health?.channelDown ?? false,
    ended: health?.ended ?? false,
    updatedAt: health === undefined ? null : iso(health.updatedAt),
    index:
      state.index === undefined
        ? null
        : { preferred: state.index.preferred, writtenAt: iso(state.index.writtenAt) },
    encoders,
  };
}
