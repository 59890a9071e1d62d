/**
 * ValidatePlaylist: reads the playlist an event names, validates it (RFC 8216; the live-update
 * rules against the last accepted version), and records it as accepted. Duplicate and
 * out-of-order events, and keys outside encoder folders, end in `action: 'skip'`.
 */

import { type AcceptedRecord, acceptedRecord, observeAccepted } from '../accepted';
import { reservedFolders } from '../config';
import {
  classifyPlaylist,
  isAcceptable,
  LAST_MODIFIED_RESOLUTION_MS,
  type MediaSnapshot,
  PlaylistInvalidError,
  type PlaylistObservation,
  splicedFrom,
  type Violation,
  validateMasterPlaylist,
  validateMediaPlaylist,
} from '../hls';
import { acceptedKey, channelNameProblem, keyCandidates, parseEncoderKey } from '../keys';
import { afterRead } from '../record-store';
import type { StoredObject } from '../store';
import { createDeps, type HandlerDeps } from './deps';

export interface ValidateInput {
  readonly bucket: string;
  /** As the event gives it: may be URL-encoded. */
  readonly key: string;
  readonly object?: { readonly etag?: string; readonly sequencer?: string; readonly size?: number };
  readonly eventTime?: string;
}

export type ValidateOutput =
  | { readonly action: 'skip'; readonly key: string; readonly reason: string }
  | {
      readonly action: 'process';
      readonly bucket: string;
      readonly key: string;
      readonly channel: string;
      readonly encoder: string;
      /** Path inside the encoder folder; for media playlists, the rendition. */
      readonly rendition: string;
      readonly kind: 'master' | 'media';
      readonly etag: string;
      /** When the version was read from the bucket, at the latest (epoch ms): it is at least as new as any write before. */
      readonly readAt: number;
      readonly sequencer?: string;
      readonly playlist?: PlaylistObservation;
      /**
       * The previous accepted version of this media playlist is older than the stall threshold,
       * or this version is processed later than that after it was written: the encoder, or the
       * workflow and its storage, was away. Freshness then judges playlists
       * written before this look from now (functions/hls/freshness.ts, `watchingSince`).
       */
      readonly resumed?: true;
      readonly warnings: readonly Violation[];
    };

const MAX_ATTEMPTS = 6;

