import { type ChannelState, mastersFingerprint } from '../../../functions/channel-state';
import {
  type ChannelObjects,
  confirmWithdrawal,
  mergeNeeded,
  planRepairs,
  spliceTargets,
  stalePlaylists,
  unconfirmedWithdrawals,
  WITHDRAWAL_OWNER_GRACE_MS,
} from '../../../functions/converge';
import type { ChannelHealth, EncoderHealth } from '../../../functions/hls';

const STALL = Date.parse('2026-12-01T08:00:00.500Z');
const ENCODERS = ['primary', 'failover'] as const;
const OPTIONS = { encoders: ENCODERS, steering: true, splicing: false };

function encoder(status: EncoderHealth['status'], since: number): EncoderHealth {
  return { status, since, reason: status, freshStreak: 0, renditions: {} };
}

/** ch1 with primary stalled at STALL and withdrawn, failover healthy; the index merged from both masters. */
function state(overrides: { health?: Partial<ChannelHealth>; index?: ChannelState['index'] | null } = {}) {
  const health: ChannelHealth = {
    version: 1,
    preferred: 'failover',
    encoders: { primary: encoder('stalled', STALL), failover: encoder('healthy', STALL - 60_000) },
    withdrawn: ['primary'],
    channelDown: false,
    ended: false,
    updatedAt: STALL,
    ...overrides.health,
  };
  const index =
    overrides.index === null
      ? {}
      : {
          index: overrides.index ?? {
            preferred: 'failover',
            masters: 'fp',
            writtenAt: STALL,
            hash: 'index-hash',
            steeringHash: 'steering-hash',
            sources: { primary: '"m1"', failover: '"m2"' },
          },
        };
  return {
    version: 1,
    channel: 'ch1',
    health,
    masters: {
      primary: { rest: 'master.m3u8', etag: '"m1"' },
      failover: { rest: 'master.m3u8', etag: '"m2"' },
    },
    ...index,
  } satisfies ChannelState;
}

/** The bucket as MergeIndex and the withdrawal left it. */
function found(overrides: Partial<ChannelObjects> = {}): ChannelObjects {
  return {
    index: 'index-hash',
    steering: 'steering-hash',
    masters: { primary: '"m1"', failover: '"m2"' },
    folders: { primary: [{ key: 'ch1/primary/master.m3u8', lastModified: STALL - 30_000 }] },
    ...overrides,
  };
}

const playlist = (rest: string, lastModified: number) => ({ key: `ch1/primary/${rest}`, lastModified });

