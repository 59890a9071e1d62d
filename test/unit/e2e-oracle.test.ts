/**
 * The end-to-end oracle itself: what it sets aside when the encoders drift apart, and how it
 * measures that drift. A lax oracle would pass a broken failover; a strict one fails CI on a
 * loaded machine for what the workflow rightly did.
 */
import { ObjectTimeline } from '../support/e2e-metrics';
import { formatResult, problemsOf, type ScenarioResult, type ViewerFigures } from '../support/e2e-scenarios';

const FAULT = Date.parse('2026-12-01T10:00:00Z');
const CHANNEL = 'e2e-published-stopped';

const smoothViewer: ViewerFigures = {
  label: 'viewer 1',
  player: 'hlsjs',
  summary: {
    playingSince: FAULT - 10_000,
    observedSeconds: 30,
    rebufferSeconds: 0,
    longestFreezeSeconds: 0,
    freezes: [],
    driftSeconds: 0,
    waitingEvents: 0,
    jumps: 0,
    skippedSeconds: 0,
    playingAtEnd: true,
    ended: false,
    pathwayBefore: 'primary',
    pathwayAfter: 'failover',
    switchedAt: FAULT + 3000,
    fatalErrors: [],
  },
  switchSeconds: 3,
  loadedEndlist: false,
  outcome: 'continued',
  playerErrors: [],
  encoderPlaylistLoads: 0,
};

/** A published-mode stop that met every budget, with these alerts (seconds from the fault). */
function stopped(
  alerts: [kind: string, secondsFromFault: number][],
  driftBeyondGrace: boolean,
): ScenarioResult {
  const records = alerts.map(([kind, s]) => ({
    subject: `[hls-failover] ${CHANNEL}: ${kind}`,
    at: FAULT + s * 1000,
  }));
  return {
    scenario: 'published-stopped',
    title: 'published stop',
    targetDuration: 2,
    alerts: records.map((a) => a.subject),
    alertRecords: records,
    failedExecutions: [],
    lastGoodUpload: FAULT + 100,
    faultAt: FAULT,
    faultAfterUploadMs: undefined,
    uploadSkewMs: { p50: 50, max: driftBeyondGrace ? 900 : 100 },
    driftBeyondGrace,
    publishHopMs: { p50: 300, p99: 900, count: 20 },
    detectionSeconds: 1.4,
    steeringSeconds: undefined,
    withdrawalSeconds: undefined,
    steeringAtEnd: undefined,
    faultyPlaylistStatusAtEnd: 403,
    viewers: [smoothViewer],
    notes: [],
    startUp: { alerts: [], lateMs: 100, loaded: false },
  };
}

describe('the e2e oracle, when the encoders drift apart beyond the lag grace', () => {
  it("sets aside the faulted encoder's STALLED / RECOVERED pair that came before the fault", () => {
    const r = stopped(
      [
        ['primary STALLED', -6],
        ['primary RECOVERED', -2],
        ['primary STOPPED', 1.4],
      ],
      true,
    );
    expect(problemsOf(r)).toEqual([]);
  });

  it("keeps the faulted encoder's stall and recovery after the fault: the fault is judged as it happened", () => {
    const r = stopped(
      [
        ['primary STALLED', 0.5],
        ['primary RECOVERED', 1],
        ['primary STOPPED', 3],
      ],
      true,
    );
    expect(problemsOf(r)).toEqual([
      expect.stringMatching(/^alerts .*primary STALLED at 0\.5 s from the fault.*expected/),
    ]);
  });

  it('sets aside a pair of the encoder the scenario did not fault, whenever it came', () => {
    const r = stopped(
      [
        ['failover STALLED', 2],
        ['failover RECOVERED', 6],
        ['primary STOPPED', 1.4],
      ],
      true,
    );
    expect(problemsOf(r)).toEqual([]);
  });

  it('keeps a STALLED after its pair: an encoder left stalled is no drift', () => {
    const r = stopped(
      [
        ['failover STALLED', 2],
        ['failover RECOVERED', 6],
        ['failover STALLED', 8],
        ['primary STOPPED', 1.4],
      ],
      true,
    );
    expect(problemsOf(r)).toEqual([expect.stringMatching(/^alerts .*failover STALLED at 8\.0 s/)]);
  });
});

describe('the e2e oracle, before the scenario began (start-up)', () => {
  const withStartUp = (loaded: boolean) => ({
    ...stopped([['primary STOPPED', 1.4]], false),
    startUp: {
      alerts: ['[hls-failover] e2e-published-stopped: primary STALLED (180p.m3u8: no update for 5.4 s)'],
      lateMs: loaded ? 4200 : 150,
      loaded,
    },
  });

  it('accepts start-up alerts when the encoders’ segments then came later than the lag grace allows', () => {
    expect(problemsOf(withStartUp(true))).toEqual([]);
  });

  it('fails on start-up alerts when nothing was late: a false stall at channel start is a bug', () => {
    expect(problemsOf(withStartUp(false))).toEqual([
      expect.stringMatching(
        /^alerts before the scenario began, while the encoders' segments came at most 150 ms later/,
      ),
    ]);
  });
});

