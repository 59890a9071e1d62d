/**
 * The measuring stick of the end-to-end tests, checked on its own: a freeze is measured as the
 * time the picture fell behind the wall clock, so 250 ms samples still measure short freezes
 * precisely, and playback that merely samples late is not a freeze.
 */
import {
  distribution,
  ObjectTimeline,
  type PlayerRecord,
  type PlayerSample,
  summarizePlayback,
} from '../support/e2e-metrics';

const T0 = 1_000_000;

/** Samples every 250 ms; `rate(i)` is how much media time advanced per second in interval i. */
function record(count: number, rate: (i: number) => number, extra: Partial<PlayerSample> = {}): PlayerRecord {
  const samples: PlayerSample[] = [];
  let currentTime = 0;
  for (let i = 0; i < count; i++) {
    if (i > 0) currentTime += 0.25 * rate(i);
    samples.push({
      at: T0 + i * 250,
      currentTime,
      bufferedEnd: currentTime + 6,
      paused: false,
      ended: false,
      readyState: 4,
      fragEncoder: i < count / 2 ? 'primary' : 'failover',
      levelEncoder: 'primary',
      pathwayPriority: null,
      ...extra,
    });
  }
  return {
    src: 'x',
    player: 'hlsjs',
    playerVersion: 'test',
    startedAt: T0,
    samples,
    mediaEvents: [],
    loads: [{ at: T0 + 20 * 250, type: 'frag', url: 'http://o/ch/failover/s_1.ts', encoder: 'failover' }],
    errors: [],
    steering: [],
  };
}

describe('summarizePlayback', () => {
  it('steady playback: no freeze, playing at the end', () => {
    const s = summarizePlayback(record(40, () => 1));
    expect(s.rebufferSeconds).toBe(0);
    expect(s.longestFreezeSeconds).toBe(0);
    expect(s.playingAtEnd).toBe(true);
    expect(s.ended).toBe(false);
  });

  it('a 1.5 s freeze in the middle measures 1.5 s and ends when playback resumes', () => {
    const s = summarizePlayback(record(40, (i) => (i >= 10 && i < 16 ? 0 : 1)));
    expect(s.freezes).toEqual([{ from: T0 + 9 * 250, to: T0 + 15 * 250, seconds: 1.5, open: false }]);
    expect(s.rebufferSeconds).toBe(1.5);
    expect(s.playingAtEnd).toBe(true);
  });

  it('a freeze shorter than one sample interval is still measured (0.15 s of 0.25 s lost)', () => {
    const s = summarizePlayback(record(40, (i) => (i === 12 ? 0.4 : 1)));
    expect(s.longestFreezeSeconds).toBeCloseTo(0.15, 5);
  });

  it('a frozen end is an open freeze and not playing at the end', () => {
    const s = summarizePlayback(record(40, (i) => (i >= 20 ? 0 : 1)));
    expect(s.freezes).toHaveLength(1);
    expect(s.freezes[0]?.open).toBe(true);
    expect(s.longestFreezeSeconds).toBeCloseTo(5, 5);
    expect(s.playingAtEnd).toBe(false);
  });

  it('an ended element is not frozen: the session is over, which `ended` reports', () => {
    const r = record(40, (i) => (i >= 20 ? 0 : 1));
    const samples = r.samples.map((s, i) => (i >= 20 ? { ...s, ended: true, paused: true } : s));
    const s = summarizePlayback({ ...r, samples });
    expect(s.rebufferSeconds).toBe(0);
    expect(s.ended).toBe(true);
    expect(s.playingAtEnd).toBe(false);
  });

  it('startup is not a freeze; the pathway before and after a fault and the switch time', () => {
    const s = summarizePlayback(
      record(40, (i) => (i < 5 ? 0 : 1)),
      { fault: T0 + 15 * 250 },
    );
    expect(s.playingSince).toBe(T0 + 5 * 250);
    expect(s.rebufferSeconds).toBe(0);
    expect(s.pathwayBefore).toBe('primary');
    expect(s.pathwayAfter).toBe('failover');
    expect(s.switchedAt).toBe(T0 + 20 * 250);
  });

  it('a seek to the live edge before the first frame is startup, not a freeze (video.js: 0 → 6 s, then buffering)', () => {
    // Interval 3 seeks 6 s ahead (24 × the wall time), intervals 4–7 buffer, playback from 8.
    const s = summarizePlayback(record(40, (i) => (i === 3 ? 24 : i < 8 ? 0 : 1)));
    expect(s.playingSince).toBe(T0 + 8 * 250);
    expect(s.longestFreezeSeconds).toBe(0);
    expect(s.skippedSeconds).toBe(0);
  });

  it('a forward jump is content skipped, not a freeze', () => {
    const s = summarizePlayback(record(40, (i) => (i === 20 ? 9 : 1)));
    expect(s.jumps).toBe(1);
    expect(s.skippedSeconds).toBe(2);
    expect(s.rebufferSeconds).toBe(0);
  });
});

