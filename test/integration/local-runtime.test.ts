/**
 * The local runtime with real parts on loopback: s3rver behind the conditional-write layer,
 * events filtered by the CDK rule's pattern, the ASL on aws-local-stepfunctions, the same
 * handlers, the HTTP origin with PUT ingest. Real clock: target duration 1 s, 2 s where a test
 * times detection.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ChannelView } from '../../functions/channel-view';
import { S3ObjectStore } from '../../functions/store';
import type { ObjectEvent } from '../../local/runtime';
import { startS3Endpoint } from '../../local/s3-endpoint';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime';

jest.setTimeout(60_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An embedded S3 endpoint on a fresh temp dir with bucket `b`, and a client for it. */
async function startEndpoint() {
  const endpoint = await startS3Endpoint({
    directory: mkdtempSync(join(tmpdir(), 'hlsf-s3-')),
    bucket: 'b',
    port: 0,
  });
  const s3 = new S3Client({
    endpoint: endpoint.url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: endpoint.credentials,
  });
  return { endpoint, s3 };
}

describe('embedded S3 endpoint', () => {
  it('honours If-None-Match and If-Match atomically per key, 404 for If-Match on no object (s3rver alone ignores them)', async () => {
    const { endpoint, s3 } = await startEndpoint();
    try {
      const put = (body: string, condition: { IfMatch?: string; IfNoneMatch?: string }) =>
        s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: body, ...condition })).then(
          (out) => out.ETag,
          (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode,
        );
      const first = await put('one', { IfNoneMatch: '*' });
      expect(first).toMatch(/^"/);
      expect(await put('two', { IfNoneMatch: '*' })).toBe(412);
      expect(await put('two', { IfMatch: '"not-the-etag"' })).toBe(412);
      // As on S3: If-Match on a key with no object is 404 NoSuchKey, which the store reads as a
      // failed condition (the object went away since it was read: read again).
      const absent = await s3
        .send(new PutObjectCommand({ Bucket: 'b', Key: 'absent', Body: 'x', IfMatch: first as string }))
        .catch((error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode);
      expect(absent).toBe(404);
      const store = new S3ObjectStore(s3);
      expect(
        await store.put('b', 'absent', 'x', { contentType: 'text/plain', ifMatch: first as string }),
      ).toBe('precondition-failed');
      // Ten writers race with the same ETag: exactly one wins.
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => put(`racer ${i}`, { IfMatch: first as string })),
      );
      expect(results.filter((r) => typeof r === 'string')).toHaveLength(1);
      expect(results.filter((r) => r === 412)).toHaveLength(9);
      const stored = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' }));
      expect(await stored.Body?.transformToString()).toMatch(/^racer \d$/);
    } finally {
      s3.destroy();
      await endpoint.close();
    }
  });
});

describe('embedded S3 endpoint conditional copies', () => {
  it("honours If-Match and If-None-Match on CopyObject's destination, as S3 does (a splice is written only over the version read)", async () => {
    const { endpoint, s3 } = await startEndpoint();
    try {
      const store = new S3ObjectStore(s3);
      const text = { contentType: 'text/plain' };
      const read = await store.put('b', 'playlist', 'own 1', text);
      await store.put('b', 'staged', 'splice', text);
      expect(await store.copy('b', 'staged', 'fresh', { ...text, ifNoneMatch: '*' })).toBe('copied');
      expect(await store.copy('b', 'staged', 'fresh', { ...text, ifNoneMatch: '*' })).toBe(
        'precondition-failed',
      );
      // The encoder uploads again after the read: the copy over the version read is refused.
      await store.put('b', 'playlist', 'own 2', text);
      expect(await store.copy('b', 'staged', 'playlist', { ...text, ifMatch: read as string })).toBe(
        'precondition-failed',
      );
      expect((await store.get('b', 'playlist'))?.body).toBe('own 2');
      const current = (await store.get('b', 'playlist'))?.etag as string;
      expect(await store.copy('b', 'staged', 'playlist', { ...text, ifMatch: current })).toBe('copied');
      expect((await store.get('b', 'playlist'))?.body).toBe('splice');
      expect(await store.copy('b', 'absent', 'other', text)).toBe('source-missing');
    } finally {
      s3.destroy();
      await endpoint.close();
    }
  });
});