export function createValidatePlaylist(deps: HandlerDeps) {
  const { store, records, settings, log, now } = deps;
  return async (input: ValidateInput): Promise<ValidateOutput> => {
    // When this version was first seen (its record's seenAt): before reading it, so the other
    // encoder's lag grace does not also count this invocation's reads.
    const startedAt = now();
    let found:
      | { key: string; parsed: NonNullable<ReturnType<typeof parseEncoderKey>>; object: StoredObject }
      | undefined;
    let underEncoder = false;
    for (const key of keyCandidates(input.key)) {
      const parsed = parseEncoderKey(key, settings.encoders);
      if (parsed === undefined) continue;
      underEncoder = true;
      const object = await store.get(input.bucket, key);
      if (object !== undefined) {
        found = { key, parsed, object };
        break;
      }
    }
    if (!underEncoder)
      return {
        action: 'skip',
        key: input.key,
        reason: `not under an encoder folder (${settings.encoders.join(', ')})`,
      };
    if (found === undefined)
      return {
        action: 'skip',
        key: input.key,
        reason: 'the object no longer exists (deleted or withdrawn after the event)',
      };

    const { key, parsed, object } = found;
    // A channel named like a reserved folder (published mode's): the watchdog would never watch it.
    const reserved = channelNameProblem(parsed.channel, reservedFolders(settings));
    if (reserved !== undefined)
      return { action: 'skip', key, reason: `channel "${parsed.channel}" ${reserved}` };
    // The workflow's own splice (a withdrawn encoder's playlist kept live with the other encoder's
    // segments, written by copy): this event's upload was replaced before it was read, or the event
    // came again. The encoder's next upload is its own again.
    const splicer = splicedFrom(object.body);
    if (splicer !== undefined)
      return {
        action: 'skip',
        key,
        reason: `replaced by a splice of ${splicer}'s playlist (the encoder is withdrawn); its next upload is read`,
      };
    // The hosting policy applies to media playlists too: segment, key and map URIs reach viewers.
    const limits = { maxPlaylistChars: settings.maxPlaylistChars, allowedHosts: settings.allowedHosts };
    const base = {
      action: 'process' as const,
      bucket: input.bucket,
      key,
      channel: parsed.channel,
      encoder: parsed.encoder,
      rendition: parsed.rest,
      etag: object.etag,
      readAt: startedAt,
      ...(input.object?.sequencer === undefined ? {} : { sequencer: input.object.sequencer }),
    };

    if (classifyPlaylist(object.body) === 'master') {
      const result = validateMasterPlaylist(object.body, limits);
      if (!isAcceptable(result)) throw new PlaylistInvalidError([...result.errors, ...result.policy], key);
      return { ...base, kind: 'master', warnings: result.warnings };
    }

    const recordKey = acceptedKey(parsed.channel, parsed.encoder, parsed.rest);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = await records.get(recordKey);
      const accepted = stored === undefined ? undefined : (JSON.parse(stored.body) as AcceptedRecord);
      if (accepted?.etag === object.etag) {
        return {
          action: 'skip',
          key,
          reason: 'this version is already accepted (duplicate or out-of-order event)',
        };
      }
      let result = validateMediaPlaylist(object.body, accepted?.snapshot, limits);
      const previous = accepted?.snapshot;
      if (
        !isAcceptable(result) &&
        previous !== undefined &&
        result.snapshot !== undefined &&
        isNewGeneration(previous, accepted, object, settings.stallAfterTargetDurations)
      ) {
        // The encoder restarted (after ENDLIST, or after a long silence): its numbering may start over.
        log.warn('new generation of a media playlist: live-update rules not applied against the old one', {
          key,
        });
        result = validateMediaPlaylist(object.body, undefined, limits);
      }
      if (!isAcceptable(result) || result.snapshot === undefined) {
        // Concurrent executions: a newer version may have been written and accepted after this one
        // was read, so this version is checked against its successor. Not an invalid playlist.
        if (accepted !== undefined && (await store.get(input.bucket, key))?.etag !== object.etag)
          return {
            action: 'skip',
            key,
            reason: 'superseded while validating (a newer version was accepted)',
          };
        throw new PlaylistInvalidError([...result.errors, ...result.policy], key);
      }
      const record = acceptedRecord(
        accepted,
        { etag: object.etag, lastModified: object.lastModified, snapshot: result.snapshot },
        startedAt,
      );
      const written = await records.put(recordKey, JSON.stringify(record), afterRead(stored));
      if (written === 'precondition-failed') continue; // a concurrent execution accepted a version: compare again
      const threshold = settings.stallAfterTargetDurations * result.snapshot.targetDuration * 1000;
      // S3's LastModified has whole seconds: stamps d apart were written more than d − 1 s apart,
      // and maybe less than d. At TD 1 s, two uploads 1.0 s apart can be stamped 2 s apart, and
      // a healthy encoder would look back from a silence.
      const resumed =
        // The encoder was away: surely silent for the threshold between two accepted versions.
        (accepted !== undefined &&
          object.lastModified - accepted.lastModified - LAST_MODIFIED_RESOLUTION_MS >= threshold) ||
        // The workflow was away: this version is processed a stall threshold after it was written
        // (an upload replayed after a restart, an event delivered late).
        startedAt - object.lastModified > threshold + LAST_MODIFIED_RESOLUTION_MS;
      return {
        ...base,
        kind: 'media',
        warnings: result.warnings,
        playlist: observeAccepted(record),
        ...(resumed ? { resumed: true as const } : {}),
      };
    }
    return {
      action: 'skip',
      key,
      reason: 'concurrent executions kept accepting newer versions; the newest one decides',
    };
  };
}

/**
 * A playlist after ENDLIST, or after a silence longer than the stall threshold, starts a new
 * generation: the encoder restarted. Its viewers were steered to the other encoder when it was
 * judged stalled, so the rules that protect a player following one window (no shrink below
 * 3 × TD, RFC 8216 §6.2.2) do not apply between the old window and the restarted one.
 */
function isNewGeneration(
  previous: MediaSnapshot,
  accepted: AcceptedRecord | undefined,
  object: StoredObject,
  stallAfterTargetDurations: number,
): boolean {
  if (previous.endlist) return true;
  const silenceMs = object.lastModified - (accepted?.lastModified ?? object.lastModified);
  return silenceMs > stallAfterTargetDurations * previous.targetDuration * 1000;
}

export const handler = createValidatePlaylist(createDeps({ functionName: 'ValidatePlaylist' }));
