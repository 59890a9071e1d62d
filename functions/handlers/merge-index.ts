/**
 * MergeIndex: builds `<channel>/index.m3u8` from the encoders' masters (or media playlists, for
 * an encoder without a master) and `steering.json` from the preferred order; writes each only
 * when its bytes change.
 */
import { createHash } from 'node:crypto';
import { dirname, posix } from 'node:path';
import {
  type ChannelState,
  mastersFingerprint,
  readChannelState,
  updateChannelState,
} from '../channel-state';
import { publishedFolderOf } from '../config';
import {
  buildSteeringManifest,
  classifyPlaylist,
  LadderMismatchError,
  type MasterSource,
  type MediaOnlyRendition,
  mergeMasters,
  snapshotMediaPlaylist,
  stringifySteeringManifest,
} from '../hls';
import { encoderPrefix, indexKey, steeringKey } from '../keys';
import { toEmf, writeMetrics } from '../metrics';
import { type ObjectStore, PLAYLIST_CONTENT_TYPE } from '../store';
import type { ChannelActions } from './check-freshness';
import { createDeps, type HandlerDeps } from './deps';

export interface WriteOutcome {
  readonly key: string;
  readonly written: boolean;
  readonly hashBefore?: string;
  readonly hashAfter: string;
}

export interface MergeOutput {
  readonly index?: WriteOutcome;
  readonly steering?: WriteOutcome;
  readonly order: readonly string[];
  readonly warnings: readonly string[];
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Writes `body` at `key` only when the stored bytes differ. */
export async function writeIfChanged(
  store: ObjectStore,
  bucket: string,
  key: string,
  body: string,
  contentType: string,
  cacheControl: string,
): Promise<WriteOutcome> {
  const current = await store.get(bucket, key);
  const hashAfter = sha256(body);
  const hashBefore = current === undefined ? undefined : sha256(current.body);
  const written = hashBefore !== hashAfter;
  if (written) await store.put(bucket, key, body, { contentType, cacheControl });
  return { key, written, hashAfter, ...(hashBefore === undefined ? {} : { hashBefore }) };
}

/**
 * An encoder whose master is not recorded (yet): a master found in its folder is used as is;
 * otherwise every media playlist there, BANDWIDTH from the listed segment sizes.
 */
async function sourceFromFolder(
  store: ObjectStore,
  bucket: string,
  channel: string,
  encoder: string,
  maxPlaylistChars: number,
): Promise<MasterSource | undefined> {
  const prefix = encoderPrefix(channel, encoder);
  const listed = await store.list(bucket, prefix);
  const sizes = new Map(listed.map((o) => [o.key, o.size]));
  const renditions: MediaOnlyRendition[] = [];
  for (const { key } of listed
    .filter((o) => o.key.endsWith('.m3u8'))
    .sort((a, b) => a.key.localeCompare(b.key))) {
    const object = await store.get(bucket, key);
    if (object === undefined) continue;
    if (classifyPlaylist(object.body) === 'master') return object.body;
    const snapshot = snapshotMediaPlaylist(object.body, { maxPlaylistChars });
    if (snapshot === undefined) continue;
    const folder = dirname(key);
    const segments = snapshot.segments.flatMap((s) => {
      if (!(s.duration > 0)) return [];
      const bytes = sizes.get(posix.normalize(`${folder}/${s.uri.split('?', 1)[0]}`));
      return bytes === undefined ? [] : [{ bytes, duration: s.duration }];
    });
    if (segments.length > 0) renditions.push({ uri: key.slice(prefix.length), segments });
  }
  return renditions.length === 0 ? undefined : { mediaOnly: renditions };
}

export function createMergeIndex(deps: HandlerDeps) {
  const { store, records, settings, now, emitMetricLine } = deps;
  return async (input: ChannelActions): Promise<MergeOutput> => {
    const { bucket, channel } = input;
    const { state } = await readChannelState(records, channel);
    if (state.health === undefined)
      return { order: [], warnings: ['no health recorded yet for this channel'] };

    const sources: (MasterSource | undefined)[] = [];
    const masterDirs: Record<string, string> = {};
    // The ETags merged: the watchdog compares them with the stored masters (functions/converge.ts).
    const mergedEtags: Record<string, string> = {};
    for (const encoder of settings.encoders) {
      const master = state.masters[encoder];
      const object =
        master === undefined
          ? undefined
          : await store.get(bucket, `${encoderPrefix(channel, encoder)}${master.rest}`);
      if (master !== undefined && object !== undefined) {
        sources.push(object.body);
        mergedEtags[encoder] = object.etag;
        const dir = posix.dirname(master.rest);
        if (dir !== '.') masterDirs[encoder] = dir;
      } else {
        sources.push(await sourceFromFolder(store, bucket, channel, encoder, settings.maxPlaylistChars));
      }
    }
    if (sources.every((s) => s === undefined))
      return { order: [], warnings: ['no encoder playlists to build an index from'] };
    // Published mode: one encoder's ladder (the home encoder's while it has one: the index stays
    // the same bytes across switches), listed under the published folder.
    const folder = publishedFolderOf(settings);
    if (folder !== undefined) {
      const from = sources[0] !== undefined ? 0 : 1;
      const encoder = settings.encoders[from] as string;
      const merged = mergeMasters(from === 0 ? sources[0] : undefined, from === 1 ? sources[1] : undefined, {
        encoders: settings.encoders as unknown as readonly [string, string],
        prefer: encoder,
        steering: false,
        folders: { [encoder]: `${folder}/` },
        // I-frame playlists are byte ranges, which are not published: listed, they would answer 404.
        iframes: false,
        allowedHosts: settings.allowedHosts,
        masterDirs,
        maxPlaylistChars: settings.maxPlaylistChars,
      });
      return writeIndex(input, state, merged, { [encoder]: mergedEtags[encoder] as string });
    }
    // Encoders write their media playlists before their master (ffmpeg: a few ms), one rendition
    // after another. While an encoder has no master, a ladder that differs is a channel still
    // starting, not a mismatch: its own next event merges it in. The index stays as it is.
    const waiting = settings.encoders.filter(
      (_, i) => sources[i] !== undefined && typeof sources[i] !== 'string',
    );
    if (waiting.length === 1 && sources.some((s) => typeof s === 'string'))
      return {
        order: [],
        warnings: [`${waiting[0]} has media playlists but no master yet; index unchanged`],
      };
    let merged: ReturnType<typeof mergeMasters>;
    try {
      merged = mergeMasters(sources[0], sources[1], {
        encoders: settings.encoders as unknown as readonly [string, string],
        prefer: state.health.preferred,
        steering: settings.steering,
        allowedHosts: settings.allowedHosts,
        lenient: settings.lenientLadder,
        masterDirs,
        maxPlaylistChars: settings.maxPlaylistChars,
      });
    } catch (error) {
      if (!(error instanceof LadderMismatchError) || waiting.length === 0) throw error;
      return {
        order: [],
        warnings: [
          `${waiting.join(' and ')} without a master: their media playlists differ so far (${error.message}); index unchanged`,
        ],
      };
    }
    return writeIndex(input, state, merged, mergedEtags);
  };

  /** Writes index.m3u8 (and steering.json) when their bytes change, and records what was merged. */
  async function writeIndex(
    input: ChannelActions,
    state: ChannelState,
    merged: ReturnType<typeof mergeMasters>,
    mergedEtags: Record<string, string>,
  ): Promise<MergeOutput> {
    const { bucket, channel } = input;
    const index = await writeIfChanged(
      store,
      bucket,
      indexKey(channel),
      merged.text,
      PLAYLIST_CONTENT_TYPE,
      `max-age=${settings.playlistMaxAgeSeconds}`,
    );
    const steering = settings.steering
      ? await writeIfChanged(
          store,
          bucket,
          steeringKey(channel),
          stringifySteeringManifest(buildSteeringManifest(merged.order, settings.steeringTtlSeconds)),
          'application/json',
          `max-age=${settings.steeringTtlSeconds}`,
        )
      : undefined;
    // Counted once the bytes are written: a retry finds them unchanged and counts nothing again.
    const writes = writeMetrics(channel, { index: index.written, steering: steering?.written === true });
    for (const line of toEmf(settings.metricsNamespace, writes, now())) emitMetricLine(line);
    const preferred = state.health?.preferred ?? (settings.encoders[0] as string);
    await updateChannelState(records, channel, (current) => ({
      state: {
        ...current,
        index: {
          preferred,
          masters: mastersFingerprint(state),
          writtenAt: now(),
          hash: index.hashAfter,
          ...(steering === undefined ? {} : { steeringHash: steering.hashAfter }),
          sources: mergedEtags,
        },
      },
      result: undefined,
    }));
    return {
      index,
      ...(steering === undefined ? {} : { steering }),
      order: merged.order,
      warnings: merged.warnings,
    };
  }
}

export const handler = createMergeIndex(createDeps({ functionName: 'MergeIndex' }));
