/**
 * Accepted records: when a segment was first accepted (`seenAt`, the start of the other encoder's
 * lag grace) survives rewrites of the same segment, and a channel's records read as observations.
 */
import {
  acceptedObservations,
  acceptedRecord,
  readChannelForView,
  withSeenAt,
} from '../../../functions/accepted';
import type { ChannelState } from '../../../functions/channel-state';
import { type MediaSnapshot, validateMediaPlaylist } from '../../../functions/hls';
import { acceptedKey, stateKey } from '../../../functions/keys';
import { FakeDynamoDB } from '../../support/fake-dynamodb';
import { mediaPlaylist } from '../../support/playlists';

function snapshot(sequence: number, count: number, endlist = false): MediaSnapshot {
  return validateMediaPlaylist(mediaPlaylist({ sequence, count, endlist })).snapshot as MediaSnapshot;
}

describe('accepted records', () => {
  it('stamp seenAt when a new last segment is accepted', () => {
    const first = acceptedRecord(
      undefined,
      { etag: 'a', lastModified: 1000, snapshot: snapshot(7, 4) },
      1_234,
    );
    const next = acceptedRecord(first, { etag: 'b', lastModified: 3000, snapshot: snapshot(8, 4) }, 3_210);
    expect([first.seenAt, next.seenAt]).toEqual([1_234, 3_210]);
  });

  it('keep seenAt when a version ends with the same segment (ENDLIST added): the lag grace does not restart', () => {
    const live = acceptedRecord(
      undefined,
      { etag: 'a', lastModified: 1000, snapshot: snapshot(7, 4) },
      1_234,
    );
    const ended = acceptedRecord(
      live,
      { etag: 'b', lastModified: 2000, snapshot: snapshot(7, 4, true) },
      2_500,
    );
    expect(ended.seenAt).toBe(1_234);
  });

  it("read back as each rendition's observation, with seenAt, for the configured encoders only", async () => {
    const records = new FakeDynamoDB();
    const record = acceptedRecord(
      undefined,
      { etag: 'a', lastModified: 1000, snapshot: snapshot(7, 4) },
      1_234,
    );
    records.write(acceptedKey('ch1', 'primary', '720p.m3u8'), JSON.stringify(record));
    records.write(acceptedKey('ch1', 'retired', '720p.m3u8'), JSON.stringify(record));
    records.write(acceptedKey('ch2', 'primary', '720p.m3u8'), JSON.stringify(record));
    const observed = await acceptedObservations(records.store, 'ch1', ['primary', 'failover']);
    expect(observed).toEqual([
      {
        encoder: 'primary',
        rendition: '720p.m3u8',
        playlist: {
          mediaSequence: 7,
          lastSequence: 10,
          targetDuration: 2,
          endlist: false,
          lastModified: 1000,
          seenAt: 1_234,
        },
      },
    ]);
  });

  it("give a playlist read from the bucket the record's seenAt only when the record is that version", () => {
    const observation = (lastSequence: number, seenAt?: number) => ({
      encoder: 'failover',
      rendition: '720p.m3u8',
      playlist: {
        mediaSequence: 7,
        lastSequence,
        targetDuration: 2,
        endlist: false,
        lastModified: 1000,
        ...(seenAt === undefined ? {} : { seenAt }),
      },
    });
    expect(withSeenAt(observation(10), [observation(10, 1_234)]).playlist.seenAt).toBe(1_234);
    expect(withSeenAt(observation(11), [observation(10, 1_234)]).playlist.seenAt).toBeUndefined();
  });

  it('show a rendition at its latest accepted version, also one written in the same second as the state (LastModified has whole seconds)', async () => {
    const records = new FakeDynamoDB();
    const rendition = {
      mediaSequence: 9,
      lastSequence: 12,
      targetDuration: 2,
      endlist: false,
      lastModified: 36_000,
      status: 'healthy' as const,
      reason: 'fresh',
    };
    const state: ChannelState = {
      version: 1,
      channel: 'ch1',
      masters: {},
      health: {
        version: 1,
        preferred: 'primary',
        encoders: {
          primary: {
            status: 'healthy',
            since: 0,
            reason: 'fresh',
            freshStreak: 0,
            renditions: { '720p.m3u8': rendition, '360p.m3u8': rendition },
          },
        },
        withdrawn: [],
        channelDown: false,
        ended: false,
        updatedAt: 36_500,
      },
    };
    records.write(stateKey('ch1'), JSON.stringify(state));
    const accepted = (sequence: number, lastModified: number) =>
      JSON.stringify(
        acceptedRecord(undefined, { etag: 'e', lastModified, snapshot: snapshot(sequence, 4) }, 0),
      );
    records.write(acceptedKey('ch1', 'primary', '720p.m3u8'), accepted(10, 36_000)); // segment 13, same second
    records.write(acceptedKey('ch1', 'primary', '360p.m3u8'), accepted(8, 37_000)); // an older version
    const view = await readChannelForView(records.store, 'ch1');
    const renditions = view.health?.encoders.primary?.renditions;
    expect([renditions?.['720p.m3u8']?.lastSequence, renditions?.['360p.m3u8']?.lastSequence]).toEqual([
      13, 12,
    ]);
  });
});
