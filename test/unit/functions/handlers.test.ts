import { parseSettings } from '../../../functions/config';
import { WITHDRAWAL_OWNER_GRACE_MS } from '../../../functions/converge';
import { PlaylistInvalidError, StateContentionError } from '../../../functions/errors';
import type { ChannelActions } from '../../../functions/handlers/check-freshness';
import { createDeps } from '../../../functions/handlers/deps';
import type { ValidateOutput } from '../../../functions/handlers/validate-playlist';
import { createWatchdog } from '../../../functions/handlers/watchdog';
import { splicedFrom } from '../../../functions/hls';
import { stateKey } from '../../../functions/keys';
import { toEmf } from '../../../functions/metrics';
import { ALERT_RESEND_AFTER_MS } from '../../../functions/outbox';
import { keyText } from '../../support/fake-dynamodb';
import { FakeS3 } from '../../support/fake-s3';
import { fixture, mediaPlaylist } from '../../support/playlists';
import { BUCKET, workflow } from '../../support/workflow-driver';

const MASTER = fixture('master-simple.m3u8'); // variants 720p.m3u8 and 360p.m3u8
const TD = 2;

/** Both encoders upload segment n of every rendition (and their masters once) at n × TD seconds. */
function setUp(channel = 'ch1', settings: Record<string, unknown> = {}) {
  const s3 = new FakeS3();
  const run = workflow(s3, settings);
  const key = (encoder: string, rest: string) => `${channel}/${encoder}/${rest}`;
  const upload = async (encoder: string, n: number) => {
    const results = [];
    for (const rendition of ['720p.m3u8', '360p.m3u8']) {
      s3.upload(key(encoder, rendition), mediaPlaylist({ sequence: n - 3, count: 4 }));
      results.push(await run.event(key(encoder, rendition)));
    }
    return results;
  };
  const start = async () => {
    for (const encoder of ['primary', 'failover']) {
      s3.write(key(encoder, 'master.m3u8'), MASTER);
      await run.event(key(encoder, 'master.m3u8'));
    }
  };
  /** Output-locked encoders: both write segment n at once, then the events are handled. */
  const tickBoth = async (n: number) => {
    s3.now = Date.parse('2026-11-24T10:00:00Z') + n * TD * 1000;
    const results = [];
    for (const encoder of ['primary', 'failover'])
      for (const rendition of ['720p.m3u8', '360p.m3u8'])
        s3.upload(key(encoder, rendition), mediaPlaylist({ sequence: n - 3, count: 4 }));
    for (const encoder of ['primary', 'failover'])
      for (const rendition of ['720p.m3u8', '360p.m3u8'])
        results.push(await run.event(key(encoder, rendition)));
    return results;
  };
  /** Both encoders write segments 10–12, then only the failover writes `from`–`to`: the primary stalls. */
  const primaryStops = async (from = 13, to = 18) => {
    for (let n = 10; n <= 12; n++) await tickBoth(n);
    const results = [];
    for (let n = from; n <= to; n++) {
      s3.now = Date.parse('2026-11-24T10:00:00Z') + n * TD * 1000;
      results.push(...(await upload('failover', n)));
    }
    return results;
  };
  /** One encoder writes segment n of a rendition: the primary restarted at 19 (its window grows from there). */
  const restartedWrite = (encoder: string, rendition: string, n: number) => {
    const first = encoder === 'primary' ? Math.max(19, n - 3) : n - 3; // a window of 4 once it is full
    s3.upload(key(encoder, rendition), mediaPlaylist({ sequence: first, count: n - first + 1 }));
  };
  /** The primary, restarted at segment 19, and the failover write segment n. */
  const restartedPrimaryAndFailoverWrite = (n: number) => {
    s3.now = Date.parse('2026-11-24T10:00:00Z') + n * TD * 1000;
    for (const rendition of ['720p.m3u8', '360p.m3u8'])
      for (const encoder of ['primary', 'failover']) restartedWrite(encoder, rendition, n);
  };
  return {
    s3,
    run,
    key,
    upload,
    start,
    tickBoth,
    primaryStops,
    restartedWrite,
    restartedPrimaryAndFailoverWrite,
    channel,
  };
}

/** Splicing on (functions/hls/splice.ts; the default, named where a test is about it). */
const SPLICING = { splicing: true };

const alertsOf = (results: { health?: { alerts: readonly { subject: string }[] } }[]) =>
  results.flatMap((r) => r.health?.alerts ?? []).map((a) => a.subject);

