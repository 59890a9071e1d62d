/**
 * Published mode over the workflow's handlers (issue 15), on a mocked S3: what is published, how
 * often, and what a lost conditional write does.
 */
import { PlaylistInvalidError, snapshotMediaPlaylist } from '../../../functions/hls';
import { FakeS3 } from '../../support/fake-s3';
import { fixture, mediaPlaylist } from '../../support/playlists';
import { BUCKET, workflow } from '../../support/workflow-driver';

const TD = 2;
const T0 = Date.parse('2026-11-24T10:00:00Z');
const LIVE = 'ch1/live/720p.m3u8';

function setUp() {
  const s3 = new FakeS3();
  const run = workflow(s3, { publishing: 'published' });
  const key = (encoder: string, rest: string) => `ch1/${encoder}/${rest}`;
  const start = async () => {
    for (const encoder of ['primary', 'failover']) {
      s3.write(key(encoder, 'master.m3u8'), fixture('master-simple.m3u8'));
      await run.event(key(encoder, 'master.m3u8'));
    }
  };
  /** Both encoders write segment n of both renditions, then each event is handled. */
  const tickBoth = async (n: number, encoders = ['primary', 'failover']) => {
    s3.now = T0 + n * TD * 1000;
    for (const encoder of encoders)
      for (const rendition of ['720p.m3u8', '360p.m3u8'])
        s3.upload(key(encoder, rendition), mediaPlaylist({ sequence: n - 3, count: 4 }));
    for (const encoder of encoders)
      for (const rendition of ['720p.m3u8', '360p.m3u8']) await run.event(key(encoder, rendition));
  };
  const lastPublished = () => {
    const s = snapshotMediaPlaylist(s3.body(LIVE) ?? '');
    return s === undefined ? undefined : s.mediaSequence + s.segments.length - 1;
  };
  return { s3, run, start, tickBoth, lastPublished };
}

describe('published mode over the handlers', () => {
  it("publishes each segment once, from the preferred encoder, whichever encoder's event comes first", async () => {
    const { s3, start, tickBoth, lastPublished } = setUp();
    await start();
    await tickBoth(10);
    const before = s3.puts.filter((k) => k === LIVE).length;
    for (let n = 11; n <= 13; n++) await tickBoth(n);
    expect(s3.puts.filter((k) => k === LIVE).length - before).toBe(3);
    expect(lastPublished()).toBe(13);
    expect(s3.body(LIVE)).toMatch(/^\.\.\/primary\/seg_13\.ts$/m);
    expect(s3.body('ch1/index.m3u8')).toMatch(/^live\/720p\.m3u8$/m);
    expect(s3.objects.has('ch1/steering.json')).toBe(false);
  });

  it('a publication that loses its conditional write to another execution reads again and publishes on top of it', async () => {
    const { s3, run, start, tickBoth, lastPublished } = setUp();
    await start();
    await tickBoth(10);
    await tickBoth(11);
    // Another execution publishes between this one's read of the published playlist and its write.
    let raced = false;
    s3.afterGet = (key) => {
      if (key !== LIVE || raced) return;
      raced = true;
      s3.write(LIVE, s3.body(LIVE) ?? ''); // the same bytes, a new ETag
    };
    const failuresBefore = s3.preconditionFailures;
    s3.now = T0 + 12 * TD * 1000;
    s3.upload('ch1/primary/720p.m3u8', mediaPlaylist({ sequence: 9, count: 4 }));
    const { health } = await run.event('ch1/primary/720p.m3u8');
    expect(s3.preconditionFailures - failuresBefore).toBe(1);
    expect(health?.publication?.published).toEqual({ [LIVE]: 12 });
    expect(lastPublished()).toBe(12);
  });

  it('an invalid upload is never published: the last accepted version stays', async () => {
    const { s3, run, start, tickBoth, lastPublished } = setUp();
    await start();
    await tickBoth(10);
    await tickBoth(11);
    const published = s3.body(LIVE);
    s3.upload('ch1/primary/720p.m3u8', '#EXTM3U\n#EXTINF:2,\nseg_12.ts\n');
    await expect(run.event('ch1/primary/720p.m3u8')).rejects.toThrow(PlaylistInvalidError);
    // Asked to publish it anyway (a switch, the watchdog's look): the object is not its accepted version.
    const output = await run.handlers.publish({
      bucket: BUCKET,
      channel: 'ch1',
      mergeNeeded: false,
      withdraw: [],
      publish: [{ encoder: 'primary', rendition: '720p.m3u8' }],
    });
    expect(output.published).toEqual({});
    expect(output.skipped).toEqual([
      expect.stringMatching(/is not its accepted version \(a newer or rejected one\)/),
    ]);
    expect(s3.body(LIVE)).toBe(published);
    expect(lastPublished()).toBe(11);
  });

  it('a publication that fails (storage) does not fail the freshness decision: PublishViewerPlaylists publishes the rendition instead', async () => {
    const { s3, run, start, tickBoth, lastPublished } = setUp();
    await start();
    await tickBoth(10);
    await tickBoth(11);
    let failed = false;
    s3.afterGet = (key) => {
      if (key !== LIVE || failed) return;
      failed = true;
      throw new Error('connection reset');
    };
    s3.now = T0 + 12 * TD * 1000;
    s3.upload('ch1/primary/720p.m3u8', mediaPlaylist({ sequence: 9, count: 4 }));
    const { health } = await run.event('ch1/primary/720p.m3u8');
    expect(health?.publication).toBeUndefined();
    expect(health?.channels[0]?.publish).toEqual([{ encoder: 'primary', rendition: '720p.m3u8' }]);
    expect(run.logs).toContain('publishing deferred to PublishViewerPlaylists');
    expect(lastPublished()).toBe(12);
  });

  it('a late execution never switches back: a target whose encoder is no longer the preferred one is skipped', async () => {
    const { s3, run, start, tickBoth } = setUp();
    await start();
    await tickBoth(10);
    await tickBoth(11);
    const published = s3.body(LIVE);
    const output = await run.handlers.publish({
      bucket: BUCKET,
      channel: 'ch1',
      mergeNeeded: false,
      withdraw: [],
      publish: [{ encoder: 'failover', rendition: '720p.m3u8' }],
    });
    expect(output.skipped).toEqual([
      'ch1/live/720p.m3u8: failover is no longer the encoder viewers are served from (primary is)',
    ]);
    expect(s3.body(LIVE)).toBe(published);
  });

  it('an upload in a channel named like the published folder is not processed, saying why (its published folder would be ambiguous)', async () => {
    const { s3, run } = setUp();
    s3.upload('live/primary/720p.m3u8', mediaPlaylist({ sequence: 9, count: 4 }));
    const { playlist } = await run.event('live/primary/720p.m3u8');
    expect(playlist).toMatchObject({
      action: 'skip',
      reason: expect.stringMatching(/channel "live" .*named like the folder "live"/),
    });
  });
});