describe('embedded S3 endpoint writes', () => {
  it('a read right after a write sees the whole new object, never a partly written file', async () => {
    const { endpoint, s3 } = await startEndpoint();
    try {
      // Many writers at once keep the file system busy, as 20 channels of encoders do.
      const sizes = Array.from({ length: 100 }, (_, i) => 128 * 1024 + i);
      const seen = await Promise.all(
        sizes.map(async (size, i) => {
          const key = `k${i % 20}`;
          await s3.send(new PutObjectCommand({ Bucket: 'b', Key: key, Body: 'x'.repeat(size) }));
          const read = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: key }));
          return (await read.Body?.transformToString())?.length;
        }),
      );
      // Each read sees a whole object written to that key (sizes are unique; a partial file is not).
      seen.forEach((length, i) => {
        expect(sizes.filter((_, j) => j % 20 === i % 20)).toContain(length);
      });
    } finally {
      s3.destroy();
      await endpoint.close();
    }
  });
});

describe('local runtime (real s3rver + real engine + real handlers)', () => {
  let runtime: TestRuntime;
  const startChannel = (channel: string) => runtime.startChannel(channel);

  beforeEach(async () => {
    runtime = await startTestRuntime({ recoverAfterUpdates: 2 });
  });
  afterEach(async () => {
    await runtime.close();
  });

  it('healthy pair: the origin serves index.m3u8 and steering.json with live Content-Type and Cache-Control', async () => {
    await startChannel('ch1');
    const index = await runtime.origin('ch1/index.m3u8');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(index.headers.get('cache-control')).toBe('max-age=1');
    expect(index.headers.get('access-control-allow-origin')).toBe('*');
    expect(await index.text()).toMatch(
      /PATHWAY-ID="primary"\nprimary\/720p\.m3u8[\s\S]*failover\/720p\.m3u8/,
    );
    expect(await (await runtime.origin('ch1/steering.json')).json()).toEqual({
      VERSION: 1,
      TTL: 2,
      'PATHWAY-PRIORITY': ['primary', 'failover'],
    });
    expect(
      runtime.executions.filter((e) => e.status !== 'SUCCEEDED').map((e) => `${e.error}: ${e.cause}`),
    ).toEqual([]);
  });

  it('invalid playlist: not used; the execution fails as PlaylistInvalid with the reason; the metric is recorded', async () => {
    await runtime.ingest('ch1/primary/720p.m3u8', '#EXTM3U\n#EXTINF:3,\nseg.ts\n');
    await runtime.idle();
    expect(runtime.executions).toEqual([
      expect.objectContaining({
        status: 'FAILED',
        error: 'PlaylistInvalid',
        cause: expect.stringContaining('targetduration-missing'),
      }),
    ]);
    expect(readFileSync(join(runtime.endpoints.dataDir, 'metrics.jsonl'), 'utf8')).toContain(
      '"InvalidPlaylists":1',
    );
    expect(readFileSync(join(runtime.endpoints.dataDir, 'executions.jsonl'), 'utf8')).toContain(
      '"PlaylistInvalid"',
    );
    expect((await runtime.origin('ch1/index.m3u8')).status).toBe(404);
  });

  it('both encoders silent: the watchdog raises one CHANNEL DOWN alert', async () => {
    await startChannel('ch1');
    await sleep(2500);
    await runtime.watchdog();
    await runtime.watchdog();
    expect(runtime.alerts.map((a) => a.subject)).toEqual(['[hls-failover] ch1: CHANNEL DOWN']);
  });

  it('duplicated and reordered events: no regression of health or index, no alert', async () => {
    const tick = await startChannel('ch1');
    const index = await (await runtime.origin('ch1/index.m3u8')).text();
    type View = { encoders: { renditions: { lastSequence: number }[] }[] };
    const lastSequences = async () =>
      (await runtime.api<View>('channels/ch1')).body.encoders.map((e) =>
        e.renditions.map((r) => r.lastSequence),
      );
    const events = runtime.executions.map((e) => e.input);
    // The encoders keep their cadence meanwhile, as live ones do: the replay must not undo their
    // newer updates, and however long it takes on a loaded machine, no encoder falls silent.
    let last = 11;
    let replaying = true;
    const encoders = (async () => {
      while (replaying) {
        await tick();
        last += 1;
        await runtime.uploadBoth('ch1', last);
      }
    })();
    // EventBridge delivers at least once and in any order: every event again, newest first, all in
    // flight at once.
    await Promise.all(events.reverse().map((event) => runtime.execute(event)));
    replaying = false;
    await encoders;
    await runtime.upload('ch1', 'primary', last); // the same bytes written again: a new event, same content
    await runtime.idle();
    expect(await lastSequences()).toEqual([
      [last, last],
      [last, last],
    ]);
    expect(await (await runtime.origin('ch1/index.m3u8')).text()).toBe(index);
    expect(runtime.alerts).toEqual([]);
    expect(runtime.executions.filter((e) => e.status === 'FAILED')).toEqual([]);
  });

  it('both encoders write ENDLIST: the event is over, no alert, index and steering unchanged, no longer expected live', async () => {
    await startChannel('ch1');
    const index = await (await runtime.origin('ch1/index.m3u8')).text();
    const steering = await (await runtime.origin('ch1/steering.json')).text();
    await runtime.uploadBoth('ch1', 12, true);
    await runtime.idle();
    await sleep(3000); // well past 1.5 × TD: ended playlists never count as stalled
    await runtime.watchdog();
    expect(runtime.alerts).toEqual([]);
    expect(await (await runtime.origin('ch1/index.m3u8')).text()).toBe(index);
    expect(await (await runtime.origin('ch1/steering.json')).text()).toBe(steering);
    expect((await runtime.origin('ch1/primary/720p.m3u8')).status).toBe(200);
    const { body: view } = await runtime.api('channels/ch1');
    expect(view).toMatchObject({ ended: true, channelDown: false, preferred: 'primary' });
  });

  it('two channels at once, one with spaces and non-ASCII characters; their state is in the state table, not in the bucket', async () => {
    await Promise.all([startChannel('news'), startChannel('sport ü')]);
    expect((await runtime.origin('news/index.m3u8')).status).toBe(200);
    expect((await runtime.origin(`${encodeURIComponent('sport ü')}/index.m3u8`)).status).toBe(200);
    const { body } = await runtime.api<ChannelView[]>('channels');
    expect(body.map((c) => c.channel)).toEqual(['news', 'sport ü']);
    const objects = await readdir(join(runtime.endpoints.dataDir, 's3', 'live'), { recursive: true });
    expect(objects.filter((path) => path.startsWith('_hls-failover'))).toEqual([]);
  });
});