describe('workflow handlers over S3 (aws-sdk-client-mock)', () => {
  it('healthy pair: writes index.m3u8 and steering.json with live Content-Type and Cache-Control', async () => {
    const { s3, start, tickBoth } = setUp();
    await start();
    for (let n = 10; n < 14; n++) await tickBoth(n);
    const index = s3.objects.get('ch1/index.m3u8');
    expect(index?.contentType).toBe('application/vnd.apple.mpegurl');
    expect(index?.cacheControl).toBe('max-age=1');
    expect(index?.body).toContain('#EXT-X-CONTENT-STEERING:SERVER-URI="steering.json",PATHWAY-ID="primary"');
    expect(index?.body).toContain('\nprimary/720p.m3u8\n');
    expect(index?.body).toContain('\nfailover/360p.m3u8\n');
    expect(s3.objects.get('ch1/steering.json')).toMatchObject({
      body: '{"VERSION":1,"TTL":2,"PATHWAY-PRIORITY":["primary","failover"]}\n',
      contentType: 'application/json',
      cacheControl: 'max-age=2',
    });
  });

  it('a routine upload writes only its accepted record: the channel state is written when a decision changes, so the executions of one segment do not race for it', async () => {
    const { run, start, tickBoth } = setUp();
    await start();
    for (let n = 10; n < 13; n++) await tickBoth(n);
    run.records.puts = [];
    run.records.conditionFailures = 0;
    for (let n = 13; n < 20; n++) await tickBoth(n);
    expect(run.records.puts.every((key) => key.startsWith('accepted/'))).toBe(true);
    expect(run.records.puts).toHaveLength(7 * 4);
    expect(run.records.conditionFailures).toBe(0);
  });

  it('an encoder whose media playlists land before its master is waited for, not merged as a ladder mismatch', async () => {
    const { s3, run, key, tickBoth } = setUp();
    s3.write(key('primary', 'master.m3u8'), MASTER);
    await run.event(key('primary', 'master.m3u8'));
    // The failover's segments and media playlists are there; its master is still on its way
    // (ffmpeg writes it last), so a master synthesized from its segments would not match.
    for (let n = 7; n <= 10; n++) s3.write(key('failover', `seg_${n}.ts`), 'x'.repeat(250_000));
    await tickBoth(10);
    const merged = await run.handlers.merge({
      bucket: BUCKET,
      channel: 'ch1',
      mergeNeeded: true,
      withdraw: [],
    });
    expect(merged.warnings).toEqual(['failover has media playlists but no master yet; index unchanged']);
    s3.write(key('failover', 'master.m3u8'), MASTER);
    await run.event(key('failover', 'master.m3u8'));
    expect(s3.body('ch1/index.m3u8')).toContain('\nfailover/720p.m3u8\n');
  });

  it('encoders without masters: a rendition that appears later is merged into the index by its own events', async () => {
    const { s3, run, key } = setUp();
    for (const encoder of ['primary', 'failover'])
      for (let n = 7; n <= 10; n++) s3.write(key(encoder, `seg_${n}.ts`), 'x'.repeat(250_000));
    const playlist = mediaPlaylist({ sequence: 7, count: 4 });
    const write = async (rendition: string) => {
      for (const encoder of ['primary', 'failover']) {
        s3.write(key(encoder, rendition), playlist);
        await run.event(key(encoder, rendition));
      }
    };
    await write('720p.m3u8');
    expect(s3.body('ch1/index.m3u8')).not.toContain('360p.m3u8');
    await write('360p.m3u8');
    expect(s3.body('ch1/index.m3u8')).toContain('\nprimary/360p.m3u8\n');
    expect(s3.body('ch1/index.m3u8')).toContain('\nfailover/360p.m3u8\n');
  });

  it('two encoders without masters whose renditions are still arriving: index unchanged until both have them', async () => {
    const { s3, run, key } = setUp();
    for (const encoder of ['primary', 'failover'])
      for (let n = 7; n <= 10; n++) s3.write(key(encoder, `seg_${n}.ts`), 'x'.repeat(250_000));
    const playlist = mediaPlaylist({ sequence: 7, count: 4 });
    // The failover has written both renditions, the primary only one so far.
    for (const [encoder, rendition] of [
      ['failover', '720p.m3u8'],
      ['failover', '360p.m3u8'],
      ['primary', '720p.m3u8'],
    ] as const) {
      s3.write(key(encoder, rendition), playlist);
      await run.event(key(encoder, rendition));
    }
    const before = s3.body('ch1/index.m3u8'); // built while only the failover had playlists
    const early = await run.handlers.merge({
      bucket: BUCKET,
      channel: 'ch1',
      mergeNeeded: true,
      withdraw: [],
    });
    expect(early.warnings).toEqual([
      expect.stringMatching(/^primary and failover without a master: their media playlists differ so far/),
    ]);
    expect(s3.body('ch1/index.m3u8')).toBe(before);
    s3.write(key('primary', '360p.m3u8'), playlist);
    await run.event(key('primary', '360p.m3u8'));
    const complete = await run.handlers.merge({
      bucket: BUCKET,
      channel: 'ch1',
      mergeNeeded: true,
      withdraw: [],
    });
    expect(complete.warnings).toEqual([]);
    expect(s3.body('ch1/index.m3u8')).toContain('\nprimary/360p.m3u8\n');
  });

  it('does not rewrite an unchanged index', async () => {
    const { s3, start, tickBoth } = setUp();
    await start();
    await tickBoth(10);
    s3.puts = [];
    for (let n = 11; n < 15; n++) await tickBoth(n);
    expect(s3.puts.filter((k) => k === 'ch1/index.m3u8' || k === 'ch1/steering.json')).toEqual([]);
  });

  it('handles URL-encoded keys with spaces and non-ASCII characters', async () => {
    const s3 = new FakeS3();
    const run = workflow(s3);
    s3.write('live ch/primary/720p ü/index.m3u8', mediaPlaylist());
    const { playlist } = await run.event('live+ch/primary/720p+%C3%BC/index.m3u8');
    expect(playlist).toMatchObject({
      action: 'process',
      channel: 'live ch',
      encoder: 'primary',
      rendition: '720p ü/index.m3u8',
    });
  });

  it('skips keys outside encoder folders and objects already gone', async () => {
    const s3 = new FakeS3();
    const run = workflow(s3);
    expect((await run.event('ch1/other/x.m3u8')).playlist).toMatchObject({
      action: 'skip',
      reason: expect.stringMatching(/not under an encoder folder/),
    });
    expect((await run.event('ch1/primary/gone.m3u8')).playlist).toMatchObject({
      action: 'skip',
      reason: expect.stringMatching(/no longer exists/),
    });
  });

  it('works with the counterpart missing: the other encoder stays unknown, nothing alerts', async () => {
    const s3 = new FakeS3();
    const run = workflow(s3);
    for (let n = 100; n < 104; n++) s3.write(`ch1/primary/seg_${n}.ts`, 'x'.repeat(250_000));
    s3.write('ch1/primary/720p.m3u8', mediaPlaylist());
    const { health } = await run.event('ch1/primary/720p.m3u8');
    expect(health?.alerts).toEqual([]);
    expect(health?.channels[0]).toMatchObject({ channel: 'ch1', mergeNeeded: true });
    // No master: the index is synthesized, BANDWIDTH from the segment sizes (250 kB per 2 s).
    expect(s3.body('ch1/index.m3u8')).toContain(
      '#EXT-X-STREAM-INF:BANDWIDTH=1000000,AVERAGE-BANDWIDTH=1000000,PATHWAY-ID="primary"\nprimary/720p.m3u8\n',
    );
  });

  it('changes nothing for a duplicate or out-of-order event', async () => {
    const { run, start, tickBoth } = setUp();
    await start();
    await tickBoth(10);
    await tickBoth(11);
    const state = run.records.body(stateKey('ch1'));
    expect(state).toContain('"channel":"ch1"');
    // The event for n=10 arrives again (duplicate), and late (the object already holds n=11).
    const again = await run.event('ch1/primary/720p.m3u8');
    expect(again.playlist).toMatchObject({
      action: 'skip',
      reason: expect.stringMatching(/already accepted/),
    });
    expect(run.records.body(stateKey('ch1'))).toBe(state);
  });

  it('a rendition whose events are late is read before it is called stalled: no false STALLED of a live encoder', async () => {
    const { s3, run, key, start, tickBoth } = setUp();
    await start();
    for (let n = 10; n <= 12; n++) await tickBoth(n);
    const results = [];
    // Both encoders go on writing every rendition; the 360p events are late (not yet delivered), and
    // each 720p event reads only the other encoder's 720p.
    for (let n = 13; n <= 16; n++) {
      s3.now = Date.parse('2026-11-24T10:00:00Z') + n * TD * 1000;
      for (const encoder of ['primary', 'failover'])
        for (const rendition of ['720p.m3u8', '360p.m3u8'])
          s3.write(key(encoder, rendition), mediaPlaylist({ sequence: n - 3, count: 4 }));
      for (const encoder of ['primary', 'failover']) results.push(await run.event(key(encoder, '720p.m3u8')));
    }
    expect(alertsOf(results)).toEqual([]);
    expect(run.records.body(stateKey('ch1'))).toContain('"status":"healthy"');
    expect(run.records.body(stateKey('ch1'))).not.toContain('"status":"stalled"');
  });

  it('an execution slow after its read is no evidence its encoder is behind: the playlist is read again before a stall is declared', async () => {
    const { s3, run, key, start, tickBoth } = setUp();
    await start();
    for (let n = 10; n <= 11; n++) await tickBoth(n);
    const write = (n: number) => {
      s3.now = Date.parse('2026-11-24T10:00:00Z') + n * TD * 1000;
      for (const encoder of ['primary', 'failover'])
        for (const rendition of ['720p.m3u8', '360p.m3u8'])
          s3.write(key(encoder, rendition), mediaPlaylist({ sequence: n - 3, count: 4 }));
    };
    write(12);
    for (const k of [key('primary', '720p.m3u8'), key('failover', '720p.m3u8'), key('failover', '360p.m3u8')])
      await run.event(k);
    // The primary's 360p execution reads segment 12's version, then starts slowly (a cold start):
    // meanwhile both encoders write segment 13, the failover's executions accept it, and more
    // than the lag grace passes before the slow execution looks at freshness.
    s3.afterGet = async (read) => {
      if (read !== key('primary', '360p.m3u8')) return;
      s3.afterGet = undefined;
      write(13);
      for (const rendition of ['720p.m3u8', '360p.m3u8']) await run.event(key('failover', rendition));
      s3.now += TD * 1000;
    };
    const slow = await run.event(key('primary', '360p.m3u8'));
    expect(slow.playlist).toMatchObject({ action: 'process', playlist: { lastSequence: 12 } });
    expect(alertsOf([slow])).toEqual([]);
    expect(run.records.body(stateKey('ch1'))).not.toContain('"status":"stalled"');
  });

  it('uploads a target duration apart are no silence, though S3 stamps them whole seconds apart: a 1 s encoder is not taken as back from a silence', async () => {
    const { s3, run, key, start } = setUp();
    await start();
    const upload = async (n: number, at: number) => {
      s3.now = Date.parse('2026-11-24T10:00:00Z') + at;
      s3.write(
        key('primary', '720p.m3u8'),
        mediaPlaylist({ sequence: n - 3, count: 4, targetDuration: 1, duration: 1 }),
      );
      return (await run.event(key('primary', '720p.m3u8'))).playlist;
    };
    await upload(10, 10_990);
    // 1.02 s later, stamped 2 s later: more than the stall threshold (1.5 × TD) by the stamps alone.
    const next = await upload(11, 12_010);
    expect(next).toMatchObject({ action: 'process', playlist: { lastSequence: 11 } });
    expect(next).not.toHaveProperty('resumed');
    // 2.99 s later (stamped 3 s later), beyond the threshold however the stamps fall: the encoder was away.
    expect(await upload(12, 15_000)).toMatchObject({ action: 'process', resumed: true });
  });

  it('a version overtaken while it was validated is skipped as superseded, not reported invalid', async () => {
    const { s3, run, start, tickBoth, key } = setUp();
    await start();
    await tickBoth(10);
    // The execution for n=11 reads its playlist; meanwhile n=12 is written and accepted.
    s3.write(key('primary', '720p.m3u8'), mediaPlaylist({ sequence: 8, count: 4 }));
    s3.afterGet = async (read) => {
      if (read !== key('primary', '720p.m3u8')) return;
      s3.afterGet = undefined;
      s3.write(key('primary', '720p.m3u8'), mediaPlaylist({ sequence: 9, count: 4 }));
      expect((await run.event(key('primary', '720p.m3u8'))).playlist.action).toBe('process');
    };
    const late = await run.event(key('primary', '720p.m3u8'));
    expect(late.playlist).toMatchObject({ action: 'skip', reason: expect.stringMatching(/superseded/) });
  });

  it('rejects an invalid playlist with PlaylistInvalid and every violation, and records nothing', async () => {
    const s3 = new FakeS3();
    const run = workflow(s3);
    s3.write('ch1/primary/720p.m3u8', '#EXTM3U\n#EXTINF:9,\na.ts\n');
    const failure = run.handlers.validate({ bucket: BUCKET, key: 'ch1/primary/720p.m3u8' });
    await expect(failure).rejects.toBeInstanceOf(PlaylistInvalidError);
    await expect(failure).rejects.toMatchObject({
      name: 'PlaylistInvalid',
      violations: [expect.objectContaining({ rule: 'targetduration-missing' })],
    });
    expect([...s3.objects.keys()].filter((k) => k.startsWith('_hls-failover/'))).toEqual([]);
  });

  it('rejects a live update that breaks rfc8216bis §6.2.2 against the accepted version', async () => {
    const s3 = new FakeS3();
    const run = workflow(s3);
    s3.write('ch1/primary/720p.m3u8', mediaPlaylist({ sequence: 100 }));
    await run.event('ch1/primary/720p.m3u8');
    s3.write('ch1/primary/720p.m3u8', mediaPlaylist({ sequence: 99 }));
    await expect(
      run.handlers.validate({ bucket: BUCKET, key: 'ch1/primary/720p.m3u8' }),
    ).rejects.toMatchObject({
      violations: [expect.objectContaining({ rule: 'live-media-sequence-decreased' })],
    });
  });

  it('an encoder restarted after a stall publishes a short window: a new generation, not a §6.2.2 shrink', async () => {
    const s3 = new FakeS3();
    const run = workflow(s3);
    const key = 'ch1/primary/720p.m3u8';
    s3.now = Date.parse('2026-11-24T10:00:00Z');
    s3.write(key, mediaPlaylist({ sequence: 100, count: 4 }));
    await run.event(key);
    // Within the stall threshold (1.5 × TD): the same generation, so the shrink is refused.
    s3.now += 2_000;
    s3.write(key, mediaPlaylist({ sequence: 105, count: 1 }));
    await expect(run.handlers.validate({ bucket: BUCKET, key })).rejects.toMatchObject({
      violations: [expect.objectContaining({ rule: 'live-playlist-too-short' })],
    });
    // Silent longer than the stall threshold (viewers were steered away): a new generation.
    s3.now += 2_000;
    s3.write(key, mediaPlaylist({ sequence: 107, count: 1 }));
    await expect(run.handlers.validate({ bucket: BUCKET, key })).resolves.toMatchObject({
      action: 'process',
    });
  });

  it('primary stalls (splicing off): one STALLED alert, steering and index prefer failover, primary media playlists deleted (master kept)', async () => {
    const { s3, start, primaryStops } = setUp('ch1', { splicing: false });
    await start();
    expect(alertsOf(await primaryStops())).toEqual(['[hls-failover] ch1: primary STALLED']);
    expect(s3.body('ch1/steering.json')).toContain('"PATHWAY-PRIORITY":["failover","primary"]');
    expect(s3.body('ch1/index.m3u8')).toContain('PATHWAY-ID="failover"');
    expect(s3.body('ch1/index.m3u8')?.indexOf('failover/720p.m3u8')).toBeLessThan(
      s3.body('ch1/index.m3u8')?.indexOf('primary/720p.m3u8') ?? 0,
    );
    expect(s3.objects.has('ch1/primary/720p.m3u8')).toBe(false);
    expect(s3.objects.has('ch1/primary/360p.m3u8')).toBe(false);
    expect(s3.objects.has('ch1/primary/master.m3u8')).toBe(true);
  });

  it("primary stalls (splicing on): its media playlists stay live as splices of the failover's, refreshed by each failover upload and written by copy (no execution starts); the master is kept", async () => {
    const { s3, run, start, upload, primaryStops } = setUp('ch1', SPLICING);
    await start();
    expect(alertsOf(await primaryStops())).toEqual(['[hls-failover] ch1: primary STALLED']);
    for (const r of ['720p.m3u8', '360p.m3u8']) {
      const spliced = s3.body(`ch1/primary/${r}`) ?? '';
      expect(splicedFrom(spliced)).toBe('failover');
      // The failover's latest version (segment 18: media sequence 15), each segment under its own
      // name: the ones after the primary's last (12) copied from the failover's folder.
      expect(spliced).toContain('#EXT-X-MEDIA-SEQUENCE:15');
      expect(spliced).toMatch(/^seg_18\.ts$/m);
      expect(s3.objects.get(`ch1/primary/${r}`)?.contentType).toBe('application/vnd.apple.mpegurl');
    }
    expect(s3.copies.filter((k) => k.startsWith('ch1/primary/'))).toEqual(
      expect.arrayContaining([
        'ch1/primary/720p.m3u8',
        'ch1/primary/360p.m3u8',
        ...[13, 14, 15, 16, 17, 18].map((n) => `ch1/primary/seg_${n}.ts`),
      ]),
    );
    expect(s3.objects.get('ch1/primary/seg_18.ts')).toMatchObject({
      body: s3.body('ch1/failover/seg_18.ts'),
      contentType: 'video/mp2t',
    });
    expect(s3.puts.filter((k) => k.startsWith('ch1/primary/'))).toEqual([]);
    expect(s3.objects.has('ch1/primary/master.m3u8')).toBe(true);
    // A splice read back is not the primary's own playlist: the primary stays stalled.
    const replayed = await run.event('ch1/primary/720p.m3u8');
    expect(replayed.playlist).toMatchObject({
      action: 'skip',
      reason: expect.stringMatching(/splice of failover/),
    });
    expect(alertsOf(await upload('failover', 19))).toEqual([]);
  });

  it('the restarted primary: its own uploads are accepted and spliced over until they hold the segment players play (3 behind live); then they are its own again', async () => {
    const { s3, run, start, key, primaryStops, restartedPrimaryAndFailoverWrite } = setUp('ch1', SPLICING);
    await start();
    await primaryStops();
    // The primary restarts at segment 19: its playlists start there and grow by one per TD.
    const served: string[] = [];
    const alerts: string[] = [];
    for (let n = 19; n <= 25; n++) {
      restartedPrimaryAndFailoverWrite(n);
      for (const e of ['primary', 'failover'])
        for (const r of ['720p.m3u8', '360p.m3u8']) alerts.push(...alertsOf([await run.event(key(e, r))]));
      const body = s3.body('ch1/primary/720p.m3u8') ?? '';
      served.push(
        `${n}: ${splicedFrom(body) === undefined ? `own from ${/MEDIA-SEQUENCE:(\d+)/.exec(body)?.[1]}` : 'spliced'}`,
      );
    }
    expect(alerts).toEqual(['[hls-failover] ch1: primary RECOVERED']);
    // Spliced while its playlists start after the segment players play (live edge − 3); its own after.
    expect(served).toEqual([
      '19: spliced',
      '20: spliced',
      '21: spliced',
      '22: spliced',
      '23: own from 20',
      '24: own from 21',
      '25: own from 22',
    ]);
  });

  it("the restarted primary's upload waits for its own execution: the failover's event, handled first, does not splice over a version no execution has read (it would look stalled again)", async () => {
    const { run, start, key, primaryStops, restartedPrimaryAndFailoverWrite } = setUp('ch1', SPLICING);
    await start();
    await primaryStops();
    const alerts: string[] = [];
    const ownSeen: number[] = [];
    for (let n = 19; n <= 25; n++) {
      restartedPrimaryAndFailoverWrite(n);
      // The failover's events first: each splices the primary's rendition again.
      for (const e of ['failover', 'primary'])
        for (const r of ['720p.m3u8', '360p.m3u8']) {
          const result = await run.event(key(e, r));
          alerts.push(...alertsOf([result]));
          if (e === 'primary' && r === '720p.m3u8' && result.playlist.action === 'process') ownSeen.push(n);
        }
    }
    expect(ownSeen).toEqual([19, 20, 21, 22, 23, 24, 25]);
    expect(alerts).toEqual(['[hls-failover] ch1: primary RECOVERED']);
  });

  it("a splice is written only over the version it read: the restarted primary's next upload, landing while a late failover execution splices that rendition, is not spliced over unread (no second STALLED)", async () => {
    const { s3, run, start, key, primaryStops, restartedWrite: write } = setUp('ch1', SPLICING);
    await start();
    await primaryStops();
    const at = (n: number) => Date.parse('2026-11-24T10:00:00Z') + n * TD * 1000;
    const racing = key('primary', '720p.m3u8');
    const alerts: string[] = [];
    const ownSeen: number[] = [];
    let written = 18;
    for (let n = 19; n <= 25; n++) {
      s3.now = at(n);
      if (written < n) write('primary', '720p.m3u8', n);
      write('primary', '360p.m3u8', n);
      for (const r of ['720p.m3u8', '360p.m3u8']) write('failover', r, n);
      const handle = async (encoder: string, rendition: string) => {
        const result = await run.event(key(encoder, rendition));
        alerts.push(...alertsOf([result]));
        if (key(encoder, rendition) === racing && result.playlist.action === 'process') ownSeen.push(n);
      };
      await handle('primary', '720p.m3u8');
      await handle('primary', '360p.m3u8');
      await handle('failover', '360p.m3u8');
      // The failover's 720p execution runs late: the primary uploads segment n + 1 after that
      // execution read its playlist, just before the splice is written.
      s3.beforeWrite = (to) => {
        if (to !== racing) return;
        s3.beforeWrite = undefined;
        s3.now = at(n + 1);
        write('primary', '720p.m3u8', n + 1);
        written = n + 1;
      };
      await handle('failover', '720p.m3u8');
      s3.beforeWrite = undefined;
    }
    // Each upload was read by its own execution (the ones the late splice raced were written in the loop before).
    expect(ownSeen).toEqual([19, 20, 21, 22, 23, 24, 25]);
    expect(written).toBeGreaterThan(19);
    expect(alerts).toEqual(['[hls-failover] ch1: primary RECOVERED']);
  });

  it("the watchdog takes the restarted primary's accepted upload for the splice over it: no second STALLED before failback", async () => {
    const { s3, run, start, key, primaryStops, restartedPrimaryAndFailoverWrite } = setUp('ch1', SPLICING);
    await start();
    await primaryStops();
    const alerts: string[] = [];
    for (let n = 19; n <= 25; n++) {
      restartedPrimaryAndFailoverWrite(n);
      for (const e of ['primary', 'failover'])
        for (const r of ['720p.m3u8', '360p.m3u8']) alerts.push(...alertsOf([await run.event(key(e, r))]));
      // Half a segment later (past the lag grace, 0.3 × TD), the primary's playlists still spliced over.
      s3.now += 0.5 * TD * 1000;
      alerts.push(...(await run.tick()).alerts.map((a) => a.subject));
    }
    expect(alerts).toEqual(['[hls-failover] ch1: primary RECOVERED']);
  });

  it("primary stalls while a segment the failover lists is missing from its folder: the primary's playlists are deleted instead (a splice that cannot move on too), and the reason names the segment", async () => {
    const { s3, run, start, tickBoth, key } = setUp('ch1', SPLICING);
    await start();
    for (let n = 10; n <= 12; n++) await tickBoth(n);
    for (let n = 13; n <= 15; n++) {
      s3.now = Date.parse('2026-11-24T10:00:00Z') + n * TD * 1000;
      for (const r of ['720p.m3u8', '360p.m3u8']) {
        s3.upload(key('failover', r), mediaPlaylist({ sequence: n - 3, count: 4 }));
        s3.objects.delete('ch1/failover/seg_13.ts'); // lost, or removed by a lifecycle rule
        await run.event(key('failover', r));
      }
    }
    expect(s3.objects.has('ch1/primary/720p.m3u8')).toBe(false);
    expect(s3.objects.has('ch1/primary/360p.m3u8')).toBe(false);
    expect(run.logEntries).toContainEqual({
      message: 'deleted instead of spliced',
      fields: {
        channel: 'ch1',
        reasons: ['ch1/primary/720p.m3u8: failover/seg_13.ts, listed in its playlist, is missing'],
      },
    });
    // 360p was spliced from the failover's version before segment 13; its refresh cannot copy it.
    expect(run.logEntries).toContainEqual({
      message: 'deleted instead of spliced',
      fields: {
        channel: 'ch1',
        reasons: ['ch1/primary/360p.m3u8: failover/seg_13.ts, listed in its playlist, is missing'],
      },
    });
  });

  it('primary stalls while the encoders are not output-locked: its playlists are deleted instead (steering and 404), and the withdrawal says why', async () => {
    const { s3, run, start, key } = setUp('ch1', SPLICING);
    await start();
    // The same numbering, but the failover's segments last 1.9 s where the primary's last 2 s: the
    // same media sequence number is not the same content.
    for (let n = 10; n <= 16; n++) {
      s3.now = Date.parse('2026-11-24T10:00:00Z') + n * TD * 1000;
      const writing = n <= 12 ? ['primary', 'failover'] : ['failover'];
      for (const e of writing)
        for (const r of ['720p.m3u8', '360p.m3u8'])
          s3.write(
            key(e, r),
            mediaPlaylist({ sequence: n - 3, count: 4, duration: e === 'failover' ? 1.9 : 2 }),
          );
      for (const e of writing) for (const r of ['720p.m3u8', '360p.m3u8']) await run.event(key(e, r));
    }
    expect(s3.objects.has('ch1/primary/720p.m3u8')).toBe(false);
    expect(s3.objects.has('ch1/primary/360p.m3u8')).toBe(false);
    // Said once, by the withdrawal: the failover's later uploads leave the deleted playlists alone.
    expect(run.logs.filter((l) => l === 'deleted instead of spliced')).toHaveLength(1);
  });

  it('the execution that records the stall dies before its actions and alerts (splicing on): the next events splice, and the alert goes out once when the resend bound has passed', async () => {
    const { s3, run, start, tickBoth, key } = setUp('ch1', SPLICING);
    await start();
    for (let n = 10; n <= 12; n++) await tickBoth(n);
    const renditions = ['720p.m3u8', '360p.m3u8'];
    /** The failover writes segment n of both renditions at `at`; then their events, whole or dying after CheckCounterpartFreshness. */
    const failover = async (n: number, at: number, dies: boolean) => {
      s3.now = at;
      for (const r of renditions) s3.upload(key('failover', r), mediaPlaylist({ sequence: n - 3, count: 4 }));
      const results = [];
      for (const r of renditions) {
        if (!dies) results.push(await run.event(key('failover', r)));
        else {
          const playlist = await run.handlers.validate({ bucket: BUCKET, key: key('failover', r) });
          results.push({ playlist, health: await run.handlers.check({ playlist }) });
        }
      }
      return results;
    };
    const start13 = Date.parse('2026-11-24T10:00:00Z') + 13 * TD * 1000;
    let n = 13;
    while (
      (await failover(n, start13 + (n - 13) * TD * 1000, true)).every(
        (r) => r.health?.transitions.length === 0,
      )
    )
      n++;
    expect(s3.objects.has('ch1/primary/720p.m3u8')).toBe(true);
    const stalledAt = s3.now;

    const next = await failover(n + 1, stalledAt + WITHDRAWAL_OWNER_GRACE_MS, false);
    const withdrawnByNext = ['720p.m3u8', '360p.m3u8'].every(
      (r) => splicedFrom(s3.body(`ch1/primary/${r}`) ?? '') === 'failover',
    );
    const later = await failover(n + 2, stalledAt + ALERT_RESEND_AFTER_MS, false);
    const after = await failover(n + 3, stalledAt + ALERT_RESEND_AFTER_MS + TD * 1000, false);

    expect(withdrawnByNext).toBe(true);
    expect(s3.objects.has('ch1/primary/master.m3u8')).toBe(true);
    expect(alertsOf(next)).toEqual([]);
    expect(alertsOf([...later, ...after])).toEqual(['[hls-failover] ch1: primary STALLED']);
  });

  it('index.m3u8 overwritten behind the workflow: the next watchdog run rewrites what MergeIndex wrote', async () => {
    const { s3, run, start, tickBoth } = setUp();
    await start();
    await tickBoth(10);
    const index = s3.body('ch1/index.m3u8');
    s3.write('ch1/index.m3u8', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttps://elsewhere.example/x.m3u8\n');

    await run.tick();

    expect(s3.body('ch1/index.m3u8')).toBe(index);
  });

  it('primary recovers: one RECOVERED alert after the hysteresis, then failback to primary', async () => {
    const { s3, start, tickBoth, upload } = setUp();
    await start();
    for (let n = 10; n <= 12; n++) await tickBoth(n);
    for (let n = 13; n <= 16; n++) {
      s3.now = Date.parse('2026-11-24T10:00:00Z') + n * TD * 1000;
      await upload('failover', n);
    }
    const results = [];
    for (let n = 17; n <= 22; n++) results.push(...(await tickBoth(n)));
    expect(alertsOf(results)).toEqual(['[hls-failover] ch1: primary RECOVERED']);
    expect(s3.body('ch1/steering.json')).toContain('"PATHWAY-PRIORITY":["primary","failover"]');
  });

  it('two executions racing one transition: exactly one owns it and alerts', async () => {
    const { s3, run, start, tickBoth } = setUp();
    await start();
    for (let n = 10; n <= 12; n++) await tickBoth(n);
    // n = 13: both failover renditions land at once, the primary's do not; both executions wait
    // out the lag grace and race to record the stall.
    s3.now = Date.parse('2026-11-24T10:00:00Z') + 13 * TD * 1000;
    s3.write('ch1/failover/720p.m3u8', mediaPlaylist({ sequence: 10, count: 4 }));
    s3.write('ch1/failover/360p.m3u8', mediaPlaylist({ sequence: 10, count: 4 }));
    const validated = await Promise.all(
      ['720p.m3u8', '360p.m3u8'].map((r) =>
        run.handlers.validate({ bucket: BUCKET, key: `ch1/failover/${r}` }),
      ),
    );
    run.records.conditionFailures = 0;
    const outcomes = await Promise.all(
      validated.map((playlist: ValidateOutput) => run.handlers.check({ playlist })),
    );
    expect(run.records.conditionFailures).toBeGreaterThan(0); // they did race: one conditional write lost
    expect(outcomes.flatMap((o) => o.alerts).map((a) => a.subject)).toEqual([
      '[hls-failover] ch1: primary STALLED',
    ]);
    expect(outcomes.flatMap((o) => o.transitions).filter((t) => t.kind === 'encoder-stalled')).toHaveLength(
      1,
    );
  });

  it("the executions of the stall's segment leave the splice and the merge to the stall's owner: one WithdrawStalePlaylists and one MergeIndex, from the versions they read", async () => {
    const { s3, run, start, tickBoth } = setUp('ch1', SPLICING);
    await start();
    for (let n = 10; n <= 12; n++) await tickBoth(n);
    s3.now = Date.parse('2026-11-24T10:00:00Z') + 13 * TD * 1000;
    for (const r of ['720p.m3u8', '360p.m3u8'])
      s3.upload(`ch1/failover/${r}`, mediaPlaylist({ sequence: 10, count: 4 }));
    const validated = await Promise.all(
      ['720p.m3u8', '360p.m3u8'].map((r) =>
        run.handlers.validate({ bucket: BUCKET, key: `ch1/failover/${r}` }),
      ),
    );
    const outcomes = await Promise.all(
      validated.map((playlist: ValidateOutput) => run.handlers.check({ playlist })),
    );
    const actions = outcomes.flatMap((o) => o.channels);
    expect(actions.map((a) => [a.withdraw, a.splice ?? [], a.mergeNeeded])).toEqual(
      expect.arrayContaining([
        [['primary'], [], true],
        [[], [], false],
      ]),
    );
    const owner = actions.find((a) => a.withdraw.length > 0);
    expect((await run.handlers.withdraw(owner as ChannelActions)).spliced).toEqual({
      primary: ['ch1/primary/360p.m3u8', 'ch1/primary/720p.m3u8'],
    });
    for (const r of ['720p.m3u8', '360p.m3u8']) expect(s3.body(`ch1/primary/${r}`)).toMatch(/^seg_13\.ts$/m);
  });

  it('withdrawal guard: never withdraws when no other encoder is healthy', async () => {
    const { s3, run, start, tickBoth } = setUp();
    await start();
    await tickBoth(10);
    const out = await run.handlers.withdraw({
      bucket: BUCKET,
      channel: 'ch1',
      mergeNeeded: false,
      withdraw: ['primary'],
    });
    expect(out).toEqual({
      deleted: {},
      spliced: {},
      refreshed: [],
      notSpliced: [],
      skipped: [expect.stringMatching(/^primary: not withdrawn now/)],
    });
    expect(s3.objects.has('ch1/primary/720p.m3u8')).toBe(true);
  });

  it('watchdog: both encoders silent gives one CHANNEL DOWN alert, and no withdrawal', async () => {
    const { s3, run, start, tickBoth } = setUp();
    await start();
    for (let n = 10; n <= 12; n++) await tickBoth(n);
    s3.now += 60_000;
    const first = await run.tick();
    const second = await run.tick();
    // One incident: the encoders' stalls are part of it (no STALLED of their own).
    expect(first.alerts.map((a) => a.subject)).toEqual(['[hls-failover] ch1: CHANNEL DOWN']);
    expect(second.alerts).toEqual([]);
    expect(s3.objects.has('ch1/primary/720p.m3u8')).toBe(true);
    expect(run.metricLines.some((l) => l.includes('"WatchdogRuns":1'))).toBe(true);
  });

  it('watchdog: skips a channel state named like an encoder folder (left by other encoder names)', async () => {
    const run = workflow(new FakeS3());
    for (const channel of ['news', 'primary', 'sport/failover']) run.records.write(stateKey(channel), '{}');
    const listed = await createWatchdog(run.deps)({ bucket: BUCKET });
    expect(listed.channelsToCheck).toEqual(['news']);
  });

  it('alerts carry message attributes for filter policies and the evidence in the body', async () => {
    const { s3, start, tickBoth, upload } = setUp();
    await start();
    for (let n = 10; n <= 12; n++) await tickBoth(n);
    const results = [];
    for (let n = 13; n <= 15; n++) {
      s3.now = Date.parse('2026-11-24T10:00:00Z') + n * TD * 1000;
      results.push(...(await upload('failover', n)));
    }
    const alert = results.flatMap((r) => r.health?.alerts ?? [])[0];
    expect(alert?.attributes).toEqual({
      channel: { DataType: 'String', StringValue: 'ch1' },
      kind: { DataType: 'String', StringValue: 'STALLED' },
      severity: { DataType: 'String', StringValue: 'critical' },
      encoder: { DataType: 'String', StringValue: 'primary' },
    });
    expect(alert?.message).toMatch(
      /720p\.m3u8: last segment 12, updated [\d.]+ s ago \([\d.]+ × target duration\)/,
    );
    expect(alert?.message).toMatch(
      /replaced primary's media playlists with splices of the healthy encoder's/,
    );
  });

  it('metrics go out as CloudWatch embedded metric format lines', async () => {
    const { run, start, tickBoth } = setUp();
    await start();
    await tickBoth(10);
    const emf = run.metricLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf).toContainEqual(
      expect.objectContaining({
        _aws: expect.objectContaining({
          CloudWatchMetrics: [
            expect.objectContaining({ Namespace: 'HlsFailover', Dimensions: [['Channel', 'Encoder']] }),
          ],
        }),
        Channel: 'ch1',
        Encoder: 'primary',
        EncoderDown: 0,
      }),
    );
  });

  it('gives up with StateContention after losing every conditional write', async () => {
    const { s3, run, start, tickBoth } = setUp();
    await start();
    await tickBoth(10);
    // Every read of the state is followed by a competitor's write, before this execution's.
    run.records.afterGet = (key) => {
      if (key === keyText(stateKey('ch1')))
        run.records.write(stateKey('ch1'), run.records.body(stateKey('ch1')) ?? '{}');
    };
    s3.write('ch1/primary/720p.m3u8', mediaPlaylist({ sequence: 8, count: 4 }));
    const playlist = await run.handlers.validate({ bucket: BUCKET, key: 'ch1/primary/720p.m3u8' });
    await expect(run.handlers.check({ playlist })).rejects.toBeInstanceOf(StateContentionError);
  });
});

describe('log and metric lines on Lambda (JSON log format)', () => {
  // With the JSON log format Lambda wraps what console prints in its own JSON object, and CloudWatch
  // would no longer read an EMF line in it; a JSON line written to stdout is kept as written.
  it('go to stdout as written, one JSON line each, never through console', () => {
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const log = jest.spyOn(console, 'log');
    try {
      const deps = createDeps({ functionName: 'PublishHealthMetrics', settings: parseSettings({}) });
      const [emf] = toEmf(
        'HlsFailover',
        [{ name: 'WatchdogRuns', value: 1, unit: 'Count', dimensions: {} }],
        0,
      );
      deps.emitMetricLine(emf ?? '');
      deps.log.warn('state write contended', { attempt: 2 });
      expect(written).toEqual([`${emf}\n`, expect.stringMatching(/^\{"level":"WARN",.*\}\n$/)]);
      expect(JSON.parse(written[0] ?? '')._aws.CloudWatchMetrics[0].Metrics).toEqual([
        { Name: 'WatchdogRuns', Unit: 'Count' },
      ]);
      expect(log).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
      log.mockRestore();
    }
  });
});
