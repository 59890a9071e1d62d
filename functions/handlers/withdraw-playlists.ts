/**
 * WithdrawStalePlaylists: takes a stalled encoder's media playlists away from its viewers, after
 * checking again, against the stored state, that the encoder is still withdrawn and another
 * encoder is healthy: never the last healthy encoder.
 *
 * - With splicing (setting `splicing`, on by default), each playlist is replaced by a splice of
 *   the healthy encoder's (functions/hls/splice.ts): the same segments, the same media sequence,
 *   each segment under the URI it was first listed with, the newer ones copied into the withdrawn
 *   encoder's folder. Viewers of the failed encoder keep loading a live playlist: no 404, nothing
 *   asked of the player. Each healthy upload of a rendition during the incident splices it again
 *   (`splice`). Written by PUT under the state prefix, then CopyObject into the encoder folder: S3
 *   reports a copy, and copies start no execution (functions/workflow.ts). Where the encoders are
 *   not output-locked, or the healthy playlist is missing, the playlist is deleted instead (the
 *   steering and 404 failover) and the output says why, for the audit trail.
 * - Without splicing, each playlist is deleted so it answers 404 and every redundant-stream
 *   player fails over. The bucket keeps versions.
 *
 * The same Task repairs a withdrawal whose execution died (functions/converge.ts): then, as the
 * encoder may have started uploading again, only the playlists it has not brought back are
 * replaced. The encoder's next upload of a rendition is its own again.
 */
import { readAcceptedRecord } from '../accepted';
import { readChannelState, updateChannelState } from '../channel-state';
import { confirmWithdrawal, mayWithdraw, stalePlaylists } from '../converge';
import { snapshotMediaPlaylist, splicedFrom, splicePlaylist } from '../hls';
import { encoderPrefix } from '../keys';
import { PLAYLIST_CONTENT_TYPE } from '../store';
import type { ChannelActions } from './check-freshness';
import { createDeps, type HandlerDeps } from './deps';

export interface WithdrawOutput {
  /** Per encoder: the playlists deleted (404). */
  readonly deleted: Readonly<Record<string, readonly string[]>>;
  /** Per encoder: the playlists replaced by a splice of the healthy encoder's (the withdrawal). */
  readonly spliced: Readonly<Record<string, readonly string[]>>;
  /**
   * The playlists spliced again from the healthy encoder's new version (`splice`), one per healthy
   * upload during the incident: kept out of the audit trail, which records the withdrawal.
   */
  readonly refreshed: readonly string[];
  /** Why a playlist was deleted rather than spliced (encoders not locked, nothing to splice from). */
  readonly notSpliced: readonly string[];
  readonly skipped: readonly string[];
}

/** What became of one playlist: spliced, deleted (and why not spliced), or left as it is (why). */
type Replaced =
  | { readonly kind: 'spliced' }
  | { readonly kind: 'deleted'; readonly notSpliced?: string }
  | { readonly kind: 'left'; readonly reason: string };

/** Where a splice of `key` is staged before its copy into the encoder folder (viewers are denied the prefix). */
export function spliceStagingKey(statePrefix: string, key: string): string {
  return `${statePrefix}splices/${encodeURIComponent(key)}.staged`;
}

/** Cache-Control of a spliced playlist: as short as the index's, a live playlist. */
const SPLICE_CACHE_CONTROL = 'max-age=1';
/**
 * Tries at one playlist, each after finding it written since it was read (the encoder's upload, or
 * another execution's splice of the same version): beyond them the next upload's execution splices it.
 */
const SPLICE_ATTEMPTS = 3;

