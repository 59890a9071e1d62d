/**
 * Published mode's writes (issue 15): the media playlists viewers read,
 * `<channel>/<publishedFolder>/<rendition>`, from an encoder's last accepted version
 * (functions/hls/publish.ts). Only a version the workflow accepted is published: the encoder's
 * object must still be that version (same ETag); a newer one is its own execution's to publish,
 * and an invalid one is never published (the last accepted version stays until the failover).
 *
 * Each write is conditional on the published playlist read (If-Match, or If-None-Match for the
 * first): two executions publishing the same rendition at once (the two encoders' events for one
 * segment) write once; the one that loses reads again and finds the segment published, or
 * publishes what is newer. A published playlist never goes backwards.
 *
 * CheckCounterpartFreshness publishes an upload's rendition as soon as its first look is stored
 * (before it waits out the lag grace); PublishViewerPlaylists publishes a switch found later and
 * the watchdog's look.
 */
import { readAcceptedRecord } from './accepted';
import { readChannelState } from './channel-state';
import { publishedFolderOf } from './config';
import type { HandlerDeps } from './handlers/deps';
import { publishPlaylist, snapshotMediaPlaylist } from './hls';
import { encoderPrefix, publishedPrefix } from './keys';
import type { PublishTarget } from './publishing';
import { PLAYLIST_CONTENT_TYPE } from './store';

export interface PublishOutput {
  /** Published playlists written: key → last media sequence number. */
  readonly published: Readonly<Record<string, number>>;
  /** Changes of encoder inside a published playlist (in the execution's output and the log). */
  readonly switched: readonly {
    readonly key: string;
    readonly from: string;
    readonly to: string;
    readonly locked: boolean;
    readonly reason?: string;
  }[];
  /** Targets that published nothing, and why (published already, not accepted, refused). */
  readonly skipped: readonly string[];
}

/** How many times a publication reads again after losing a conditional write. */
const MAX_ATTEMPTS = 4;

/**
 * Publishes `targets` of `channel`. It reads the channel state with the playlists (once for all
 * targets, and again after a lost write): a target whose encoder is no longer the one viewers are
 * served from (another execution moved the preference since this one looked) is skipped, so a
 * late execution never switches back.
 */
export function createPublisher(deps: Pick<HandlerDeps, 'store' | 'records' | 'settings' | 'log'>) {
  const { store, records, settings, log } = deps;
  const snapshotOf = (text: string) =>
    snapshotMediaPlaylist(text, { maxPlaylistChars: settings.maxPlaylistChars });

  return async (
    bucket: string,
    channel: string,
    targets: readonly PublishTarget[],
  ): Promise<PublishOutput> => {
    const folder = publishedFolderOf(settings);
    if (folder === undefined)
      return { published: {}, switched: [], skipped: ['publishing is "direct": nothing to publish'] };
    const published: Record<string, number> = {};
    const switched: PublishOutput['switched'][number][] = [];
    const skipped: string[] = [];
    // The channel state, read once for every target; read again by an attempt that lost a write.
    let read: ReturnType<typeof readChannelState> | undefined;
    const channelState = (again: boolean) => {
      if (again || read === undefined) read = readChannelState(records, channel);
      return read;
    };

    const publish = async ({ encoder, rendition }: PublishTarget): Promise<void> => {
      const sourceKey = `${encoderPrefix(channel, encoder)}${rendition}`;
      const key = `${publishedPrefix(channel, folder)}${rendition}`;
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const [object, accepted, current, { state }] = await Promise.all([
          store.get(bucket, sourceKey),
          readAcceptedRecord(records, channel, encoder, rendition),
          store.get(bucket, key),
          channelState(attempt > 1),
        ]);
        if (state.health?.preferred !== encoder)
          return void skipped.push(
            `${key}: ${encoder} is no longer the encoder viewers are served from (${state.health?.preferred ?? 'none yet'} is)`,
          );
        if (object === undefined || accepted === undefined || object.etag !== accepted.etag)
          return void skipped.push(
            `${key}: ${sourceKey} is not its accepted version (${object === undefined ? 'missing' : accepted === undefined ? 'none accepted yet' : 'a newer or rejected one'})`,
          );
        const snapshot = snapshotOf(object.body);
        const previousSnapshot = current === undefined ? undefined : snapshotOf(current.body);
        if (snapshot === undefined) return void skipped.push(`${key}: ${sourceKey} is not a media playlist`);
        const result = publishPlaylist({
          source: { encoder, text: object.body, snapshot },
          ...(current === undefined || previousSnapshot === undefined
            ? {}
            : { previous: { text: current.body, snapshot: previousSnapshot } }),
          rest: rendition,
          ended: state.health.ended,
        });
        if (result.kind !== 'publish') return void skipped.push(`${key}: ${result.reason}`);
        const written = await store.put(bucket, key, result.text, {
          contentType: PLAYLIST_CONTENT_TYPE,
          cacheControl: `max-age=${settings.playlistMaxAgeSeconds}`,
          ...(current === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: current.etag }),
        });
        if (written === 'precondition-failed') continue; // another execution published: read again
        published[key] = result.lastSequence;
        if (result.switched !== undefined) switched.push({ key, to: encoder, ...result.switched });
        return;
      }
      skipped.push(`${key}: still contended after ${MAX_ATTEMPTS} attempts; the next upload publishes`);
    };

    await Promise.all(targets.map(publish));
    if (switched.length > 0) log.info('published playlists switched encoder', { channel, switched });
    return { published, switched, skipped };
  };
}
