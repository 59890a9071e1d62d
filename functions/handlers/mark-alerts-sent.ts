/**
 * MarkAlertsSent: after NotifyOnCall published the execution's alerts, removes them from their
 * channels' outbox (functions/outbox.ts), so no later execution sends them again. An alert that was
 * never pending (a rejected playlist's) changes nothing; a channel with none pending is not written.
 */
import type { Alert } from '../alerts';
import { alertPayloadOf } from '../alerts';
import { readChannelState, updateChannelState } from '../channel-state';
import { markAlertsSent } from '../outbox';
import { createDeps, type HandlerDeps } from './deps';

export interface MarkAlertsSentInput {
  readonly alerts: readonly Alert[];
}

export interface MarkAlertsSentOutput {
  /** The channels whose outbox changed. */
  readonly marked: readonly string[];
}

export function createMarkAlertsSent(deps: HandlerDeps) {
  const { records } = deps;
  return async (input: MarkAlertsSentInput): Promise<MarkAlertsSentOutput> => {
    const byChannel = new Map<string, Alert[]>();
    for (const alert of input.alerts) {
      const channel = alertPayloadOf(alert.message)?.channel;
      if (channel !== undefined) byChannel.set(channel, [...(byChannel.get(channel) ?? []), alert]);
    }
    const marked: string[] = [];
    for (const [channel, alerts] of byChannel) {
      const read = await readChannelState(records, channel);
      if (markAlertsSent(read.state, alerts) === read.state) continue;
      await updateChannelState(
        records,
        channel,
        (state) => ({ state: markAlertsSent(state, alerts), result: undefined }),
        read,
      );
      marked.push(channel);
    }
    return { marked };
  };
}

export const handler = createMarkAlertsSent(createDeps({ functionName: 'MarkAlertsSent' }));
