/**
 * The ASL file executed by a real ASL interpreter (aws-local-stepfunctions) with every Task bound to
 * the handler code from the sources, in-process, over S3 mocked with aws-sdk-client-mock and a fake
 * clock: the workflow's decisions, fast. The integration tests run the synthesized artifact.
 */
import { splicedFrom } from '../../../functions/hls';
import type { ExecutionRecord } from '../../../local/engine';
import { engineWorkflow } from '../../support/engine-workflow';
import { s3Error } from '../../support/fake-s3';
import { fixture, mediaPlaylist } from '../../support/playlists';
import { BUCKET } from '../../support/workflow-driver';

const T0 = Date.parse('2026-11-24T10:00:00Z');
const TD = 2;

function s3Event(key: string) {
  return {
    version: '0',
    source: 'aws.s3',
    'detail-type': 'Object Created',
    time: new Date().toISOString(),
    detail: {
      version: '0',
      bucket: { name: BUCKET },
      object: { key, size: 100, etag: 'e', sequencer: '00' },
      reason: 'PutObject',
    },
  };
}
const watchdogEvent = {
  source: 'hls-failover.watchdog',
  'detail-type': 'Scheduled Event',
  detail: { bucket: { name: BUCKET } },
};

function setUp(settings: Record<string, unknown> = {}) {
  const { s3, run, engine, alerts, started } = engineWorkflow(settings);
  const executions: ExecutionRecord[] = [];
  const put = async (key: string, body: string) => {
    s3.write(key, body);
    const record = await engine.run(s3Event(key));
    executions.push(record);
    return record;
  };
  const upload = async (encoder: string, n: number) => {
    s3.now = T0 + n * TD * 1000;
    for (const r of ['720p.m3u8', '360p.m3u8']) {
      s3.upload(`ch1/${encoder}/${r}`, mediaPlaylist({ sequence: n - 3, count: 4 }));
      executions.push(await engine.run(s3Event(`ch1/${encoder}/${r}`)));
    }
  };
  /** Output-locked encoders: both write segment n at once, then the events are handled. */
  const uploadBoth = async (n: number) => {
    s3.now = T0 + n * TD * 1000;
    const keys = ['primary', 'failover'].flatMap((e) =>
      ['720p.m3u8', '360p.m3u8'].map((r) => `ch1/${e}/${r}`),
    );
    for (const key of keys) s3.upload(key, mediaPlaylist({ sequence: n - 3, count: 4 }));
    for (const key of keys) executions.push(await engine.run(s3Event(key)));
  };
  const start = async () => {
    for (const e of ['primary', 'failover']) await put(`ch1/${e}/master.m3u8`, fixture('master-simple.m3u8'));
    for (let n = 10; n <= 12; n++) await uploadBoth(n);
  };
  return { s3, run, engine, alerts, started, executions, put, upload, uploadBoth, start };
}

const statesEntered = (r: ExecutionRecord) =>
  r.events
    .filter((e) => (e as { type: string }).type === 'StateEntered')
    .map((e) => (e as { state: { name: string } }).state.name);

