/**
 * The live demo encoders against a real local runtime (s3rver, the ASL on the local engine, the
 * origin with PUT ingest): real ffmpeg encoders, and the pre-made publisher (ffmpegPath: false).
 * 1 s segments keep the file short. Withdrawal is off so that a stalled or killed encoder's
 * playlists stay readable: these tests watch the encoders; the failover itself has its own tests.
 * Timing bounds are loose on purpose: the machine may be a loaded 2-core runner.
 */
import { spawnSync } from 'node:child_process';
import { validateMasterPlaylist, validateMediaPlaylist } from '../../functions/hls';
import {
  type EncoderPair,
  type EncoderPairOptions,
  LIST_SIZE,
  resolveFfmpeg,
  sequenceAt,
  startEncoderPair,
} from '../../local/encoders';
import type { LocalRuntime } from '../../local/runtime';
import { startTestRuntime } from '../support/local-runtime';

jest.setTimeout(60_000);

const SEGMENT_SECONDS = 1;
const ffmpeg = resolveFfmpeg(undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

interface Seen {
  readonly text: string;
  readonly mediaSequence: number;
  /** The number in each segment's name (`360p_<n>.ts`), in order. */
  readonly numbers: number[];
  readonly ended: boolean;
}

/** A running runtime, the object events of one channel, and reads through its origin. */
function harness(channel: string) {
  let runtime: LocalRuntime;
  /** Highest segment number written per `<encoder>/<stream>`. */
  const latest = new Map<string, number>();
  const context = {
    get runtime() {
      return runtime;
    },
    latest: (encoder: string, stream = '360p') => latest.get(`${encoder}/${stream}`) ?? -1,
    start: async () => {
      runtime = await startTestRuntime({ withdrawal: false });
      runtime.onObjectEvent((event) => {
        const match = new RegExp(`^${channel}/([^/]+)/([^/]+)_(\\d+)\\.ts$`).exec(event.key);
        if (event.kind !== 'created' || match === null) return;
        const key = `${match[1]}/${match[2]}`;
        latest.set(key, Math.max(latest.get(key) ?? -1, Number(match[3])));
      });
    },
    get: (path: string) => fetch(`${runtime.endpoints.origin}/${channel}/${path}`),
    read: async (encoder: string, stream = '360p'): Promise<Seen> => {
      const res = await context.get(`${encoder}/${stream}.m3u8`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(validateMediaPlaylist(text).errors).toEqual([]);
      return {
        text,
        mediaSequence: Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? Number.NaN),
        numbers: [...text.matchAll(/_(\d+)\.ts$/gm)].map((m) => Number(m[1])),
        ended: text.includes('#EXT-X-ENDLIST'),
      };
    },
    /**
     * The executions the workflow failed, as `error: cause` (none means every playlist was
     * accepted). Left out: a torn read in the local S3 endpoint, not the encoders' doing. s3rver
     * answers a PUT before the file is on disk (FilesystemStore.putObject resolves on
     * writeStream.end), so an execution that runs late can read the next version of a playlist
     * or state object as empty ("playlist is empty", "Unexpected end of JSON input").
     */
    failures: async () => {
      await runtime.idle();
      return runtime.executions
        .filter((e) => e.status === 'FAILED')
        .map((e) => `${e.error}: ${e.cause}`)
        .filter((f) => !/playlist-empty: playlist is empty|Unexpected end of JSON input/.test(f));
    },
  };
  return context;
}

/**
 * How far behind the wall clock an encoder's newest segment may be. `-re` paces ffmpeg from its
 * first frame, so an encoder that started slowly (two ffmpeg launches and the runtime on a loaded
 * machine) stays behind by its start-up time, with the same numbering: up to 4 segments seen in a
 * full `npm test`. The numbering itself is checked exactly by the timestamps test.
 */
const LIVE_EDGE_SLACK_SEGMENTS = 5;

/**
 * Both encoders' media playlists read at the same moment agree within one segment, numbered from
 * the wall clock. An upload in flight or queued behind the runtime can put one encoder a segment
 * further back at one moment: the pair is read again (at most 3 times, 400 ms apart) before the
 * checks fail on the last reading.
 */
async function expectLockStep(h: ReturnType<typeof harness>, encoders: readonly [string, string]) {
  const newest = (seen: Seen) => seen.numbers.at(-1) ?? 0;
  const readPair = async (stream: string) => {
    const [a, b] = await Promise.all(encoders.map((e) => h.read(e, stream)));
    if (a === undefined || b === undefined) throw new Error('unreachable');
    return [a, b] as const;
  };
  for (const stream of ['audio', '360p', '180p']) {
    let [a, b] = await readPair(stream);
    for (let attempt = 1; attempt < 3 && Math.abs(newest(a) - newest(b)) > 1; attempt++) {
      await sleep(400);
      [a, b] = await readPair(stream);
    }
    // A restarted encoder's window starts at its restart; once both windows are full they match.
    if (a.numbers.length === LIST_SIZE && b.numbers.length === LIST_SIZE)
      expect(Math.abs(a.mediaSequence - b.mediaSequence)).toBeLessThanOrEqual(1);
    expect(Math.abs(newest(a) - newest(b))).toBeLessThanOrEqual(1);
    // The name of segment n carries n: the media sequence numbers the segments.
    for (const seen of [a, b])
      expect(seen.numbers).toEqual(seen.numbers.map((_, i) => seen.mediaSequence + i));
    // Epoch-locked: the newest segment is one that ended a moment ago, never one still to come.
    const now = sequenceAt(Date.now(), SEGMENT_SECONDS);
    for (const seen of [a, b]) {
      expect(newest(seen)).toBeGreaterThanOrEqual(now - LIVE_EDGE_SLACK_SEGMENTS);
      expect(newest(seen)).toBeLessThanOrEqual(now);
    }
  }
}

/** The first video timestamp of an MPEG-TS segment (90 kHz), read by ffprobe. */
function firstVideoPts(bytes: Buffer): number {
  const probe = spawnSync(
    (ffmpeg as string).replace(/ffmpeg$/, 'ffprobe'),
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'csv=p=0', 'pipe:0'],
    { input: bytes },
  );
  const pts = Number.parseInt(probe.stdout.toString(), 10); // "4860381296," (then side data)
  if (!Number.isSafeInteger(pts)) throw new Error(`ffprobe found no video timestamp: ${probe.stderr}`);
  return pts;
}