describe('planRepairs: what the bucket must become, from the state (issue 16 §1)', () => {
  it.each<[string, ChannelState, ChannelObjects, { withdraw: string[]; mergeNeeded: boolean }]>([
    [
      'nothing to repair when the bucket is what the state says',
      state(),
      found(),
      { withdraw: [], mergeNeeded: false },
    ],
    [
      'withdraws a withdrawn encoder whose playlists written before its stall are still served',
      state(),
      found({
        folders: { primary: [playlist('720p.m3u8', STALL - 1_500), playlist('360p.m3u8', STALL - 1_500)] },
      }),
      { withdraw: ['primary'], mergeNeeded: false },
    ],
    [
      'leaves a recovering encoder alone: its playlists written after the stall are its way back',
      state(),
      found({ folders: { primary: [playlist('720p.m3u8', STALL + 4_000)] } }),
      { withdraw: [], mergeNeeded: false },
    ],
    [
      'never withdraws while no other encoder is healthy',
      state({
        health: { encoders: { primary: encoder('stalled', STALL), failover: encoder('stalled', STALL) } },
      }),
      found({ folders: { primary: [playlist('720p.m3u8', STALL - 1_500)] } }),
      { withdraw: [], mergeNeeded: false },
    ],
    [
      'keeps the master of a withdrawn encoder (only media playlists are withdrawn)',
      state(),
      found({ folders: { primary: [{ key: 'ch1/primary/master.m3u8', lastModified: STALL - 60_000 }] } }),
      { withdraw: [], mergeNeeded: false },
    ],
    [
      'rebuilds a missing index.m3u8',
      state(),
      found({ index: undefined }),
      { withdraw: [], mergeNeeded: true },
    ],
    [
      'rebuilds an index.m3u8 overwritten behind the workflow (its hash is not the one written)',
      state(),
      found({ index: 'someone-elses-bytes' }),
      { withdraw: [], mergeNeeded: true },
    ],
    [
      'rebuilds a missing steering.json',
      state(),
      found({ steering: undefined }),
      { withdraw: [], mergeNeeded: true },
    ],
    [
      'rebuilds an overwritten steering.json',
      state(),
      found({ steering: 'other' }),
      { withdraw: [], mergeNeeded: true },
    ],
    [
      'merges a master newer than the index (acknowledged, its execution died before the merge)',
      state(),
      found({ masters: { primary: '"m1"', failover: '"m3"' } }),
      { withdraw: [], mergeNeeded: true },
    ],
    [
      'compares masters with the recorded ETags when the index predates merged ETags',
      state({ index: { preferred: 'failover', masters: 'fp', writtenAt: STALL } }),
      found({ masters: { primary: '"m9"', failover: '"m2"' } }),
      { withdraw: [], mergeNeeded: true },
    ],
    [
      'a state without an index entry is left to the state-only check (indexIsStale)',
      state({ index: null }),
      found({ index: undefined, steering: undefined }),
      { withdraw: [], mergeNeeded: false },
    ],
    [
      'withdraws and rebuilds at once when both are off',
      state(),
      found({ index: undefined, folders: { primary: [playlist('720p.m3u8', STALL - 1_500)] } }),
      { withdraw: ['primary'], mergeNeeded: true },
    ],
  ])('%s', (_name, channel, bucket, expected) => {
    const repairs = planRepairs(channel, bucket, OPTIONS);

    expect({ withdraw: repairs.withdraw, mergeNeeded: repairs.mergeNeeded }).toEqual(expected);
    expect(repairs.reasons.length > 0).toBe(expected.mergeNeeded || expected.withdraw.length > 0);
  });

  it('ignores steering.json when steering is off', () => {
    const repairs = planRepairs(state(), found({ steering: undefined }), { ...OPTIONS, steering: false });

    expect(repairs.mergeNeeded).toBe(false);
  });

  it("withdraws every media playlist for the withdrawal's owner, the master kept", () => {
    const folder = [playlist('720p.m3u8', STALL + 1_000), playlist('master.m3u8', STALL - 60_000)];

    expect(stalePlaylists(state(), 'primary', folder, false)).toEqual([folder[0]]);
  });

  it('a stalled rendition uploaded again after the stall (an old version held up, then written) is still stale; a rendition fresh again stays', () => {
    const recovering = state({
      health: {
        encoders: {
          primary: {
            ...encoder('stalled', STALL),
            renditions: {
              '720p.m3u8': { status: 'stalled' } as EncoderHealth['renditions'][string],
              '360p.m3u8': { status: 'healthy' } as EncoderHealth['renditions'][string],
            },
          },
          failover: encoder('healthy', STALL - 60_000),
        },
      },
    });
    const folder = [playlist('720p.m3u8', STALL + 10_000), playlist('360p.m3u8', STALL + 10_000)];

    expect(stalePlaylists(recovering, 'primary', folder)).toEqual([folder[0]]);
  });

  it('counts a playlist written in the second of the stall as stale (S3 LastModified has whole seconds)', () => {
    const sameSecond = playlist('720p.m3u8', Math.floor(STALL / 1000) * 1000);

    expect(stalePlaylists(state(), 'primary', [sameSecond])).toEqual([sameSecond]);
  });
});

