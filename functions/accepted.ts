/**
 * The last accepted version of each encoder playlist (one record each, written by
 * ValidatePlaylist): what the live-update rules compare the next version with, and each
 * rendition's latest observation for the freshness assessment. One query reads a channel's.
 */
import { type ChannelState, readChannelState } from './channel-state';
import {
  isNewer,
  lastSequenceOf,
  type MediaSnapshot,
  observeSnapshot,
  type PlaylistObservation,
  type RenditionObservation,
} from './hls';
import { acceptedGroup, acceptedKey, parseAcceptedName } from './keys';
import type { RecordStore } from './record-store';

export interface AcceptedRecord {
  readonly etag: string;
  readonly lastModified: number;
  /** When a version ending with this last segment was first accepted (epoch ms). */
  readonly seenAt?: number;
  readonly snapshot: MediaSnapshot;
}

/** The last accepted version of one encoder playlist, if any. */
export async function readAcceptedRecord(
  records: RecordStore,
  channel: string,
  encoder: string,
  rest: string,
): Promise<AcceptedRecord | undefined> {
  const stored = await records.get(acceptedKey(channel, encoder, rest));
  return stored === undefined ? undefined : (JSON.parse(stored.body) as AcceptedRecord);
}

/** What freshness needs of an accepted record. */
export function observeAccepted(record: AcceptedRecord): PlaylistObservation {
  const observed = observeSnapshot(record.snapshot, record.lastModified);
  return record.seenAt === undefined ? observed : { ...observed, seenAt: record.seenAt };
}

/**
 * The record to keep for a version accepted at `now`: `seenAt` carries over from the previous
 * version when both end with the same segment (an ENDLIST added, a rewrite), else it is `now`.
 */
export function acceptedRecord(
  previous: AcceptedRecord | undefined,
  next: Omit<AcceptedRecord, 'seenAt'>,
  now: number,
): AcceptedRecord {
  const same =
    previous?.seenAt !== undefined && lastSequenceOf(previous.snapshot) === lastSequenceOf(next.snapshot);
  return { ...next, seenAt: same ? (previous?.seenAt as number) : now };
}

/** The latest accepted version of every media playlist of the channel's encoders. */
export async function acceptedObservations(
  records: RecordStore,
  channel: string,
  encoders: readonly string[],
): Promise<RenditionObservation[]> {
  const observations: RenditionObservation[] = [];
  for (const [name, record] of await records.query(acceptedGroup(channel))) {
    const key = parseAcceptedName(name);
    if (key === undefined || !encoders.includes(key.encoder)) continue;
    const accepted = JSON.parse(record.body) as AcceptedRecord;
    observations.push({ encoder: key.encoder, rendition: key.rest, playlist: observeAccepted(accepted) });
  }
  return observations;
}

/**
 * `read` (a playlist read from the bucket) with the `seenAt` of the accepted record of the same
 * version, when the record is that version.
 */
export function withSeenAt(
  read: RenditionObservation,
  accepted: readonly RenditionObservation[],
): RenditionObservation {
  const record = accepted.find((a) => a.encoder === read.encoder && a.rendition === read.rendition);
  const seenAt = record?.playlist.seenAt;
  return seenAt !== undefined && record?.playlist.lastSequence === read.playlist.lastSequence
    ? { ...read, playlist: { ...read.playlist, seenAt } }
    : read;
}

/**
 * The channel's state as people are shown it (status page, `status`): each rendition with its
 * latest accepted version, which the stored state holds only as of its last decision.
 */
export async function readChannelForView(records: RecordStore, channel: string): Promise<ChannelState> {
  const { state } = await readChannelState(records, channel);
  const health = state.health;
  if (health === undefined) return state;
  const latest = await acceptedObservations(records, channel, Object.keys(health.encoders));
  const encoders = Object.fromEntries(
    Object.entries(health.encoders).map(([encoder, h]) => {
      const renditions = Object.fromEntries(
        Object.entries(h.renditions).map(([name, r]) => {
          const seen = latest.find((o) => o.encoder === encoder && o.rendition === name)?.playlist;
          return [name, seen !== undefined && isNewer(seen, r) ? { ...r, ...seen } : r];
        }),
      );
      return [encoder, { ...h, renditions }];
    }),
  );
  return { ...state, health: { ...health, encoders } };
}