describe('local runtime: stall and stop detection within 2.5 × TD (TD 2 s, as live encoders; splicing on)', () => {
  // At TD 1 s the stall threshold (1.5 s) is as short as the queueing of a loaded 2-core machine:
  // an upload processed a threshold after it was written counts as the workflow having been away
  // (validate-playlist's `resumed`), and the stall is judged a threshold later (CI: 4.25 s against
  // a 2.5 s budget). At TD 2 s the budget measures the workflow, not the machine's load.
  let runtime: TestRuntime;
  const startChannel = (channel: string) => runtime.startChannel(channel);
  const budget = () => 2.5 * runtime.targetDuration;
  /** Steering prefers the failover, and the primary's media playlists are splices of the failover's. */
  const expectSteeredAndSpliced = async () => {
    const steering = (await (await runtime.origin('ch1/steering.json')).json()) as {
      'PATHWAY-PRIORITY': string[];
    };
    expect(steering['PATHWAY-PRIORITY']).toEqual(['failover', 'primary']);
    expect(await runtime.splicedFrom('ch1/primary/720p.m3u8')).toBe('failover');
    expect(await runtime.splicedFrom('ch1/primary/360p.m3u8')).toBe('failover');
  };

  beforeEach(async () => {
    runtime = await startTestRuntime({ recoverAfterUpdates: 2, splicing: true }, {}, { targetDuration: 2 });
  });
  afterEach(async () => {
    await runtime.close();
  });

  it("primary stalls: one alert (also when every event comes again), steering and index prefer failover, primary media playlists spliced from the failover's within 2.5 × TD; recovery and failback after the hysteresis, the primary's own playlists back", async () => {
    const writes: ObjectEvent[] = [];
    runtime.onObjectEvent((e) => writes.push(e));
    const tick = await startChannel('ch1');
    for (let n = 12; n <= 15; n++) {
      await tick();
      await runtime.upload('ch1', 'failover', n);
    }
    await runtime.idle();
    expect(runtime.alerts.map((a) => a.subject)).toEqual(['[hls-failover] ch1: primary STALLED']);
    // Uploads are PUTs; the workflow's splices are copies.
    const at = (key: string, reason: 'PutObject' | 'CopyObject') =>
      writes.filter((w) => w.key === key && w.kind === 'created' && w.reason === reason).map((w) => w.at);
    const lastGood = Math.max(
      ...at('ch1/primary/720p.m3u8', 'PutObject'),
      ...at('ch1/primary/360p.m3u8', 'PutObject'),
    );
    // The last steering write is the flip (steering.json is checked to prefer the failover below).
    const steering = (Math.max(...at('ch1/steering.json', 'PutObject')) - lastGood) / 1000;
    const withdrawal = ((at('ch1/primary/720p.m3u8', 'CopyObject')[0] ?? Infinity) - lastGood) / 1000;
    process.stdout.write(
      `last good upload → steering ${steering.toFixed(2)} s, withdrawal ${withdrawal.toFixed(2)} s (TD ${runtime.targetDuration} s, budget ${budget()} s)\n`,
    );
    expect(steering).toBeLessThanOrEqual(budget());
    expect(withdrawal).toBeLessThanOrEqual(budget());
    await expectSteeredAndSpliced();
    expect((await runtime.origin('ch1/primary/master.m3u8')).status).toBe(200);
    const firstVariant = async () =>
      (await (await runtime.origin('ch1/index.m3u8')).text()).match(/^#EXT-X-STREAM-INF:.*\n(.*)$/m)?.[1];
    expect(await firstVariant()).toBe('failover/720p.m3u8');
    // Every event again (EventBridge delivers at least once), the one that raised the alert included.
    for (const execution of [...runtime.executions].reverse()) await runtime.execute(execution.input);
    await runtime.idle();
    expect(runtime.alerts).toHaveLength(1);
    for (let n = 16; n <= 18; n++) {
      await runtime.uploadBoth('ch1', n);
      await runtime.idle();
    }
    expect(runtime.alerts.map((a) => a.subject)).toEqual([
      '[hls-failover] ch1: primary STALLED',
      '[hls-failover] ch1: primary RECOVERED',
    ]);
    // Failback once the restarted primary holds what the failover's viewers play.
    expect(await (await runtime.origin('ch1/steering.json')).json()).toMatchObject({
      'PATHWAY-PRIORITY': ['primary', 'failover'],
    });
    expect(await firstVariant()).toBe('primary/720p.m3u8');
    expect((await runtime.origin('ch1/primary/720p.m3u8')).status).toBe(200);
    expect(await runtime.splicedFrom('ch1/primary/720p.m3u8')).toBeUndefined();
    const alertsFile = readFileSync(join(runtime.endpoints.dataDir, 'alerts.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(alertsFile).toHaveLength(2);
  });

  it('primary writes ENDLIST while the failover goes on: one STOPPED alert, steering and withdrawal within 2.5 × TD', async () => {
    const tick = await startChannel('ch1');
    const writes: ObjectEvent[] = [];
    runtime.onObjectEvent((e) => writes.push(e));
    // Lock-step: both write segment 12, the primary with ENDLIST (a graceful stop).
    await tick();
    const endlistAt = Date.now();
    await Promise.all([runtime.upload('ch1', 'primary', 12, true), runtime.upload('ch1', 'failover', 12)]);
    for (let n = 13; n <= 14; n++) {
      await tick();
      await runtime.upload('ch1', 'failover', n);
    }
    await runtime.idle();
    expect(runtime.alerts.map((a) => a.subject)).toEqual(['[hls-failover] ch1: primary STOPPED']);
    const steeredAt = writes.find((w) => w.key === 'ch1/steering.json' && w.kind === 'created')?.at;
    const withdrawnAt = writes.find(
      (w) => w.key === 'ch1/primary/720p.m3u8' && w.reason === 'CopyObject',
    )?.at;
    // Spliced: the primary's viewers never load its ENDLIST playlist again, they play on.
    await expectSteeredAndSpliced();
    const steering = ((steeredAt ?? Infinity) - endlistAt) / 1000;
    const withdrawal = ((withdrawnAt ?? Infinity) - endlistAt) / 1000;
    process.stdout.write(
      `ENDLIST → steering ${steering.toFixed(2)} s, withdrawal ${withdrawal.toFixed(2)} s (TD ${runtime.targetDuration} s, budget ${budget()} s)\n`,
    );
    expect(steering).toBeLessThanOrEqual(budget());
    expect(withdrawal).toBeLessThanOrEqual(budget());
  });
});
