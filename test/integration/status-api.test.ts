/**
 * The local status page's JSON API on a real runtime: what it says about channels, encoders and
 * renditions comes from the state the workflow keeps, read against the clock; executions and
 * alerts come from the runtime's sinks; the demo's controls are reachable through it.
 */
import type { ChannelView } from '../../functions/channel-view';
import type { AlertEntry, ExecutionSummary } from '../../local/status-server';
import { cadence, startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { fixture } from '../support/playlists';

jest.setTimeout(60_000);

describe('status JSON API (real runtime)', () => {
  let runtime: TestRuntime;

  // TD 2 s, as live encoders write: at TD 1 s, an execution queued past the 1.5 s threshold on a
  // busy 2-core machine counts as processed late, and the stall came after the three uploads.
  beforeEach(async () => {
    runtime = await startTestRuntime({}, {}, { targetDuration: 2 });
  });
  afterEach(() => runtime.close());

  it('reports each encoder and rendition: status, age in s and × TD, media sequence, lag; then a stall', async () => {
    const channel = 'sport ü';
    const path = encodeURIComponent(channel);
    for (const e of ['primary', 'failover'])
      await runtime.ingest(`${path}/${e}/master.m3u8`, fixture('master-simple.m3u8'));
    await runtime.uploadBoth(path, 11);
    const tick = cadence(2000);
    await runtime.idle();

    const { status, body } = await runtime.api<ChannelView>(`channels/${encodeURIComponent(channel)}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ channel, preferred: 'primary', ended: false, channelDown: false });
    const [primary, failover] = body.encoders;
    expect(primary).toMatchObject({ name: 'primary', status: 'healthy', preferred: true, withdrawn: false });
    expect(primary?.renditions.map((r) => r.name)).toEqual(['360p.m3u8', '720p.m3u8']);
    expect(primary?.renditions[0]).toMatchObject({
      status: 'healthy',
      mediaSequence: 8,
      lastSequence: 11,
      targetDuration: 2,
      lag: 0,
    });
    expect(failover?.renditions[0]).toMatchObject({ lastSequence: 11, lag: 0 });
    expect(primary?.renditions[0]?.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(body.index).toMatchObject({ preferred: 'primary' });

    // The failover moves on; the primary does not: the API shows the stall and who is preferred.
    for (let n = 12; n <= 14; n++) {
      await tick();
      await runtime.upload(path, 'failover', n);
    }
    await runtime.idle();
    const after = (
      await runtime.api<{ channels: ChannelView[]; alerts: AlertEntry[]; executions: ExecutionSummary[] }>(
        'status',
      )
    ).body;
    const view = after.channels.find((c) => c.channel === channel);
    expect(view?.preferred).toBe('failover');
    expect(view?.encoders[0]).toMatchObject({ name: 'primary', status: 'stalled', withdrawn: true });
    expect(view?.encoders[0]?.incidentId).toMatch(/^primary-/);
    expect(view?.encoders[0]?.renditions[0]).toMatchObject({ lastSequence: 11, lag: 3 });
    expect(view?.encoders[1]?.renditions[0]).toMatchObject({ lastSequence: 14, lag: -3 });
    expect(view?.encoders[0]?.renditions[0]?.ageTargetDurations).toBeGreaterThan(1.5);
    expect(after.alerts).toEqual([
      expect.objectContaining({
        subject: '[hls-failover] sport u: primary STALLED', // SNS subjects are ASCII; the channel field keeps ü
        kind: 'STALLED',
        channel,
        encoder: 'primary',
      }),
    ]);
    // Newest execution first; the ones that acted say what they wrote. The execution that records
    // the stall withdraws and alerts; steering may be written by it or by a later execution that
    // finds the index stale first (the withdrawal goes before the merge).
    const started = after.executions.map((e) => e.startedAt);
    expect(started).toEqual([...started].sort().reverse());
    const reasons = after.executions.map((e) => e.reason);
    expect(reasons).toContainEqual(expect.stringMatching(/\d playlist\(s\) spliced; 1 alert\(s\) sent/));
    expect(reasons).toContainEqual(expect.stringMatching(/steering\.json written/));
  });

  it('lists a failed execution with its error and reason', async () => {
    await runtime.ingest('ch1/primary/720p.m3u8', '#EXTM3U\n#EXTINF:3,\nseg.ts\n');
    await runtime.idle();
    const { body } = await runtime.api<ExecutionSummary[]>('executions?limit=5');
    expect(body).toEqual([
      expect.objectContaining({
        status: 'FAILED',
        trigger: 'ch1/primary/720p.m3u8',
        reason: expect.stringMatching(/^PlaylistInvalid: .*targetduration-missing/),
      }),
    ]);
  });

  it('serves the page and hls.js from node_modules; unknown paths get a 404 that says where to look', async () => {
    const page = await fetch(runtime.endpoints.status);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain(runtime.endpoints.origin);
    const hls = await fetch(`${runtime.endpoints.status}vendor/hls.min.js`);
    expect(hls.status).toBe(200);
    expect((await hls.text()).length).toBeGreaterThan(100_000);
    expect(await runtime.api('nope')).toEqual({
      status: 404,
      body: { error: expect.stringContaining('/api/nope') },
    });
    expect(await runtime.api('channels/never-seen')).toEqual({
      status: 404,
      body: { error: 'no channel "never-seen" has been seen yet' },
    });
  });

  it('controls the demo encoders: 404 without a demo, 400 with the reason for a bad request', async () => {
    expect((await runtime.api('demo')).status).toBe(404);
    const calls: string[] = [];
    runtime.attachDemo({
      channel: 'demo',
      source: 'pre-made',
      status: () => [{ name: 'primary', state: 'running' }],
      control: async (encoder, action) => {
        if (action !== 'stall') throw new Error(`unknown action "${action}"`);
        calls.push(`${encoder} ${action}`);
        return { name: encoder, state: 'stalled' };
      },
    });
    expect((await runtime.api('demo')).body).toEqual({
      channel: 'demo',
      source: 'pre-made',
      encoders: [{ name: 'primary', state: 'running' }],
    });
    expect(await runtime.api('demo/primary/stall', { method: 'POST' })).toEqual({
      status: 200,
      body: { name: 'primary', state: 'stalled' },
    });
    expect(await runtime.api('demo/primary/explode', { method: 'POST' })).toEqual({
      status: 400,
      body: { error: 'unknown action "explode"' },
    });
    expect(calls).toEqual(['primary stall']);
  });
});
