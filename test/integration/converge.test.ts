/**
 * Converge, don't remember (issue 16 §1), on the local runtime with the synthesized artifact: the
 * execution that owns a transition dies or fails after its state write (a fault injected into the
 * local engine, on the same ASL that AWS runs), or the workflow's objects change behind its back;
 * the next watchdog run (or event) repairs the difference. Real clock, target duration 1 s.
 */
import { WITHDRAWAL_OWNER_GRACE_MS } from '../../functions/converge';
import { ALERT_RESEND_AFTER_MS } from '../../functions/outbox';
import { EXECUTION_DIED } from '../../local/engine';
import { cadence, startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { fixture } from '../support/playlists';

jest.setTimeout(90_000);

const STALLED = '[hls-failover] ch1: primary STALLED';

describe('the workflow converges after an execution dies (fault injection)', () => {
  let runtime: TestRuntime;
  beforeEach(async () => {
    runtime = await startTestRuntime({ recoverAfterUpdates: 2 });
  });
  afterEach(async () => {
    await runtime.close();
  });

  /** Both encoders write their masters and segments 10 and 11; returns their cadence (TD 1 s). */
  const startChannel = async () => {
    for (const e of ['primary', 'failover'])
      await runtime.ingest(`ch1/${e}/master.m3u8`, fixture('master-simple.m3u8'));
    for (let n = 10; n <= 11; n++) await runtime.uploadBoth('ch1', n);
    const tick = cadence(1000);
    await runtime.idle();
    return tick;
  };
  const died = () => runtime.executions.filter((e) => e.error === EXECUTION_DIED);
  const status = async (path: string) => (await runtime.origin(path)).status;

  it.each(['WithdrawStalePlaylists', 'PublishAlert'])(
    'the execution that records a stall dies before %s: an event after the owner grace withdraws the playlists, and STALLED goes out exactly once after the resend bound',
    async (task) => {
      runtime.injectFault({ task, mode: 'die' });
      const tick = await startChannel();
      let n = 12;
      // The primary stops; the failover goes on until the stall is recorded and its execution dies.
      for (; died().length === 0 && n < 20; n++) {
        await tick();
        await runtime.upload('ch1', 'failover', n);
      }
      await runtime.idle();
      expect(died()).toHaveLength(1);
      expect(runtime.alerts).toEqual([]);
      const diedAt = Date.now();
      // The failover's segments after the owner's grace: their executions find the withdrawal not
      // done, from the state.
      while (Date.now() - diedAt < WITHDRAWAL_OWNER_GRACE_MS + 1000) {
        await tick();
        await runtime.upload('ch1', 'failover', n++);
      }
      await runtime.idle();
      expect(await runtime.splicedFrom('ch1/primary/720p.m3u8')).toBe('failover');
      // The failover stays live while the dead owner's alert is within the resend bound.
      while (Date.now() - diedAt < ALERT_RESEND_AFTER_MS) {
        await tick();
        await runtime.upload('ch1', 'failover', n++);
      }

      await runtime.watchdog();
      await runtime.watchdog();

      // Withdrawn: spliced from the failover's (splicing, the default); the master stays.
      expect(await runtime.splicedFrom('ch1/primary/720p.m3u8')).toBe('failover');
      expect(await runtime.splicedFrom('ch1/primary/360p.m3u8')).toBe('failover');
      expect(await status('ch1/primary/master.m3u8')).toBe(200);
      expect(runtime.alerts.map((a) => a.subject)).toEqual([STALLED]);
    },
  );

  it('index.m3u8 deleted, then overwritten, and steering.json overwritten behind the workflow: the next watchdog run rebuilds them', async () => {
    await startChannel();
    const index = await (await runtime.origin('ch1/index.m3u8')).text();
    const { bucket } = runtime.endpoints;

    await runtime.store.delete(bucket, 'ch1/index.m3u8');
    await runtime.watchdog();
    const afterDelete = await runtime.origin('ch1/index.m3u8');
    await runtime.store.put(
      bucket,
      'ch1/index.m3u8',
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttps://elsewhere.example/x.m3u8\n',
      {
        contentType: 'application/vnd.apple.mpegurl',
      },
    );
    await runtime.store.put(bucket, 'ch1/steering.json', '{"VERSION":1,"TTL":2,"PATHWAY-PRIORITY":["x"]}', {
      contentType: 'application/json',
    });
    await runtime.watchdog();

    expect(afterDelete.status).toBe(200);
    expect(await afterDelete.text()).toContain('primary/720p.m3u8');
    const rebuilt = await (await runtime.origin('ch1/index.m3u8')).text();
    expect(rebuilt).not.toContain('elsewhere.example');
    expect(
      rebuilt
        .split('\n')
        .filter((l) => l.endsWith('.m3u8'))
        .sort(),
    ).toEqual(
      index
        .split('\n')
        .filter((l) => l.endsWith('.m3u8'))
        .sort(),
    );
    const steering = (await (await runtime.origin('ch1/steering.json')).json()) as Record<string, unknown>;
    expect(steering['PATHWAY-PRIORITY']).not.toEqual(['x']);
  });

  it('a master acknowledged whose execution then fails: the next watchdog run merges it', async () => {
    await startChannel();
    const changed = fixture('master-simple.m3u8').replace('BANDWIDTH=800000', 'BANDWIDTH=900000');
    runtime.injectFault({ task: 'ValidatePlaylist', mode: 'fail' });
    runtime.injectFault({ task: 'ValidatePlaylist', mode: 'fail' });
    await runtime.ingest('ch1/primary/master.m3u8', changed);
    await runtime.ingest('ch1/failover/master.m3u8', changed);
    await runtime.idle();
    expect(runtime.executions.filter((e) => e.error === 'WorkflowFailed')).toHaveLength(2);
    expect(await (await runtime.origin('ch1/index.m3u8')).text()).not.toContain('BANDWIDTH=900000');

    await runtime.watchdog();

    expect(await (await runtime.origin('ch1/index.m3u8')).text()).toContain('BANDWIDTH=900000');
  });
});