export function createWithdrawPlaylists(deps: HandlerDeps) {
  const { store, records, settings, log } = deps;
  return async (input: ChannelActions): Promise<WithdrawOutput> => {
    const { bucket, channel } = input;
    // The folders of the encoders to withdraw are listed while the state is read: a round trip
    // less before viewers get the splice.
    const [{ state }, listings] = await Promise.all([
      readChannelState(records, channel),
      Promise.all(input.withdraw.map((encoder) => store.list(bucket, encoderPrefix(channel, encoder)))),
    ]);
    const deleted: Record<string, string[]> = {};
    const spliced: Record<string, string[]> = {};
    const refreshed: string[] = [];
    const notSpliced: string[] = [];
    const skipped: string[] = [];
    const done: string[] = [];
    const add = (to: Record<string, string[]>, encoder: string, key: string) => {
      to[encoder] = [...(to[encoder] ?? []), key];
    };

    /** Copies segments from one encoder folder into another; the first one missing, if any. */
    const copySegments = async (from: string, to: string, paths: readonly string[]) => {
      const outcomes = await Promise.all(
        paths.map((path) =>
          store.copy(
            bucket,
            `${encoderPrefix(channel, from)}${path}`,
            `${encoderPrefix(channel, to)}${path}`,
          ),
        ),
      );
      return paths.find((_, i) => outcomes[i] === 'source-missing');
    };

    /**
     * Splices `key` of `encoder` from the healthy encoder's same rendition. When that cannot be
     * done, the withdrawal deletes it, and so does a refresh of a splice; a refresh leaves anything
     * else as it is (deleted already, or the encoder's own version).
     */
    const replace = async (encoder: string, key: string, refresh = false): Promise<Replaced> => {
      const rest = key.slice(encoderPrefix(channel, encoder).length);
      const source = settings.encoders.find(
        (e) => e !== encoder && state.health?.encoders[e]?.status === 'healthy',
      );
      if (!settings.splicing || source === undefined) {
        await store.delete(bucket, key);
        return { kind: 'deleted' };
      }
      for (let attempt = 1; attempt <= SPLICE_ATTEMPTS; attempt++) {
        const outcome = await spliceOnce(encoder, key, rest, source, refresh);
        if (outcome !== 'written-meanwhile') return outcome;
      }
      return {
        kind: 'left',
        reason: `${key}: written again each time it was about to be spliced (${SPLICE_ATTEMPTS} times); the next upload splices it`,
      };
    };

    /**
     * One attempt at `replace`'s splice, from what `key` holds now. The splice is written only
     * over that version ('written-meanwhile' otherwise): the encoder's own upload landing between
     * this read and the write is never spliced over unread (the case `refresh` leaves alone).
     */
    const spliceOnce = async (
      encoder: string,
      key: string,
      rest: string,
      source: string,
      refresh: boolean,
    ): Promise<Replaced | 'written-meanwhile'> => {
      const [healthy, current, accepted] = await Promise.all([
        store.get(bucket, `${encoderPrefix(channel, source)}${rest}`),
        store.get(bucket, key),
        readAcceptedRecord(records, channel, encoder, rest),
      ]);
      const snapshotOf = (text: string) =>
        snapshotMediaPlaylist(text, { maxPlaylistChars: settings.maxPlaylistChars });
      const snapshot = healthy === undefined ? undefined : snapshotOf(healthy.body);
      // What the failed encoder's viewers load now: a splice from the same encoder moves on from
      // itself; otherwise the lock is checked against the encoder's last accepted version.
      const splicer = current === undefined ? undefined : splicedFrom(current.body);
      const continues = current !== undefined && splicer === source;
      // The encoder's own upload that no execution has accepted yet: its own execution reads it
      // first, then splices over it if it must (functions/converge.ts, `spliceTargets`). Spliced
      // over now, that execution would find a splice and skip it, and the encoder would look
      // stalled again.
      if (refresh && current !== undefined && splicer === undefined && current.etag !== accepted?.etag)
        return {
          kind: 'left',
          reason: `${key}: not spliced over yet: ${encoder}'s own upload, which its own execution reads first`,
        };
      const failed = continues ? snapshotOf(current.body) : accepted?.snapshot;
      let result =
        healthy === undefined || snapshot === undefined
          ? { kind: 'refused' as const, reason: `${source}/${rest} is missing or not a media playlist` }
          : splicePlaylist({
              healthy: { encoder: source, text: healthy.body, snapshot },
              failed: { encoder, snapshot: failed, spliced: continues },
              rest,
            });
      if (result.kind === 'spliced') {
        // The segments and the staged splice at once (viewers are denied the staging prefix);
        // the splice reaches viewers only once every segment it names is in the folder.
        const staged = spliceStagingKey(settings.statePrefix, key);
        const headers = { contentType: PLAYLIST_CONTENT_TYPE, cacheControl: SPLICE_CACHE_CONTROL };
        const [missing] = await Promise.all([
          copySegments(source, encoder, result.copies),
          store.put(bucket, staged, result.text, headers),
        ]);
        if (missing === undefined) {
          const over = current === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: current.etag };
          const copied = await store.copy(bucket, staged, key, { ...headers, ...over });
          if (copied === 'precondition-failed') return 'written-meanwhile';
          if (copied === 'source-missing')
            throw new Error(`${staged} vanished between its PUT and its copy to ${key}`);
          return { kind: 'spliced' };
        }
        result = { kind: 'refused', reason: `${source}/${missing}, listed in its playlist, is missing` };
      }
      // A refresh leaves the encoder's own version as it is; a splice that cannot move on would
      // go stale under its viewers, so it is deleted (the 404 and steering failover).
      if (refresh && !continues)
        return { kind: 'left', reason: `${key}: not spliced again: ${result.reason}` };
      await store.delete(bucket, key);
      return { kind: 'deleted', notSpliced: `${key}: ${result.reason}` };
    };
    /** Records what became of `key`, in the order of the keys (the renditions run at once). */
    const record = (encoder: string, key: string, outcome: Replaced, refresh = false) => {
      if (outcome.kind === 'spliced') {
        if (refresh) refreshed.push(key);
        else add(spliced, encoder, key);
      } else if (outcome.kind === 'left') skipped.push(outcome.reason);
      else {
        add(deleted, encoder, key);
        if (outcome.notSpliced !== undefined) notSpliced.push(outcome.notSpliced);
      }
    };

    for (const [i, encoder] of input.withdraw.entries()) {
      if (!mayWithdraw(state, encoder, settings.encoders)) {
        skipped.push(`${encoder}: not withdrawn now, or no other encoder is healthy`);
        continue;
      }
      const listed = listings[i] ?? [];
      const staleOnly = input.staleOnly?.includes(encoder) === true;
      const keys = stalePlaylists(state, encoder, listed, staleOnly, settings.splicing).map((o) => o.key);
      const outcomes = await Promise.all(keys.map((key) => replace(encoder, key)));
      for (const [k, key] of keys.entries()) record(encoder, key, outcomes[k] as Replaced);
      done.push(encoder);
    }
    // A new version of a rendition while an encoder is withdrawn: splice that encoder's again
    // (functions/converge.ts, `spliceTargets`; checked again against the state read here).
    for (const { encoder, rendition } of input.splice ?? []) {
      if (input.withdraw.includes(encoder)) continue; // replaced above, from the same version or newer
      if (!settings.splicing || !mayWithdraw(state, encoder, settings.encoders)) {
        skipped.push(`${encoder}/${rendition}: not spliced (withdrawn no more)`);
        continue;
      }
      const key = `${encoderPrefix(channel, encoder)}${rendition}`;
      record(encoder, key, await replace(encoder, key, true), true);
    }
    for (const encoder of new Set([...Object.keys(deleted), ...Object.keys(spliced)]))
      log.info('withdrew media playlists', {
        channel,
        encoder,
        deleted: deleted[encoder]?.length ?? 0,
        spliced: spliced[encoder]?.length ?? 0,
      });
    if (notSpliced.length > 0) log.warn('deleted instead of spliced', { channel, reasons: notSpliced });
    // Done: the events after this one need not withdraw again (functions/converge.ts).
    if (done.length > 0)
      await updateChannelState(records, channel, (current) => ({
        state: done.reduce(
          (next, e) => (mayWithdraw(next, e, settings.encoders) ? confirmWithdrawal(next, e) : next),
          current,
        ),
        result: undefined,
      }));
    return { deleted, spliced, refreshed, notSpliced, skipped };
  };
}

export const handler = createWithdrawPlaylists(createDeps({ functionName: 'WithdrawStalePlaylists' }));
