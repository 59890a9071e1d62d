/**
 * audit / status / replay in local mode, end to end: the real local runtime (s3rver, events, the
 * ASL on aws-local-stepfunctions, the handlers) produces real executions in a temp data dir; the
 * commands read what it wrote. Real clock: target duration 2 s.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sinkFiles } from '../../local/json-lines-sink';
import { runCli } from '../support/cli';
import { cadence, startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { fixture, mediaPlaylist } from '../support/playlists';

jest.setTimeout(90_000);

const SINK_BYTES = 64 * 1024;

interface JsonEntry {
  at: string;
  kind: string;
  channel?: string;
  encoder?: string;
  what: string;
  reason?: string;
  incidentId?: string;
  key?: string;
  before?: string;
  after?: string;
}

describe('audit, status and replay on the local runtime', () => {
  let runtime: TestRuntime;
  let dataDir: string;
  let startedAt: string;

  // One scenario for the whole file: a healthy start, a primary stall (failover, withdrawal, one
  // alert), invalid playlists from the failover (one alert), then a second channel that ends.
  beforeAll(async () => {
    // Small sinks, so that executions.jsonl is rotated during the run and audit reads across files.
    // TD 2 s, as live encoders write: at TD 1 s, an execution queued past the 1.5 s threshold on a
    // busy 2-core machine counts as processed late and delays the stall past the four uploads.
    runtime = await startTestRuntime(
      { recoverAfterUpdates: 2 },
      { sinkMaxBytes: SINK_BYTES, sinkKeep: 1000 },
      { targetDuration: 2 },
    );
    dataDir = runtime.endpoints.dataDir;
    startedAt = new Date(Date.now() - 1000).toISOString();
    for (const e of ['primary', 'failover'])
      await runtime.ingest(`ch1/${e}/master.m3u8`, fixture('master-simple.m3u8'));
    for (let n = 10; n <= 11; n++) await runtime.uploadBoth('ch1', n);
    const tick = cadence(2000);
    await runtime.idle();
    for (let n = 12; n <= 15; n++) {
      await tick();
      await runtime.upload('ch1', 'failover', n);
    }
    await runtime.idle();
    for (let i = 0; i < 3; i++)
      await runtime.ingest('ch1/failover/720p.m3u8', '#EXTM3U\n#EXTINF:x,\nseg.ts\n');
    await runtime.idle();
    // ch2 plays and ends: both encoders write EXT-X-ENDLIST.
    for (const e of ['primary', 'failover'])
      await runtime.ingest(`ch2/${e}/master.m3u8`, fixture('master-simple.m3u8'));
    for (const endlist of [false, true]) {
      for (const e of ['primary', 'failover'])
        for (const r of ['720p.m3u8', '360p.m3u8'])
          await runtime.ingest(
            `ch2/${e}/${r}`,
            mediaPlaylist({ sequence: endlist ? 8 : 7, count: 4, targetDuration: 1, duration: 1, endlist }),
          );
      await runtime.idle();
    }
  });
  afterAll(async () => {
    await runtime.close();
  });

  const audit = async (...args: string[]) => {
    const result = await runCli(['audit', '--local', dataDir, '--since', startedAt, '--json', ...args]);
    expect(result).toMatchObject({ code: 0, err: '' });
    return JSON.parse(result.out) as { entries: JsonEntry[]; truncated: unknown[] };
  };

  it('reads executions.jsonl and its rotated files (the run filled several, none over the limit but a single line)', () => {
    const files = sinkFiles(join(dataDir, 'executions.jsonl'));
    expect(files.length).toBeGreaterThan(2);
    for (const file of files) {
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      if (lines.length > 1) expect(statSync(file).size).toBeLessThanOrEqual(SINK_BYTES);
    }
  });

  it('the alerts sent: one STALLED for the primary, one INVALID PLAYLIST for three invalid failover files', async () => {
    expect(runtime.alerts.map((a) => a.subject)).toEqual([
      '[hls-failover] ch1: primary STALLED',
      '[hls-failover] ch1: failover INVALID PLAYLIST',
    ]);
    const { entries } = await audit('--kind', 'alerts');
    expect(entries.map((e) => [e.kind, e.channel, e.encoder, e.what])).toEqual([
      ['alert', 'ch1', 'primary', '[hls-failover] ch1: primary STALLED'],
      ['alert', 'ch1', 'failover', '[hls-failover] ch1: failover INVALID PLAYLIST'],
    ]);
    expect(entries[0]?.incidentId).toMatch(/^primary-/);
    expect(entries[1]?.incidentId).toMatch(/^invalid-failover-/);
  });

  it('the changes: index and steering written with before/after hashes, the stall, the failover, the withdrawal, each with its trigger key', async () => {
    const { entries } = await audit('--kind', 'changes', '--channel', 'ch1');
    const whats = entries.map((e) => e.what);
    expect(whats).toEqual(
      expect.arrayContaining([
        'index.m3u8 written',
        'steering.json written',
        'encoder-stalled',
        'preferred-changed',
        'withdrawal-changed',
        "spliced 2 media playlists from the healthy encoder's",
        'invalid-playlist-opened',
        'invalid-playlist-continued',
      ]),
    );
    const stalled = entries.find((e) => e.what === 'encoder-stalled');
    expect(stalled).toMatchObject({
      channel: 'ch1',
      encoder: 'primary',
      key: expect.stringMatching(/^ch1\/failover\//),
    });
    expect(stalled?.reason).toMatch(/segments? behind|no update/);
    const steering = entries.filter((e) => e.what === 'steering.json written');
    expect(steering.at(-1)?.before).toMatch(/^[0-9a-f]{64}$/);
    expect(steering.at(-1)?.after).toMatch(/^[0-9a-f]{64}$/);
    expect(entries.filter((e) => e.what === 'invalid-playlist-opened')).toHaveLength(1);
    expect(entries.every((e) => e.channel === 'ch1')).toBe(true);
  });

  it('the failures: every rejected playlist, as PlaylistInvalid with its violations', async () => {
    const { entries } = await audit('--kind', 'failures');
    expect(entries).toHaveLength(3);
    for (const e of entries) {
      expect(e).toMatchObject({
        kind: 'failure',
        channel: 'ch1',
        what: 'PlaylistInvalid',
        key: 'ch1/failover/720p.m3u8',
      });
      expect(e.reason).toContain('extinf-invalid');
    }
  });

  it('prints a human table by default, with a summary on stderr; an empty range is not an error', async () => {
    const table = await runCli(['audit', '--local', dataDir, '--since', '2h']);
    expect(table.code).toBe(0);
    expect(table.out.split('\n')[0]).toMatch(
      /^TIME\s+KIND\s+CHANNEL\s+ENCODER\s+WHAT\s+INCIDENT\s+TRIGGER\s+REASON$/,
    );
    expect(table.out).toMatch(/\balert\s+ch1\s+primary\s+\[hls-failover\] ch1: primary STALLED/);
    expect(table.out).toMatch(/steering\.json written [0-9a-f]{12} → [0-9a-f]{12}/);
    expect(table.err).toMatch(/^\d+ changes, 2 alerts, 3 failures from /);
    const empty = await runCli(['audit', '--local', dataDir, '--until', '2020-01-01T00:00:00Z']);
    expect(empty).toMatchObject({ code: 0, out: '', err: expect.stringMatching(/^no entries from /) });
  });

  it('status: health per channel and encoder, the open invalid-playlist incident, the last index change; an ended channel is over', async () => {
    const result = await runCli(['status', '--local', dataDir]);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^Channel ch1: DEGRADED — primary stalled; viewers are steered to failover$/m);
    expect(result.out).toMatch(/^ {2}primary\s+stalled\s+since \S+ \(\d+ s\), withdrawn, incident primary-/m);
    expect(result.out).toMatch(
      /^ {4}720p\.m3u8: healthy, last segment \d+, updated [\d.]+ s ago \([\d.]+ × target duration\)$/m,
    );
    expect(result.out).toMatch(
      /invalid playlists: failover, incident invalid-failover-\S+ since \S+, 3 rejected \(720p\.m3u8\)/,
    );
    expect(result.out).toMatch(/^ {2}index\.m3u8: last changed \S+ \(\d+ s ago\), failover first$/m);
    expect(result.out).toMatch(
      /^Channel ch2: ENDED — the event is over: every encoder ended its playlists \(EXT-X-ENDLIST\); the watchdog no longer expects this channel live$/m,
    );
    expect(result.out).toMatch(/metrics: EncoderDown=1/);
    expect(result.err).toContain('alarms: none locally');
    const json = JSON.parse((await runCli(['status', '--local', dataDir, '--json'])).out) as {
      channels: { channel: string; state: string; encoders: { encoder: string; status: string }[] }[];
    };
    expect(json.channels.map((c) => [c.channel, c.state])).toEqual([
      ['ch1', 'DEGRADED'],
      ['ch2', 'ENDED'],
    ]);
  });

  it('replay through the running runtime’s S3: a duplicate playlist is skipped; a master is merged; the execution joins executions.jsonl', async () => {
    const before = readFileSync(join(dataDir, 'executions.jsonl'), 'utf8').trim().split('\n').length;
    const skip = await runCli([
      'replay',
      '--local',
      dataDir,
      '--s3-endpoint',
      runtime.endpoints.s3,
      '--key',
      'ch1/failover/360p.m3u8',
    ]);
    expect(skip).toMatchObject({ code: 0 });
    expect(skip.out).toMatch(/^replay ch1\/failover\/360p\.m3u8: SUCCEEDED in \d+ ms/);
    expect(skip.out).toContain('skipped: this version is already accepted');
    const master = await runCli([
      'replay',
      '--local',
      dataDir,
      '--s3-endpoint',
      runtime.endpoints.s3,
      '--key',
      'ch1/failover/master.m3u8',
      '--json',
    ]);
    expect(master.code).toBe(0);
    expect(JSON.parse(master.out)).toMatchObject({
      status: 'SUCCEEDED',
      output: { playlist: { action: 'process', kind: 'master' } },
    });
    const invalid = await runCli([
      'replay',
      '--local',
      dataDir,
      '--s3-endpoint',
      runtime.endpoints.s3,
      '--key',
      'ch1/failover/720p.m3u8',
    ]);
    expect(invalid.code).toBe(1);
    expect(invalid.out).toMatch(/failed as PlaylistInvalid: .*extinf-invalid/);
    expect(invalid.out).toContain('invalid-playlist-continued');
    expect(readFileSync(join(dataDir, 'executions.jsonl'), 'utf8').trim().split('\n')).toHaveLength(
      before + 3,
    );
  });
});

describe('replay on a data dir with no runtime running', () => {
  it('starts an S3 endpoint on the data dir itself and runs the workflow', async () => {
    const runtime = await startTestRuntime();
    await runtime.ingest('news/primary/master.m3u8', fixture('master-simple.m3u8'));
    await runtime.idle();
    await runtime.close();
    const { dataDir } = runtime.endpoints;
    const result = await runCli(['replay', '--local', dataDir, '--key', 'news/primary/master.m3u8']);
    expect(result).toMatchObject({
      code: 0,
      out: expect.stringMatching(/SUCCEEDED[\s\S]*accepted: master playlist of primary in channel "news"/),
    });
  });
});

describe('local mode errors', () => {
  it('a missing data dir, a data dir without executions, an unparseable time, a bad kind: exit 2 with a message', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'hlsf-empty-'));
    expect(await runCli(['audit', '--local', join(empty, 'nope')])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/no data dir at .*nope: start the local runtime/),
    });
    expect(await runCli(['audit', '--local', empty])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/has no executions\.jsonl/),
    });
    writeFileSync(join(empty, 'executions.jsonl'), '');
    expect(await runCli(['audit', '--local', empty, '--since', 'yesterday'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(
        /--since "yesterday" is not a time: give an ISO time .* or a duration ago \(30m, 2h, 1d\)/,
      ),
    });
    expect(await runCli(['audit', '--local', empty, '--since', '1h', '--until', '2h'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--since .* is after --until/),
    });
    expect(await runCli(['audit', '--local', empty, '--kind', 'everything'])).toMatchObject({ code: 2 });
    expect(await runCli(['audit', '--local', empty, '--stack', 's'])).toMatchObject({ code: 2 });
    expect(await runCli(['replay', '--local', empty])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--key <s3 key> is required/),
    });
    expect(await runCli(['replay', '--key', 'a/primary/x.m3u8'])).toMatchObject({ code: 2 });
  });
});
