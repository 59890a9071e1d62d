import {
  assessFreshness,
  type ChannelHealth,
  ConfigInvalidError,
  type FreshnessOptions,
  type PlaylistObservation,
  type RenditionObservation,
  type Transition,
} from '../../../functions/hls';

const TD = 2; // target duration, seconds
const T0 = Date.parse('2026-11-24T10:00:00Z');
const at = (seconds: number) => T0 + seconds * 1000;

/** Both encoders output-locked: segment n is written at n × TD seconds. */
function playlist(lastSequence: number, writtenAt: number, endlist = false): PlaylistObservation {
  return {
    mediaSequence: lastSequence - 5,
    lastSequence,
    targetDuration: TD,
    endlist,
    lastModified: writtenAt,
  };
}
function seen(encoder: string, p: PlaylistObservation, rendition = '720p/index.m3u8'): RenditionObservation {
  return { encoder, rendition, playlist: p };
}

/** Replays a timeline of observations; returns the final state and every transition in order. */
function run(
  steps: { now: number; renditions: RenditionObservation[] }[],
  options: FreshnessOptions = {},
  start?: ChannelHealth,
): { state: ChannelHealth; transitions: Transition[] } {
  let state = start;
  const transitions: Transition[] = [];
  for (const step of steps) {
    const next = assessFreshness(state, step, options);
    state = next.state;
    transitions.push(...next.transitions);
  }
  return { state: state as ChannelHealth, transitions };
}

/** Both encoders healthy from second 0 to `until`, one upload each per segment. */
function healthyUntil(until: number, from = 0) {
  const steps = [];
  for (let s = from; s <= until; s += TD) {
    const n = s / TD;
    steps.push({
      now: at(s),
      renditions: [seen('primary', playlist(n, at(s))), seen('failover', playlist(n, at(s)))],
    });
  }
  return steps;
}

/** Only the failover keeps uploading from `from` to `until`. */
function failoverOnly(from: number, until: number) {
  const steps = [];
  for (let s = from; s <= until; s += TD)
    steps.push({ now: at(s), renditions: [seen('failover', playlist(s / TD, at(s)))] });
  return steps;
}

const kinds = (ts: Transition[]) => ts.map((t) => t.kind);

