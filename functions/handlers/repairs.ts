/**
 * Reads what functions/converge.ts compares a channel's state with: index.m3u8 and steering.json
 * (hashed), each recorded master's ETag, and the folders of the encoders that may be withdrawn.
 * Two to four GETs per channel, and one LIST per withdrawn encoder: the watchdog's once-a-minute
 * check, never the upload path.
 */
import type { ChannelState } from '../channel-state';
import {
  type ChannelObjects,
  foldersToList,
  NO_REPAIRS,
  planRepairs,
  type Repairs,
  unconfirmedWithdrawals,
} from '../converge';
import { encoderPrefix, indexKey, steeringKey } from '../keys';
import type { ChannelActions } from './check-freshness';
import type { HandlerDeps } from './deps';
import { sha256 } from './merge-index';

export async function findRepairs(
  deps: Pick<HandlerDeps, 'store' | 'settings'>,
  bucket: string,
  state: ChannelState,
): Promise<Repairs> {
  const { store, settings } = deps;
  if (state.health === undefined) return NO_REPAIRS;
  const hashOf = async (key: string) => {
    const object = await store.get(bucket, key);
    return object === undefined ? undefined : sha256(object.body);
  };
  const recorded = Object.entries(state.masters);
  const withdrawn = foldersToList(state, settings.encoders);
  const indexed = state.index !== undefined;
  const [index, steering, masters, folders] = await Promise.all([
    indexed ? hashOf(indexKey(state.channel)) : undefined,
    indexed && settings.steering ? hashOf(steeringKey(state.channel)) : undefined,
    indexed
      ? Promise.all(
          recorded.map(
            async ([encoder, { rest }]) =>
              [
                encoder,
                (await store.get(bucket, `${encoderPrefix(state.channel, encoder)}${rest}`))?.etag,
              ] as const,
          ),
        )
      : [],
    Promise.all(
      withdrawn.map(
        async (encoder) =>
          [encoder, await store.list(bucket, encoderPrefix(state.channel, encoder))] as const,
      ),
    ),
  ]);
  const found: ChannelObjects = {
    index,
    steering,
    masters: Object.fromEntries(masters),
    folders: Object.fromEntries(folders),
  };
  return planRepairs(state, found, {
    encoders: settings.encoders,
    steering: settings.steering,
    splicing: settings.splicing,
  });
}

/** The channel's actions with the repairs added (ApplyChannelActions runs the withdrawal and the merge at once). */
export function withRepairs(actions: ChannelActions, repairs: Repairs): ChannelActions {
  const staleOnly = repairs.withdraw.filter((e) => !actions.withdraw.includes(e));
  return {
    ...actions,
    mergeNeeded: actions.mergeNeeded || repairs.mergeNeeded,
    withdraw: [...actions.withdraw, ...staleOnly],
    ...(staleOnly.length === 0 ? {} : { staleOnly }),
  };
}

/**
 * An event execution's actions with the withdrawals that are not done (a dead owner's), found from
 * the state alone: no request on the upload path.
 */
export function withUnconfirmedWithdrawals(
  state: ChannelState,
  encoders: readonly string[],
  at: number,
  actions: ChannelActions,
): ChannelActions {
  const withdraw = unconfirmedWithdrawals(state, encoders, actions.withdraw, at);
  return withdraw.length === 0 ? actions : withRepairs(actions, { ...NO_REPAIRS, withdraw });
}