describe('unconfirmedWithdrawals: the state-only check of every event execution', () => {
  const LATER = STALL + WITHDRAWAL_OWNER_GRACE_MS;

  it("leaves a stall's withdrawal to its owner for the grace (the same segment's executions do not pile up)", () => {
    expect(unconfirmedWithdrawals(state(), ENCODERS, [], LATER - 1)).toEqual([]);
  });

  it('finds a withdrawal whose execution died before WithdrawStalePlaylists recorded it done', () => {
    expect(unconfirmedWithdrawals(state(), ENCODERS, [], LATER)).toEqual(['primary']);
  });

  it('leaves a withdrawal this execution owns to its own step', () => {
    expect(unconfirmedWithdrawals(state(), ENCODERS, ['primary'], LATER)).toEqual([]);
  });

  it('finds nothing once the withdrawal of the current stall is recorded done', () => {
    expect(unconfirmedWithdrawals(confirmWithdrawal(state(), 'primary'), ENCODERS, [], LATER)).toEqual([]);
  });

  it('asks again for a new stall of the same encoder (its since changed)', () => {
    const restalled = state({
      health: {
        encoders: { primary: encoder('stalled', STALL + 90_000), failover: encoder('healthy', STALL) },
      },
    });
    const later = { ...restalled, withdrawals: confirmWithdrawal(state(), 'primary').withdrawals ?? {} };

    expect(unconfirmedWithdrawals(later, ENCODERS, [], STALL + 90_000 + WITHDRAWAL_OWNER_GRACE_MS)).toEqual([
      'primary',
    ]);
  });
});

describe('spliceTargets: what a healthy upload splices again while an encoder is withdrawn', () => {
  const target = [{ encoder: 'primary', rendition: '720p.m3u8' }];

  it("leaves the stalled encoder to the withdrawal's owner when this upload was read before the stall was decided: the owner splices from it or a newer version (one WithdrawStalePlaylists, not one per rendition)", () => {
    expect(spliceTargets(state(), 'failover', '720p.m3u8', ENCODERS, STALL - 400)).toEqual([]);
    expect(spliceTargets(state(), 'failover', '720p.m3u8', ENCODERS, STALL)).toEqual([]);
  });

  it('splices again from an upload read after the stall was decided: the owner may have read an older version', () => {
    expect(spliceTargets(state(), 'failover', '720p.m3u8', ENCODERS, STALL + 1)).toEqual(target);
  });

  it('splices again once the withdrawal is recorded done, whenever the upload was read', () => {
    expect(
      spliceTargets(confirmWithdrawal(state(), 'primary'), 'failover', '720p.m3u8', ENCODERS, STALL - 400),
    ).toEqual(target);
  });

  it('splices again for an encoder back but not yet failed back to, whose recovery no owner withdraws', () => {
    const back = state({
      health: {
        encoders: { primary: encoder('healthy', STALL + 5000), failover: encoder('healthy', STALL) },
      },
    });
    expect(spliceTargets(back, 'failover', '720p.m3u8', ENCODERS, STALL + 5000)).toEqual(target);
    // Its own upload, in its own execution: accepted, then spliced over.
    expect(spliceTargets(back, 'primary', '720p.m3u8', ENCODERS, STALL + 5000)).toEqual(target);
  });
});

describe('mergeNeeded: which event executions merge a stale index', () => {
  /** The index merged from the masters in the state, with `preferred`. */
  const merged = (preferred: string) =>
    state({
      index: { ...state().index, preferred, masters: mastersFingerprint(state()) } as ChannelState['index'],
    });
  /** Merged while the primary was preferred: stale since the primary's stall at STALL. */
  const stale = () => merged('primary');

  it("leaves a merge that only the stall's new preference needs to the stall's owner, for executions that began before it", () => {
    expect(mergeNeeded(stale(), false, STALL)).toBe(false);
    expect(mergeNeeded(stale(), true, STALL)).toBe(true);
  });

  it('merges from an execution that began after the stall (its owner may have died)', () => {
    expect(mergeNeeded(stale(), false, STALL + 1)).toBe(true);
  });

  it('merges a changed master whenever the execution began', () => {
    const master = {
      ...stale(),
      masters: { ...stale().masters, failover: { rest: 'master.m3u8', etag: '"m3"' } },
    };
    expect(mergeNeeded(master, false, STALL - 1000)).toBe(true);
  });

  it('does not merge an index that is current', () => {
    expect(mergeNeeded(merged('failover'), true, STALL + 1)).toBe(false);
  });
});