describe('assessFreshness', () => {
  it('marks both encoders healthy when both update in lock step, with no transitions', () => {
    const { state, transitions } = run(healthyUntil(20));
    expect(state.encoders.primary?.status).toBe('healthy');
    expect(state.encoders.failover?.status).toBe('healthy');
    expect(state.preferred).toBe('primary');
    expect(transitions).toEqual([]);
  });

  it('detects a stall once the playlist is older than 1.5 × target duration (rfc8216bis §6.2.1)', () => {
    // primary's last upload at 20 s; failover goes on. At 22 s: age 2 s ≤ 3 s; at 24 s: age 4 s > 3 s.
    const base = run(healthyUntil(20));
    const at22 = run(failoverOnly(22, 22), {}, base.state);
    expect(at22.state.encoders.primary?.status).toBe('healthy');
    const at24 = run(failoverOnly(24, 24), {}, at22.state);
    expect(at24.state.encoders.primary?.status).toBe('stalled');
    expect(kinds(at24.transitions)).toEqual(['encoder-stalled', 'preferred-changed', 'withdrawal-changed']);
    expect(at24.transitions[0]).toMatchObject({
      encoder: 'primary',
      incidentId: 'primary-2026-11-24T10:00:24.000Z',
      evidence: [{ rendition: '720p/index.m3u8', lastSequence: 10, ageSeconds: 4, ageTargetDurations: 2 }],
    });
    expect(at24.state).toMatchObject({ preferred: 'failover', withdrawn: ['primary'] });
  });

  it("allows for S3's whole-second LastModified: no stall until the age exceeds 1.5 × TD plus the resolution", () => {
    // Written at 20.9 s, stamped 20 s. At 23.9 s the stamp says 3.9 s old, but it may be only 3.0 s.
    const written = {
      now: at(20),
      renditions: [seen('primary', playlist(10, at(20))), seen('failover', playlist(10, at(20)))],
    };
    const check = (seconds: number, options: FreshnessOptions = {}) =>
      assessFreshness(
        assessFreshness(undefined, written).state,
        { now: at(seconds), renditions: [] },
        options,
      ).state.encoders.primary?.status;
    expect(check(3.9 + 20)).toBe('healthy');
    expect(check(4.1 + 20)).toBe('stalled');
    expect(check(3.9 + 20, { lastModifiedResolutionMs: 0 })).toBe('stalled');
  });

  it('detects a stall by media-sequence lag before the age limit (output locking: equal numbering)', () => {
    const base = run(healthyUntil(20));
    // The failover is two segments ahead while the primary's playlist is still young.
    const { state } = run(
      [{ now: at(21), renditions: [seen('failover', playlist(12, at(21)))] }],
      {},
      base.state,
    );
    expect(state.encoders.primary?.status).toBe('stalled');
    expect(state.encoders.primary?.reason).toMatch(/2 segments behind/);
  });

  it('emits each transition exactly once however many observations follow', () => {
    const { transitions } = run([...healthyUntil(20), ...failoverOnly(22, 60)]);
    expect(kinds(transitions)).toEqual(['encoder-stalled', 'preferred-changed', 'withdrawal-changed']);
  });

  it('recovers only after the configured number of fresh updates in a row (hysteresis), then fails back', () => {
    const stalled = run([...healthyUntil(20), ...failoverOnly(22, 40)]);
    const back = run(healthyUntil(48, 42), { recoverAfterUpdates: 3 }, stalled.state);
    expect(kinds(back.transitions)).toEqual(['encoder-recovered', 'preferred-changed', 'withdrawal-changed']);
    expect(back.transitions[0]).toMatchObject({
      encoder: 'primary',
      incidentId: 'primary-2026-11-24T10:00:24.000Z',
      durationMs: 22_000,
    });
    expect(back.state).toMatchObject({ preferred: 'primary', withdrawn: [] });
  });

  it('holds back flapping: a stall during recovery restarts the count and raises no new alert', () => {
    const stalled = run([...healthyUntil(20), ...failoverOnly(22, 40)]);
    const flap = run(
      [...healthyUntil(44, 42), ...failoverOnly(46, 52), ...healthyUntil(60, 54)],
      { recoverAfterUpdates: 3 },
      stalled.state,
    );
    expect(kinds(flap.transitions)).toEqual(['encoder-recovered', 'preferred-changed', 'withdrawal-changed']);
    expect(flap.transitions[0]).toMatchObject({ incidentId: 'primary-2026-11-24T10:00:24.000Z' });
  });

  it('fails back only once the restarted encoder holds the segment players on the failover are playing (3 × TD behind live)', () => {
    const stalled = run([...healthyUntil(20), ...failoverOnly(22, 40)]);
    // The primary restarts at 42 s: its playlist starts at segment 21 and grows by one per TD.
    let state = stalled.state;
    const timeline: string[] = [];
    for (let s = 42; s <= 50; s += TD) {
      const n = s / TD;
      const restarted = { ...playlist(n, at(s)), mediaSequence: 21 };
      const next = run(
        [{ now: at(s), renditions: [seen('primary', restarted), seen('failover', playlist(n, at(s)))] }],
        {},
        state,
      );
      state = next.state;
      timeline.push(...next.transitions.map((t) => `${s}: ${t.kind}`));
    }
    // Recovered after 3 fresh updates (46 s); back to the primary, and no longer withdrawn (its
    // viewers keep the splices until then), only when segment 21 is at least 3 segments behind the
    // failover's live edge (48 s: edge 24).
    expect(timeline).toEqual(['46: encoder-recovered', '48: preferred-changed', '48: withdrawal-changed']);
  });

  it('stays on the failover after recovery when failback is manual', () => {
    const stalled = run([...healthyUntil(20), ...failoverOnly(22, 40)]);
    const back = run(healthyUntil(50, 42), { failback: 'manual' }, stalled.state);
    expect(kinds(back.transitions)).toEqual(['encoder-recovered', 'withdrawal-changed']);
    expect(back.state.preferred).toBe('failover');
  });

  it('treats EXT-X-ENDLIST as ended, never stalled', () => {
    const base = run(healthyUntil(20));
    const { state } = run(
      [
        {
          now: at(60),
          renditions: [
            seen('primary', playlist(10, at(21), true)),
            seen('failover', playlist(10, at(21), true)),
          ],
        },
      ],
      {},
      base.state,
    );
    expect(state.encoders.primary?.status).toBe('ended');
    expect(state.encoders.failover?.status).toBe('ended');
  });

  it('both encoders ended: the event is over, no failover, no withdrawal', () => {
    const base = run(healthyUntil(20));
    const { state, transitions } = run(
      [
        {
          now: at(21),
          renditions: [
            seen('primary', playlist(10, at(21), true)),
            seen('failover', playlist(10, at(21), true)),
          ],
        },
      ],
      {},
      base.state,
    );
    expect(kinds(transitions)).toEqual(['channel-ended']);
    expect(state).toMatchObject({ ended: true, preferred: 'primary', withdrawn: [] });
  });

  it('one encoder ended while the other is live is an encoder stop: fail over on the first event that shows the other moved on', () => {
    const base = run(healthyUntil(20));
    const ending = run(
      [{ now: at(21), renditions: [seen('primary', playlist(10, at(21), true))] }],
      {},
      base.state,
    );
    expect(ending.transitions).toEqual([]); // the failover may be ending too: not yet a stop
    const { state, transitions } = run(
      [{ now: at(22), renditions: [seen('failover', playlist(11, at(22)))] }],
      {},
      ending.state,
    );
    expect(kinds(transitions)).toEqual(['encoder-stopped', 'preferred-changed', 'withdrawal-changed']);
    expect(state).toMatchObject({ preferred: 'failover', withdrawn: ['primary'] });
  });

  it('the other encoder writing the same last segment later without ENDLIST is live: a stop', () => {
    const base = run(healthyUntil(20));
    const { transitions } = run(
      [
        { now: at(21), renditions: [seen('primary', playlist(11, at(21), true))] },
        { now: at(22), renditions: [seen('failover', playlist(11, at(22)))] },
      ],
      {},
      base.state,
    );
    expect(kinds(transitions)).toEqual(['encoder-stopped', 'preferred-changed', 'withdrawal-changed']);
  });

  it('both encoders ending one event after the other: the event is over, no STOPPED, nothing withdrawn', () => {
    const base = run(healthyUntil(20));
    const { state, transitions } = run(
      [
        { now: at(21), renditions: [seen('primary', playlist(11, at(21), true))] },
        { now: at(21.4), renditions: [seen('failover', playlist(11, at(21), true))] },
        { now: at(40), renditions: [] }, // a watchdog tick long after
      ],
      {},
      base.state,
    );
    expect(kinds(transitions)).toEqual(['channel-ended']);
    expect(state).toMatchObject({ ended: true, preferred: 'primary', withdrawn: [], channelDown: false });
  });

  it('an encoder stopping rendition by rendition is one STOPPED incident from its first ENDLIST, not a stall', () => {
    const both = (n: number, s: number) => [
      seen('primary', playlist(n, at(s)), '720p.m3u8'),
      seen('primary', playlist(n, at(s)), '360p.m3u8'),
      seen('failover', playlist(n, at(s)), '720p.m3u8'),
      seen('failover', playlist(n, at(s)), '360p.m3u8'),
    ];
    const base = run([
      { now: at(18), renditions: both(9, 18) },
      { now: at(20), renditions: both(10, 20) },
    ]);
    const first = run(
      [
        { now: at(20.5), renditions: [seen('failover', playlist(11, at(20.5)), '720p.m3u8')] },
        { now: at(21), renditions: [seen('primary', playlist(10, at(21), true), '720p.m3u8')] },
      ],
      {},
      base.state,
    );
    expect(kinds(first.transitions)).toEqual(['encoder-stopped', 'preferred-changed', 'withdrawal-changed']);
    expect(first.state.encoders.primary?.reason).toBe(
      'stopping: 1 of 2 media playlists end with EXT-X-ENDLIST',
    );
    const second = run(
      [{ now: at(21.05), renditions: [seen('primary', playlist(10, at(21.05), true), '360p.m3u8')] }],
      {},
      first.state,
    );
    expect(second.transitions).toEqual([]);
    expect(second.state.encoders.primary?.incidentId).toBe(first.state.encoders.primary?.incidentId);
  });

  it('one segment behind for the lag grace (0.3 × TD) is a stall: detected at 1.3 × TD after the last upload', () => {
    const base = run(healthyUntil(20)); // both wrote segment 10 at 20 s, then the primary died
    const behind = assessFreshness(base.state, {
      now: at(22),
      renditions: [seen('failover', playlist(11, at(22)))],
    });
    expect(behind.transitions).toEqual([]);
    expect(behind.recheckAt).toBe(at(22.6)); // when to look again
    expect(behind.state.encoders.primary?.renditions['720p/index.m3u8']?.behindSince).toBe(at(22));
    const { state, transitions } = assessFreshness(behind.state, { now: at(22.6), renditions: [] });
    expect(kinds(transitions)).toEqual(['encoder-stalled', 'preferred-changed', 'withdrawal-changed']);
    expect(state.encoders.primary?.reason).toBe(
      '720p/index.m3u8: 1 segment behind the other encoder for 0.6 s (limit 0.3 × target duration 2 s)',
    );
  });

  it("the lag grace runs from when the other encoder's segment was accepted (seenAt), so a look that stores nothing loses no time", () => {
    const base = run(healthyUntil(20)); // both wrote segment 10 at 20 s, then the primary died
    // The failover's segment 11 was accepted at 22.0 s; a later look, from the state before any
    // look recorded the lag, still counts the grace from 22.0 s.
    const failover11 = { ...playlist(11, at(22)), seenAt: at(22) };
    const look = assessFreshness(base.state, { now: at(22.4), renditions: [seen('failover', failover11)] });
    expect(look.transitions).toEqual([]);
    expect(look.recheckAt).toBe(at(22.6));
    const { transitions } = assessFreshness(base.state, {
      now: at(22.6),
      renditions: [seen('failover', failover11)],
    });
    expect(kinds(transitions)).toEqual(['encoder-stalled', 'preferred-changed', 'withdrawal-changed']);
  });

  it('the lag grace ends when the late encoder writes the segment: no stall, nothing to recheck', () => {
    const base = run(healthyUntil(20));
    const behind = assessFreshness(base.state, {
      now: at(22),
      renditions: [seen('failover', playlist(11, at(22)))],
    });
    const caughtUp = assessFreshness(behind.state, {
      now: at(22.1),
      renditions: [seen('primary', playlist(11, at(22.1)))],
    });
    expect(caughtUp.transitions).toEqual([]);
    expect(caughtUp.recheckAt).toBeUndefined();
    expect(caughtUp.state.encoders.primary?.renditions['720p/index.m3u8']?.behindSince).toBeUndefined();
    const later = assessFreshness(caughtUp.state, { now: at(22.9), renditions: [] });
    expect(later.transitions).toEqual([]);
  });

  it('a stopped encoder, then the other stalls: channel down; the stopped one stays withdrawn (its playlists are gone)', () => {
    const base = run(healthyUntil(20));
    const stopped = run(
      [
        { now: at(21), renditions: [seen('primary', playlist(10, at(21), true))] },
        { now: at(22), renditions: [seen('failover', playlist(11, at(22)))] },
      ],
      {},
      base.state,
    );
    expect(stopped.state.withdrawn).toEqual(['primary']);
    const { state, transitions } = run([{ now: at(40), renditions: [] }], {}, stopped.state);
    expect(kinds(transitions)).toEqual(['encoder-stalled', 'channel-down']);
    expect(state).toMatchObject({ channelDown: true, withdrawn: ['primary'], ended: false });
  });

  it('a stopped encoder that starts again recovers through the hysteresis: one RECOVERED, then failback', () => {
    const base = run(healthyUntil(20));
    const stopped = run(
      [
        { now: at(21), renditions: [seen('primary', playlist(10, at(21), true))] },
        { now: at(22), renditions: [seen('failover', playlist(11, at(22)))] },
      ],
      {},
      base.state,
    );
    // Restarted with epoch-locked numbering: it writes the same segments as the failover again.
    const restarted = run(healthyUntil(40, 24), { recoverAfterUpdates: 3 }, stopped.state);
    expect(kinds(restarted.transitions)).toEqual([
      'encoder-recovered',
      'preferred-changed',
      'withdrawal-changed',
    ]);
    expect(restarted.transitions[0]).toMatchObject({
      encoder: 'primary',
      incidentId: expect.stringMatching(/^primary-/),
    });
    expect(restarted.state).toMatchObject({ preferred: 'primary', withdrawn: [] });
  });

  describe('hysteresis over an encoder of several renditions', () => {
    const RENDITIONS = ['180p.m3u8', '270p.m3u8', '360p.m3u8', 'audio.m3u8'];
    /** One playlist event per rendition of `encoder` for segment n, 50 ms apart from `s` seconds. */
    const roundOf = (encoder: string, n: number, s: number, endlist = false) =>
      RENDITIONS.map((rendition, i) => ({
        now: at(s + i * 0.05),
        renditions: [seen(encoder, playlist(n, at(s + i * 0.05), endlist), rendition)],
      }));
    const lockStep = (from: number, until: number) =>
      Array.from({ length: until - from + 1 }, (_, k) => [
        ...roundOf('primary', from + k, (from + k) * TD),
        ...roundOf('failover', from + k, (from + k) * TD + 0.01),
      ]).flat();
    /** Both encoders in lock step up to segment 10; the primary's 180p then misses segment 11. */
    const stalled = () => {
      const base = run(lockStep(0, 10));
      const late = run(
        [
          ...roundOf('failover', 11, 22),
          ...roundOf('primary', 11, 22).slice(1),
          { now: at(22.9), renditions: [] },
        ],
        {},
        base.state,
      );
      expect(kinds(late.transitions)).toEqual(['encoder-stalled', 'preferred-changed', 'withdrawal-changed']);
      return late.state;
    };

    it("counts a segment written on every rendition as one fresh update, not each rendition's event: no RECOVERED within one segment", () => {
      // The late 180p update comes, then the next segments: 4 playlist events per segment.
      const back = run(
        [...roundOf('primary', 11, 23), ...roundOf('failover', 12, 24), ...roundOf('primary', 12, 24.02)],
        {},
        stalled(),
      );
      expect(back.transitions).toEqual([]);
      expect(back.state.encoders.primary?.reason).toBe('recovering: 2 of 3 fresh updates');
      const recovered = run(
        [...roundOf('failover', 13, 26), ...roundOf('primary', 13, 26.02)],
        {},
        back.state,
      );
      expect(kinds(recovered.transitions)).toEqual([
        'encoder-recovered',
        'preferred-changed',
        'withdrawal-changed',
      ]);
    });

    it('a stalled encoder that writes EXT-X-ENDLIST on every rendition is stopping, not recovering: one incident, no RECOVERED', () => {
      const stopping = run(
        [...roundOf('primary', 11, 23, true), ...roundOf('failover', 12, 24)],
        {},
        stalled(),
      );
      expect(stopping.transitions).toEqual([]);
      expect(stopping.state.encoders.primary).toMatchObject({ status: 'ended' });
    });
  });

  it('a new event after the channel ended: both encoders healthy at once, no RECOVERED for incidents that never alerted', () => {
    const base = run(healthyUntil(20));
    const over = run(
      [
        {
          now: at(21),
          renditions: [
            seen('primary', playlist(10, at(21), true)),
            seen('failover', playlist(10, at(21), true)),
          ],
        },
      ],
      {},
      base.state,
    );
    expect(over.state.encoders.primary?.incidentId).toBeUndefined();
    const next = run(healthyUntil(3600 + 20, 3600), {}, over.state);
    expect(kinds(next.transitions)).toEqual([]);
    expect(next.state).toMatchObject({ ended: false, channelDown: false });
    expect(next.state.encoders.primary?.status).toBe('healthy');
  });

  it('never withdraws the last healthy encoder, and raises channel down when both stall', () => {
    const base = run(healthyUntil(20));
    const { state, transitions } = run([{ now: at(30), renditions: [] }], {}, base.state);
    expect(kinds(transitions)).toEqual(['encoder-stalled', 'encoder-stalled', 'channel-down']);
    expect(state).toMatchObject({ withdrawn: [], channelDown: true, preferred: 'primary' });
  });

  it('ignores an observation older than the state (duplicate or out-of-order event)', () => {
    const base = run(healthyUntil(20));
    const old = assessFreshness(base.state, {
      now: at(20),
      renditions: [seen('primary', playlist(4, at(8)))],
    });
    expect(old.transitions).toEqual([]);
    expect(old.state.encoders.primary?.renditions['720p/index.m3u8']?.lastSequence).toBe(10);
  });

  it('is pure: the same inputs give the same output, so a retried execution decides the same', () => {
    const base = run(healthyUntil(20));
    const step = { now: at(24), renditions: [seen('failover', playlist(12, at(24)))] };
    expect(assessFreshness(base.state, step)).toEqual(assessFreshness(base.state, step));
  });

  it('rejects bad options all at once', () => {
    try {
      assessFreshness(
        undefined,
        { now: 0, renditions: [] },
        { stallAfterTargetDurations: 0, maxLagSegments: 0.5, recoverAfterUpdates: 0 },
      );
      throw new Error('expected ConfigInvalidError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigInvalidError);
      expect((e as ConfigInvalidError).problems).toHaveLength(3);
    }
  });
});

/** The incident a transition belongs to when it raises no alert of its own. */
const partOf = (ts: Transition[]) =>
  ts.map((t) => `${t.kind}${'partOf' in t && t.partOf !== undefined ? ` (part of ${t.partOf})` : ''}`);

describe('one incident, one alert, one recovery', () => {
  it('both encoders silent at once: one channel-down incident; the encoders’ stalls and recoveries are part of it', () => {
    const base = run(healthyUntil(20));
    const down = run([{ now: at(30), renditions: [] }], {}, base.state);
    const id = down.state.channelIncidentId;
    expect(partOf(down.transitions)).toEqual([
      `encoder-stalled (part of ${id})`,
      `encoder-stalled (part of ${id})`,
      'channel-down',
    ]);
    const back = run(healthyUntil(60, 40), {}, down.state);
    expect(partOf(back.transitions)).toEqual([
      `encoder-recovered (part of ${id})`,
      `encoder-recovered (part of ${id})`,
      'channel-up',
    ]);
    expect(back.transitions.find((t) => t.kind === 'channel-up')).toEqual({
      kind: 'channel-up',
      incidentId: id,
      stillDown: [],
    });
  });

  it('one encoder stalls, then the other: channel down takes over the open STALLED incident, so the channel coming back is one notice', () => {
    const base = run(healthyUntil(20));
    const primaryDown = run(failoverOnly(22, 30), {}, base.state);
    expect(partOf(primaryDown.transitions)).toEqual([
      'encoder-stalled',
      'preferred-changed',
      'withdrawal-changed',
    ]);
    const stalledId = primaryDown.state.encoders.primary?.incidentId;
    const bothDown = run([{ now: at(40), renditions: [] }], {}, primaryDown.state);
    const down = bothDown.transitions.find((t) => t.kind === 'channel-down');
    expect(down).toMatchObject({ folds: [stalledId] });
    const back = run(healthyUntil(70, 50), {}, bothDown.state);
    expect(back.transitions.filter((t) => t.kind === 'encoder-recovered' && t.partOf === undefined)).toEqual(
      [],
    );
    expect(kinds(back.transitions).filter((k) => k === 'channel-up')).toHaveLength(1);
  });

  it('a channel whose only encoder ever seen goes silent is down; when it ends its playlists the event is over', () => {
    const primaryOnly = (from: number, until: number, endlist = false) => {
      const steps = [];
      for (let s = from; s <= until; s += TD)
        steps.push({
          now: at(s),
          renditions: [seen('primary', playlist(s / TD, at(s), endlist && s === until))],
        });
      return steps;
    };
    const silent = run([...primaryOnly(0, 20), { now: at(30), renditions: [] }]);
    expect(kinds(silent.transitions)).toEqual(['encoder-stalled', 'channel-down']);
    expect(silent.state.channelDown).toBe(true);
    const ended = run(primaryOnly(0, 20, true));
    expect(kinds(ended.transitions)).toEqual(['channel-ended']);
    expect(ended.state.channelDown).toBe(false);
  });

  it('a rendition whose newest write was rejected is not behind: no lag stall, only its age counts', () => {
    const base = run(healthyUntil(20));
    // Segment 11: the failover writes it; the primary's version was rejected at 22.1 s.
    const invalid = {
      primary: { incidentId: 'invalid-primary-x', rejectedAt: { '720p/index.m3u8': at(22.1) } },
    };
    const look = {
      now: at(23.5),
      renditions: [seen('failover', { ...playlist(11, at(22)), seenAt: at(22) })],
      invalid,
    };
    expect(kinds(assessFreshness(base.state, look).transitions)).toEqual([]);
    const { invalid: _none, ...unexplained } = look;
    expect(kinds(assessFreshness(base.state, unexplained).transitions)).toContain('encoder-stalled');
  });

  it('an encoder without a valid playlist for the stall threshold is withdrawn as part of its INVALID PLAYLIST incident; its recovery is too', () => {
    const base = run(healthyUntil(20));
    const invalid = {
      primary: { incidentId: 'invalid-primary-x', rejectedAt: { '720p/index.m3u8': at(28.1) } },
    };
    const stalled = assessFreshness(
      base.state,
      { now: at(28.2), renditions: [seen('failover', playlist(14, at(28)))], invalid },
      {},
    );
    expect(partOf(stalled.transitions)).toEqual([
      'encoder-stalled (part of invalid-primary-x)',
      'preferred-changed',
      'withdrawal-changed',
    ]);
    const back = run(healthyUntil(40, 30), {}, stalled.state);
    expect(partOf(back.transitions)).toContain('encoder-recovered (part of invalid-primary-x)');
  });

  it('after a gap in watching, a stall is declared only on an encoder that stays silent for the stall threshold while watched', () => {
    const base = run(healthyUntil(20));
    // The workflow was down from 20 s to 80 s; the primary's upload of segment 40 is the first look.
    const resumed = assessFreshness(base.state, {
      now: at(80),
      renditions: [seen('primary', playlist(40, at(80)))],
      watchingSince: at(80),
    });
    expect(resumed.transitions).toEqual([]);
    // The failover writes nothing more: the next looks judge it from 80 s too (kept in the state),
    // and it is stalled once watched silent for 1.5 × TD (plus the LastModified resolution).
    const next = assessFreshness(resumed.state, {
      now: at(82),
      renditions: [seen('primary', playlist(41, at(82)))],
    });
    expect(next.transitions).toEqual([]);
    const later = assessFreshness(next.state, {
      now: at(85),
      renditions: [seen('primary', playlist(42, at(84)))],
    });
    expect(kinds(later.transitions)).toContain('encoder-stalled');
  });
});
