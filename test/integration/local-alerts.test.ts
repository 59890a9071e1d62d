/**
 * Alerts mean one thing each, end to end on the local runtime (real S3 endpoint, real ASL engine,
 * real handlers; TD 1 s, real clock): each incident gives exactly one alert and one recovery.
 */
import { cadence, startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { fixture, mediaPlaylist } from '../support/playlists';

jest.setTimeout(60_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('alerts on the local runtime: one alert and one recovery per incident', () => {
  let runtime: TestRuntime;
  const subjects = () => runtime.alerts.map((a) => a.subject.replace('[hls-failover] ch1: ', ''));
  const startChannel = (encoders?: readonly string[]) => runtime.startChannel('ch1', encoders);

  /**
   * These tests count alerts, not detection times: a lag grace of 1 × TD keeps the uneven uploads
   * of a loaded machine (the four PUTs of one segment seconds apart) from raising real lag stalls.
   */
  const settings = { recoverAfterUpdates: 2, lagGraceTargetDurations: 1 };
  const start = async (more: Record<string, unknown> = {}) => {
    runtime = await startTestRuntime({ ...settings, ...more });
  };
  afterEach(async () => {
    await runtime.close();
  });

  it('one truncated playlist, then valid ones: INVALID PLAYLIST and PLAYLISTS VALID AGAIN, nothing else', async () => {
    // TD 2 s here: the truncated version must stay the stored one until its execution reads it.
    // A grace of 0.5 × TD (1 s): the primary's 720p, one segment behind for 2 s, is past it, so
    // the lag signal alone would call it stalled.
    await start({ lagGraceTargetDurations: 0.5 });
    const playlist = (n: number) =>
      mediaPlaylist({ sequence: n - 3, count: 4, targetDuration: 2, duration: 2 });
    const segment = (n: number, primary720 = playlist(n)) =>
      Promise.all([
        runtime.ingest('ch1/primary/720p.m3u8', primary720),
        runtime.ingest('ch1/primary/360p.m3u8', playlist(n)),
        runtime.ingest('ch1/failover/720p.m3u8', playlist(n)),
        runtime.ingest('ch1/failover/360p.m3u8', playlist(n)),
      ]);
    for (const e of ['primary', 'failover'])
      await runtime.ingest(`ch1/${e}/master.m3u8`, fixture('master-simple.m3u8'));
    const tick = cadence(2000);
    for (let n = 10; n <= 17; n++) {
      const whole = playlist(n);
      await segment(n, n === 12 ? whole.slice(0, whole.lastIndexOf(`seg_${n}.ts`)) : whole);
      await tick();
    }
    await runtime.idle();
    await runtime.watchdog();
    expect(runtime.executions.filter((e) => e.error === 'PlaylistInvalid')).toHaveLength(1);
    expect(runtime.alerts.map((a) => `${a.subject}: ${a.message.split('\n')[2]}`)).toEqual([
      expect.stringContaining('primary INVALID PLAYLIST'),
      expect.stringContaining('primary PLAYLISTS VALID AGAIN'),
    ]);
    expect((await runtime.origin('ch1/primary/720p.m3u8')).status).toBe(200);
  });

  it.each([
    ['both encoders silent', ['primary', 'failover']],
    ['a channel fed by one encoder that goes silent', ['primary']],
  ])('%s: the watchdog raises one CHANNEL DOWN, and one CHANNEL UP when it is back', async (_, encoders) => {
    await start();
    await startChannel(encoders);
    await sleep(2500);
    await runtime.watchdog();
    await runtime.watchdog();
    expect(subjects()).toEqual(['CHANNEL DOWN']);
    const tick = cadence(1000);
    for (let n = 15; n <= 19; n++) {
      await Promise.all(encoders.map((e) => runtime.upload('ch1', e, n)));
      await tick();
    }
    await runtime.idle();
    await runtime.watchdog();
    expect(subjects()).toEqual(['CHANNEL DOWN', 'CHANNEL UP']);
  });

  it('the runtime down for a while and back while both encoders are healthy raises nothing', async () => {
    await start();
    await startChannel();
    const dataDir = runtime.endpoints.dataDir;
    await runtime.close();
    await sleep(4000); // the encoders cannot upload meanwhile: the runtime is their S3 endpoint
    runtime = await startTestRuntime(settings, { dataDir });
    const tick = cadence(1000);
    await runtime.upload('ch1', 'primary', 19); // the primary reconnects a segment before the failover
    await tick();
    for (let n = 20; n <= 24; n++) {
      await runtime.uploadBoth('ch1', n);
      await tick();
    }
    await runtime.idle();
    await runtime.watchdog();
    expect(subjects()).toEqual([]);
  });
});