describe('ObjectTimeline', () => {
  it('finds the last media playlist upload, steering writes and withdrawals of one channel', () => {
    const t = new ObjectTimeline('ch');
    t.record({ key: 'ch/primary/master.m3u8', kind: 'created', reason: 'PutObject', at: 1 });
    t.record({ key: 'ch/primary/stream_0.m3u8', kind: 'created', reason: 'PutObject', at: 2 });
    t.record({ key: 'ch/primary/stream_0_5.ts', kind: 'created', reason: 'PutObject', at: 3 });
    t.record({ key: 'other/primary/stream_0.m3u8', kind: 'created', reason: 'PutObject', at: 4 });
    t.record({ key: 'ch/steering.json', kind: 'created', reason: 'PutObject', at: 5 });
    t.record({ key: 'ch/primary/stream_0_1.ts', kind: 'deleted', reason: 'DeleteObject', at: 6 });
    t.record({ key: 'ch/primary/stream_0.m3u8', kind: 'deleted', reason: 'DeleteObject', at: 7 });
    expect(t.lastUpload('primary')).toBe(2);
    t.record({ key: 'ch/primary/stream_1.m3u8', kind: 'created', reason: 'PutObject', at: 8 });
    t.record({ key: 'ch/primary/stream_0.m3u8', kind: 'created', reason: 'PutObject', at: 9 });
    t.record({ key: 'ch/primary/stream_1.m3u8', kind: 'created', reason: 'PutObject', at: 10 });
    expect(t.lastCompleteUpload('primary', 9)).toBe(8);
    expect(t.lastCompleteUpload('primary')).toBe(9);
    expect(t.firstUploadAfter('primary', 0)).toBe(2);
    expect(t.writesOf('steering.json', 0)).toEqual([5]);
    expect(t.withdrawals('primary', 0).map((e) => e.at)).toEqual([7]);
    expect(t.withdrawn('primary', 0)).toBe(7);
  });

  it('a withdrawal by splicing: the first copy over each media playlist; copies are not uploads', () => {
    const t = new ObjectTimeline('ch');
    t.record({ key: 'ch/primary/a.m3u8', kind: 'created', reason: 'PutObject', at: 1 });
    t.record({ key: 'ch/primary/b.m3u8', kind: 'created', reason: 'PutObject', at: 1 });
    t.record({ key: 'ch/primary/a.m3u8', kind: 'created', reason: 'CopyObject', at: 5 });
    t.record({ key: 'ch/primary/b.m3u8', kind: 'created', reason: 'CopyObject', at: 6 });
    t.record({ key: 'ch/primary/a.m3u8', kind: 'created', reason: 'CopyObject', at: 9 });
    expect(t.lastUpload('primary')).toBe(1);
    expect(t.withdrawn('primary', 0)).toBe(6);
  });
});

describe('distribution', () => {
  it('min, median, max, and missing values counted', () => {
    expect(distribution([3, 1, undefined, 2])).toEqual({ n: 3, missing: 1, min: 1, median: 2, max: 3 });
    expect(distribution([undefined])).toEqual({ n: 0, missing: 1 });
  });
});