describe('the e2e oracle, with encoders locked within the lag grace', () => {
  it('sets nothing aside: a stall before the fault is a false stall, and a problem', () => {
    const r = stopped(
      [
        ['primary STALLED', -6],
        ['primary RECOVERED', -2],
        ['primary STOPPED', 1.4],
      ],
      false,
    );
    expect(problemsOf(r)).toHaveLength(1);
  });

  it('says when a viewer froze, from the fault', () => {
    const frozen = {
      ...smoothViewer,
      summary: {
        ...smoothViewer.summary,
        freezes: [{ from: FAULT - 4800, to: FAULT - 4300, seconds: 0.5, open: false }],
      },
    };
    const r = { ...stopped([['primary STOPPED', 1.4]], false), viewers: [frozen] };
    expect(problemsOf(r)).toEqual(['viewer 1 froze 0.5 s at -4.8 s from the fault (limit 0.25 s)']);
  });
});

describe("the encoders' upload skew", () => {
  it('pairs the two encoders’ writes of the same segment, however late one is', () => {
    const timeline = new ObjectTimeline('ch');
    const put = (key: string, at: number) =>
      timeline.record({ key: `ch/${key}`, kind: 'created', reason: 'PutObject', at });
    put('primary/720p_100.ts', 1000);
    put('failover/720p_100.ts', 1040);
    put('primary/720p_101.ts', 3000);
    // The failover writes segment 101 as late as the primary writes 102: nearest in time, they
    // would pair with 0 ms; by name they are 2 s apart.
    put('primary/720p_102.ts', 5000);
    put('failover/720p_101.ts', 5000);
    put('failover/720p.m3u8', 5010);
    put('primary/720p.m3u8', 5010);
    put('primary/720p_103.ts', 7000); // the failover never wrote it: no pair
    expect(timeline.uploadSkewMs('primary', 'failover').sort((a, b) => a - b)).toEqual([40, 2000]);
    // A stop at 4.5 s: the segment the stopped encoder cut short is no measure of locking.
    expect(timeline.uploadSkewMs('primary', 'failover', Number.NEGATIVE_INFINITY, 4500)).toEqual([40]);
    expect(timeline.uploadSkewMs('primary', 'failover', 2000)).toEqual([2000]);
  });

  it('measures how late an encoder wrote each segment after it ended (segment n ends at (n + 1) × TD)', () => {
    const timeline = new ObjectTimeline('ch');
    timeline.record({ key: 'ch/primary/720p_10.ts', kind: 'created', reason: 'PutObject', at: 22_300 });
    timeline.record({ key: 'ch/primary/720p_11.ts', kind: 'created', reason: 'PutObject', at: 28_000 });
    timeline.record({ key: 'ch/primary/720p.m3u8', kind: 'created', reason: 'PutObject', at: 28_010 });
    expect(timeline.segmentLatenessMs('primary', 2)).toEqual([300, 4000]);
    expect(timeline.segmentLatenessMs('primary', 2, 0, 25_000)).toEqual([300]);
  });
});

describe('the scenario figures', () => {
  it('print alike failed executions once, with their count and the first cause: a log tail keeps the figures', () => {
    const failures = Array.from(
      { length: 12 },
      (_, i) =>
        `ValidatePlaylist: PlaylistInvalid (${i}.0 s from the fault): {"errorMessage":"invalid ${i}"}`,
    );
    const text = formatResult({ ...stopped([['primary STOPPED', 1.4]], false), failedExecutions: failures });
    const lines = text.split('\n').filter((l) => l.includes('FAILED executions'));
    expect(lines).toEqual([
      '   FAILED executions: 12 × ValidatePlaylist: PlaylistInvalid; the first: ValidatePlaylist: PlaylistInvalid (0.0 s from the fault): {"errorMessage":"invalid 0"}',
    ]);
    expect(text).toContain('primary STOPPED at 1.4 s from the fault');
  });
});

describe('the e2e oracle, failback with a restarted encoder that drifts', () => {
  const failback = (driftAfterRestart: boolean) => {
    const records = (
      [
        ['STALLED', 2],
        ['RECOVERED', 18.1],
        ['STALLED', 20.3],
        ['RECOVERED', 25.7],
      ] as const
    ).map(([kind, s]) => ({ subject: `[hls-failover] e2e-failback: primary ${kind}`, at: FAULT + s * 1000 }));
    return {
      ...stopped([], false),
      scenario: 'failback' as const,
      alerts: records.map((a) => a.subject),
      alertRecords: records,
      restartSkewMs: driftAfterRestart ? 700 : 100,
      driftAfterRestart,
    };
  };
  const alertProblems = (r: ScenarioResult) => problemsOf(r).filter((p) => p.startsWith('alerts '));

  it('sets aside a stall and recovery after the expected RECOVERED when the restarted encoder wrote its segments beyond the lag grace', () => {
    expect(alertProblems(failback(true))).toEqual([]);
  });

  it('fails on them when the restarted encoder kept in step', () => {
    expect(alertProblems(failback(false))).toHaveLength(1);
  });
});