/** The master each encoder writes, and the index the workflow merges from them. */
async function expectMastersAndIndex(h: ReturnType<typeof harness>) {
  for (const encoder of ['primary', 'failover']) {
    const res = await h.get(`${encoder}/master.m3u8`);
    expect(res.status).toBe(200);
    const master = await res.text();
    expect(validateMasterPlaylist(master).errors).toEqual([]);
    expect(master).toMatch(/#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="[^"]+",.*URI="audio\.m3u8"/);
    expect(master).toMatch(/#EXT-X-STREAM-INF:[^\n]*RESOLUTION=640x360[^\n]*AUDIO="[^"]+"\n360p\.m3u8/);
    expect(master).toMatch(/#EXT-X-STREAM-INF:[^\n]*RESOLUTION=320x180[^\n]*AUDIO="[^"]+"\n180p\.m3u8/);
  }
  await waitFor('the merged index with both pathways', async () => {
    const res = await h.get('index.m3u8');
    return res.status === 200 && (await res.text()).includes('PATHWAY-ID="failover"');
  });
  const index = await (await h.get('index.m3u8')).text();
  expect(validateMasterPlaylist(index).errors).toEqual([]);
  expect(index).toMatch(/#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="primary-[^"]+",.*URI="primary\/audio\.m3u8"/);
  expect(index).toMatch(/#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="failover-[^"]+",.*URI="failover\/audio\.m3u8"/);
  expect(index).toMatch(/AUDIO="primary-[^"]+",PATHWAY-ID="primary"\nprimary\/360p\.m3u8/);
  expect(index).toMatch(/AUDIO="failover-[^"]+",PATHWAY-ID="failover"\nfailover\/360p\.m3u8/);
  const segment = await h.get(`primary/360p_${h.latest('primary')}.ts`);
  expect(segment.headers.get('content-type')).toBe('video/mp2t');
  expect(new Uint8Array(await segment.arrayBuffer())[0]).toBe(0x47); // MPEG-TS sync byte
}

describe('encoder pair options', () => {
  it('refuses an unreachable origin with a message that says to start the runtime', async () => {
    await expect(
      startEncoderPair({ originUrl: 'http://127.0.0.1:9', channel: 'c', ffmpegPath: false }),
    ).rejects.toThrow(/the origin http:\/\/127\.0\.0\.1:9 is not reachable .*start the local runtime first/);
  });

  it('reports every problem with the options at once', async () => {
    const options = {
      originUrl: 'ftp://x',
      channel: 'a b',
      encoders: ['same', 'same'],
      segmentSeconds: 1.5,
      renditions: [{ name: 'audio', width: 641, height: 360, videoKbps: 0 }],
    } as unknown as EncoderPairOptions;
    await expect(startEncoderPair(options)).rejects.toThrow(
      /originUrl .*; channel .*; encoders .*; segmentSeconds .*; rendition name "audio" .*; rendition audio: width .*; rendition audio: videoKbps/,
    );
  });
});

(ffmpeg === undefined ? describe.skip : describe)('ffmpeg encoder pair on the local runtime', () => {
  const h = harness('enc');
  let pair: EncoderPair | undefined;
  const pids = new Set<number>();
  const log: string[] = [];
  const encoder = (name: string) => {
    const found = pair?.get(name);
    if (found === undefined) throw new Error(`no encoder ${name}`);
    const pid = found.status().pid;
    if (pid !== undefined) pids.add(pid);
    return found;
  };

  beforeAll(async () => {
    await h.start();
    pair = await startEncoderPair({
      originUrl: h.runtime.endpoints.origin,
      channel: 'enc',
      segmentSeconds: SEGMENT_SECONDS,
      log: (line) => log.push(line),
    });
    for (const s of pair.status()) if (s.pid !== undefined) pids.add(s.pid);
    await waitFor('segments from both encoders', () => h.latest('primary') >= 0 && h.latest('failover') >= 0);
    await waitFor('3 segments in both playlists', async () => {
      const [a, b] = await Promise.all([h.read('primary'), h.read('failover')]);
      return a.numbers.length >= 3 && b.numbers.length >= 3;
    });
  });
  afterAll(async () => {
    await pair?.close();
    await h.runtime?.close();
  });

  it('numbers segments in lock-step from the wall clock: both encoders list the same media sequence (±1) at the same moment', async () => {
    expect(pair?.status()).toEqual([
      expect.objectContaining({
        name: 'primary',
        state: 'running',
        source: 'ffmpeg',
        pid: expect.any(Number),
      }),
      expect.objectContaining({
        name: 'failover',
        state: 'running',
        source: 'ffmpeg',
        pid: expect.any(Number),
      }),
    ]);
    await waitFor('full windows in both playlists', async () => {
      const [a, b] = await Promise.all([h.read('primary'), h.read('failover')]);
      return a.numbers.length === LIST_SIZE && b.numbers.length === LIST_SIZE;
    });
    for (let i = 0; i < 3; i++) {
      await expectLockStep(h, ['primary', 'failover']);
      await sleep(400);
    }
  });

  it('writes a master with an audio group; the workflow merges both into an index with two pathways and an audio group each', async () => {
    await expectMastersAndIndex(h);
    expect(await h.failures()).toEqual([]);
  });

  it('gives both encoders the same timestamps for the same segment number', async () => {
    const n = Math.min(h.latest('primary'), h.latest('failover'));
    const [a, b] = await Promise.all(
      ['primary', 'failover'].map(async (e) =>
        Buffer.from(await (await h.get(`${e}/360p_${n}.ts`)).arrayBuffer()),
      ),
    );
    const pts = [firstVideoPts(a as Buffer), firstVideoPts(b as Buffer)];
    expect(pts[0]).toBe(pts[1]);
    // Wall-clock timestamps: segment n starts at n × S s (modulo the 2^33 wrap, plus the muxer's 1.4 s).
    expect(pts[0]).toBe((n * SEGMENT_SECONDS * 90_000 + 126_000) % 2 ** 33);
  });

  it('stall freezes an encoder without ending it; resume catches up to the same numbering', async () => {
    const primary = encoder('primary');
    const pid = primary.status().pid;
    primary.stall();
    expect(primary.status()).toMatchObject({ state: 'stalled', pid });
    const frozenAt = h.latest('primary');
    const failoverAt = h.latest('failover');
    await sleep(2500);
    expect(h.latest('primary')).toBeLessThanOrEqual(frozenAt + 1); // at most the one being written
    expect(h.latest('failover')).toBeGreaterThanOrEqual(failoverAt + 2);
    expect((await h.read('primary')).ended).toBe(false);

    expect(await primary.control('resume')).toMatchObject({ state: 'running', pid });
    await waitFor('primary to catch up', () => h.latest('primary') >= h.latest('failover') - 1);
    await expectLockStep(h, ['primary', 'failover']);
  });

  it('stop ends every media playlist with EXT-X-ENDLIST; resume restarts in step with the counterpart', async () => {
    const failover = encoder('failover');
    const status = await failover.control('stop');
    expect(status.state).toBe('stopped');
    expect(status.pid).toBeUndefined();
    // ffmpeg PUTs its last playlists as it exits; the origin stores each once its body is on disk,
    // so the ENDLIST may land a moment after the process is gone.
    for (const stream of ['audio', '360p', '180p'])
      await waitFor(
        `failover ${stream} to end with EXT-X-ENDLIST`,
        async () => (await h.read('failover', stream)).ended,
        2_000,
      );

    const resumed = await failover.control('resume');
    expect(resumed).toMatchObject({ state: 'running', pid: expect.any(Number) });
    encoder('failover');
    await waitFor('the restarted failover to publish', async () => !(await h.read('failover')).ended);
    await waitFor(
      'two segments since the restart',
      async () => (await h.read('failover')).numbers.length >= 2,
    );
    await expectLockStep(h, ['primary', 'failover']);
  });

  it('kill leaves the playlists as they were (no ENDLIST); resume continues the numbering and timestamps in step', async () => {
    const primary = encoder('primary');
    await primary.kill();
    expect(primary.status()).toMatchObject({ state: 'killed' });
    expect(primary.status().pid).toBeUndefined();
    const left = (await h.read('primary')).text;
    await sleep(2000);
    expect((await h.read('primary')).text).toBe(left);
    expect(left).not.toContain('#EXT-X-ENDLIST');

    await primary.resume();
    encoder('primary');
    const firstAfterRestart = sequenceAt(Date.now(), SEGMENT_SECONDS);
    await waitFor('the restarted primary to publish', () => h.latest('primary') >= firstAfterRestart);
    await expectLockStep(h, ['primary', 'failover']);
    const n = h.latest('primary');
    await waitFor('the failover to have the same segment', () => h.latest('failover') >= n);
    const [a, b] = await Promise.all(
      ['primary', 'failover'].map(async (e) =>
        Buffer.from(await (await h.get(`${e}/360p_${n}.ts`)).arrayBuffer()),
      ),
    );
    expect(firstVideoPts(a as Buffer)).toBe(firstVideoPts(b as Buffer));
  });

  it('the workflow accepted every playlist the encoders wrote, through stall, stop, kill and restarts', async () => {
    expect(await h.failures()).toEqual([]);
    expect(h.runtime.executions.length).toBeGreaterThan(20);
  });

  it('close ends every ffmpeg process the pair started', async () => {
    expect(pids.size).toBeGreaterThanOrEqual(4); // two at the start, one per restart
    await pair?.close();
    pair = undefined;
    for (const pid of pids)
      expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });
});

describe('pre-made publisher on the local runtime (ffmpegPath: false)', () => {
  const h = harness('pre');
  let pair: EncoderPair | undefined;
  beforeAll(async () => {
    await h.start();
  });
  afterAll(async () => {
    await pair?.close();
    await h.runtime?.close();
  });

  it('publishes in lock-step, gets merged with both pathways, and follows stall, stop, kill and resume', async () => {
    pair = await startEncoderPair({
      originUrl: h.runtime.endpoints.origin,
      channel: 'pre',
      segmentSeconds: SEGMENT_SECONDS,
      ffmpegPath: false,
    });
    expect(pair.status()).toEqual([
      expect.objectContaining({ name: 'primary', state: 'running', source: 'pre-made' }),
      expect.objectContaining({ name: 'failover', state: 'running', source: 'pre-made' }),
    ]);
    expect(pair.status()[0]?.pid).toBeUndefined();
    const start = h.latest('primary');
    await waitFor(
      'two more segments',
      () => h.latest('primary') >= start + 2 && h.latest('failover') >= start + 2,
    );
    await expectLockStep(h, ['primary', 'failover']);
    await expectMastersAndIndex(h);

    // Stall: nothing new for 2 s; resume: caught up at once.
    const primary = pair.encoders[0];
    primary.stall();
    const frozenAt = h.latest('primary');
    await sleep(2000);
    // At most the segment whose upload was in flight when it stalled (as with ffmpeg's SIGSTOP).
    expect(h.latest('primary')).toBeLessThanOrEqual(frozenAt + 1);
    await primary.resume();
    expect(h.latest('primary')).toBeGreaterThanOrEqual(h.latest('failover') - 1);
    await expectLockStep(h, ['primary', 'failover']);

    // Stop: ENDLIST; resume: live again, in step.
    const failover = pair.encoders[1];
    expect(await failover.control('stop')).toMatchObject({ state: 'stopped' });
    expect((await h.read('failover', 'audio')).ended).toBe(true);
    // The workflow reads the object when its execution runs: had the restart (at the next 1 s
    // boundary) overwritten the ENDLIST versions first, it would see the old window shrink to one
    // segment (RFC 8216 §6.2.2), rightly invalid. An encoder takes longer than that to come back.
    await h.runtime.idle();
    expect(await failover.control('resume')).toMatchObject({ state: 'running' });
    expect((await h.read('failover', 'audio')).ended).toBe(false);

    // Kill: the playlists stay as they were; resume: in step again.
    expect(await primary.control('kill')).toMatchObject({ state: 'killed' });
    const left = (await h.read('primary')).text;
    await sleep(1500);
    expect((await h.read('primary')).text).toBe(left);
    await primary.resume();
    await sleep(1200);
    await expectLockStep(h, ['primary', 'failover']);

    expect(await h.failures()).toEqual([]);
  });
});