describe('the state machine on a real ASL engine', () => {
  it('healthy pair: every execution succeeds and the index lists both encoders', async () => {
    const { s3, executions, start, alerts } = setUp();
    await start();
    expect(executions.map((e) => e.status)).toEqual(executions.map(() => 'SUCCEEDED'));
    const entered = statesEntered(executions[0] as ExecutionRecord);
    // The Parallel state's two branches interleave: their states in any order, between the others.
    const branches = [
      'NeedsWithdrawal',
      'WithdrawalDone',
      'NeedsIndexUpdate',
      'MergeIndex',
      'IndexDone',
      'NeedsPublication',
      'PublicationDone',
    ];
    expect(entered.filter((s) => !branches.includes(s))).toEqual([
      'RouteInput',
      'ValidatePlaylist',
      'IsPlaylistNew',
      'CheckCounterpartFreshness',
      'ApplyChannelActions',
      'WithdrawAndMerge',
      'PublishHealthMetrics',
      'HasAlerts',
      'CheckOutcome',
      'Done',
    ]);
    expect(entered.slice(6, 6 + branches.length).sort()).toEqual([...branches].sort());
    expect(s3.body('ch1/index.m3u8')).toMatch(/primary\/720p\.m3u8[\s\S]*failover\/720p\.m3u8/);
    expect(alerts).toEqual([]);
  });

  /**
   * The primary stops while the failover writes segments 13–16: one alert, from the execution that
   * withdraws (WithdrawStalePlaylists and MergeIndex at once), and steering flipped.
   */
  const primaryStalls = async (settings: Record<string, unknown> = {}) => {
    const run = setUp(settings);
    const { s3, executions, start, upload, alerts } = run;
    await start();
    for (let n = 13; n <= 16; n++) await upload('failover', n);
    expect(alerts).toEqual(['[hls-failover] ch1: primary STALLED']);
    const notified = executions.filter((e) => statesEntered(e).includes('NotifyOnCall'));
    expect(notified).toHaveLength(1);
    const entered = statesEntered(notified[0] as ExecutionRecord);
    expect(entered).toEqual(expect.arrayContaining(['MergeIndex', 'WithdrawStalePlaylists', 'PublishAlert']));
    // At once: the merge does not wait for the withdrawal's copies (the steering budget).
    expect(entered).toContain('WithdrawAndMerge');
    expect(s3.body('ch1/steering.json')).toContain('["failover","primary"]');
    return run;
  };

  it('primary stalls, splicing off: NotifyOnCall publishes one alert; the primary playlists are deleted, then steering flips', async () => {
    const { s3 } = await primaryStalls({ splicing: false });
    expect(s3.objects.has('ch1/primary/720p.m3u8')).toBe(false);
  });

  it("primary stalls, splicing on (the default): NotifyOnCall publishes one alert; the primary playlists are spliced from the failover's, then steering flips; each later failover upload splices again", async () => {
    const { s3, executions, upload } = await primaryStalls();
    expect(splicedFrom(s3.body('ch1/primary/720p.m3u8') ?? '')).toBe('failover');
    const before = executions.length;
    await upload('failover', 17);
    const refreshed = executions
      .slice(before)
      .filter((e) => statesEntered(e).includes('WithdrawStalePlaylists'));
    expect(refreshed).toHaveLength(2); // one per rendition
    // Segment 17 copied into the primary's folder, under its name there.
    expect(s3.body('ch1/primary/720p.m3u8')).toMatch(/^seg_17\.ts$/m);
    expect(s3.copies).toContain('ch1/primary/seg_17.ts');
  });

  it('invalid playlist: the execution records it, alerts once, and still fails as PlaylistInvalid with every violation in the cause', async () => {
    const { run, put } = setUp();
    const record = await put('ch1/primary/720p.m3u8', '#EXTM3U\n#EXTINF:x,\na.ts\n');
    expect(record).toMatchObject({ status: 'FAILED', error: 'PlaylistInvalid' });
    expect(record.cause).toContain('line 2 extinf-invalid');
    expect(record.cause).toContain('line 1 targetduration-missing');
    expect(statesEntered(record)).toEqual([
      'RouteInput',
      'ValidatePlaylist',
      'RecordInvalidPlaylist',
      'PublishHealthMetrics',
      'HasAlerts',
      'NotifyOnCall',
      'PublishAlert',
      'MarkAlertsSent',
      'CheckOutcome',
      'PlaylistInvalid',
    ]);
    expect(run.metricLines.some((l) => l.includes('"InvalidPlaylists":1'))).toBe(true);
  });

  it('a duplicate event ends in NothingToDo', async () => {
    const { s3, engine, start } = setUp();
    await start();
    const again = await engine.run(s3Event('ch1/primary/720p.m3u8'));
    expect(again.status).toBe('SUCCEEDED');
    expect(statesEntered(again)).toEqual(['RouteInput', 'ValidatePlaylist', 'IsPlaylistNew', 'NothingToDo']);
    expect(s3.objects.size).toBeGreaterThan(0);
  });

  it('watchdog: both encoders silent gives one CHANNEL DOWN alert across ticks', async () => {
    const { s3, engine, start, alerts, started } = setUp();
    await start();
    s3.now += 60_000;
    const first = await engine.run(watchdogEvent);
    const [check] = await started();
    await engine.run(watchdogEvent);
    await started();
    expect(first.status).toBe('SUCCEEDED');
    expect(statesEntered(first)).toEqual([
      'RouteInput',
      'Watchdog',
      'CheckEachChannel',
      'StartChannelCheck',
      'PublishHealthMetrics',
      'HasAlerts',
      'CheckOutcome',
      'Done',
    ]);
    // The channel is checked by an execution of its own, through the same tail as an event.
    expect(check?.input).toMatchObject({ source: 'hls-failover.watchdog', detail: { channel: 'ch1' } });
    expect(statesEntered(check as ExecutionRecord)).toEqual(
      expect.arrayContaining(['CheckChannel', 'ApplyChannelActions', 'NotifyOnCall', 'Done']),
    );
    expect(alerts).toEqual(['[hls-failover] ch1: CHANNEL DOWN']);
  });

  it('watchdog: 60 channels down at once stay within the 256 KiB state quota; every channel alerts', async () => {
    // One execution for every channel would carry 60 channels' alerts and metrics (about 29 KB a
    // channel down): Step Functions fails such an execution with States.DataLimitExceeded.
    const { s3, engine, alerts, started } = setUp();
    const channels = Array.from({ length: 60 }, (_, i) => `channel-${i}`);
    s3.now = T0;
    for (const channel of channels)
      for (const e of ['primary', 'failover']) {
        s3.write(`${channel}/${e}/master.m3u8`, fixture('master-simple.m3u8'));
        for (const r of ['720p.m3u8', '360p.m3u8']) {
          s3.write(`${channel}/${e}/${r}`, mediaPlaylist({ sequence: 7, count: 4 }));
          expect((await engine.run(s3Event(`${channel}/${e}/${r}`))).status).toBe('SUCCEEDED');
        }
      }
    s3.now += 60_000;
    const run = await engine.run(watchdogEvent);
    const checks = await started();
    expect([run, ...checks].filter((r) => r.status !== 'SUCCEEDED').map((r) => r.error)).toEqual([]);
    expect(checks.map((c) => (c.input as { detail: { channel: string } }).detail.channel).sort()).toEqual(
      [...channels].sort(),
    );
    expect(alerts.filter((a) => a.endsWith('CHANNEL DOWN'))).toHaveLength(60);
  });

  it('retries a transient S3 failure (SlowDown) with backoff and then succeeds', async () => {
    const { s3, put } = setUp();
    s3.failGets.push(s3Error('SlowDown', 503));
    const record = await put('ch1/primary/720p.m3u8', mediaPlaylist());
    expect(record.events.some((e) => (e as { type: string }).type === 'StateRetried')).toBe(true);
    expect(record.status).toBe('SUCCEEDED');
  });
});
