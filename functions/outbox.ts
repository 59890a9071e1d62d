/**
 * The alert outbox (issue 16 §1): an alert is recorded in the channel's state by the same
 * conditional write as the transition it announces, as pending. NotifyOnCall publishes it, then
 * MarkAlertsSent removes it. A pending alert older than {@link ALERT_RESEND_AFTER_MS} means its
 * execution died (crash, timeout, a failed publish): the next watchdog run or event execution of
 * the channel claims it (with its own conditional write, so one execution does) and publishes it.
 *
 * Delivery: exactly once while the owning execution lives; at least once across a crash (an
 * execution that published but died before MarkAlertsSent has its alert sent again). An
 * incident's pending alert goes out before the next alert of that incident (its RECOVERED), in
 * the execution that raises it: those are published first, one at a time. Pure: no SDK.
 */
import { type Alert, alertPayloadOf } from './alerts';
import type { ChannelState } from './channel-state';

export interface PendingAlert {
  readonly alert: Alert;
  /** When the transition it announces was recorded (epoch ms). */
  readonly recordedAt: number;
  /** When an execution last took it to publish (epoch ms). */
  readonly attemptedAt: number;
}

/**
 * How long a pending alert belongs to the execution that took it: longer than an execution takes
 * from its state write to the end of NotifyOnCall (about 1 s, and up to 20 s more when
 * CheckCounterpartFreshness waits to look again), shorter than the watchdog's period. An owner
 * slower than this (retries of a throttled SNS) may see its alert sent a second time.
 */
export const ALERT_RESEND_AFTER_MS = 30_000;

/**
 * The most alerts a channel keeps pending (a topic that refuses every publish): the oldest go
 * first, so the state record stays far below DynamoDB's 400 KB item limit.
 */
export const MAX_PENDING_ALERTS = 20;

/** The incident and kind an alert announces: one outbox entry, one publish. */
export function outboxId(alert: Alert): string {
  const payload = alertPayloadOf(alert.message);
  if (payload === undefined) return `subject ${alert.subject}`;
  return `${payload.kind} ${payload.encoder ?? '-'} ${payload.incidentId ?? payload.at}`;
}

/** `state` with `alerts` pending (an alert already pending keeps its entry). */
export function recordAlerts(state: ChannelState, alerts: readonly Alert[], at: number): ChannelState {
  if (alerts.length === 0) return state;
  const outbox = { ...state.outbox };
  for (const alert of alerts) {
    const id = outboxId(alert);
    outbox[id] ??= { alert, recordedAt: at, attemptedAt: at };
  }
  const kept = Object.entries(outbox)
    .sort(([, a], [, b]) => b.recordedAt - a.recordedAt)
    .slice(0, MAX_PENDING_ALERTS);
  return { ...state, outbox: Object.fromEntries(kept) };
}

/** The incident an alert belongs to, when it names one. */
function incidentOf(alert: Alert): string | undefined {
  return alertPayloadOf(alert.message)?.incidentId;
}

/**
 * Pending alerts whose execution has had them for `resendAfterMs` or more, taken by this one:
 * their `attemptedAt` becomes `at`, so the execution whose state write succeeds publishes them.
 * So are, whatever their age, pending alerts of the incidents in `following` (this execution's
 * new alerts, e.g. a RECOVERED): on-call gets an incident's alerts in order, its STALLED before
 * its RECOVERED.
 */
export function claimDueAlerts(
  state: ChannelState,
  at: number,
  resendAfterMs = ALERT_RESEND_AFTER_MS,
  following: readonly Alert[] = [],
): { state: ChannelState; alerts: Alert[] } {
  const incidents = new Set(following.map(incidentOf).filter((i) => i !== undefined));
  const followed = new Set(following.map(outboxId));
  const due = Object.entries(state.outbox ?? {}).filter(
    ([id, p]) =>
      at - p.attemptedAt >= resendAfterMs || (!followed.has(id) && incidents.has(incidentOf(p.alert) ?? '')),
  );
  if (due.length === 0) return { state, alerts: [] };
  const outbox = { ...state.outbox };
  for (const [id, pending] of due) outbox[id] = { ...pending, attemptedAt: at };
  return { state: { ...state, outbox }, alerts: due.map(([, p]) => p.alert) };
}

/** `state` without the pending entries of `sent` (alerts that are not pending change nothing). */
export function markAlertsSent(state: ChannelState, sent: readonly Alert[]): ChannelState {
  const ids = new Set(sent.map(outboxId));
  const outbox = Object.entries(state.outbox ?? {}).filter(([id]) => !ids.has(id));
  if (outbox.length === Object.keys(state.outbox ?? {}).length) return state;
  const { outbox: _sent, ...rest } = state;
  return outbox.length === 0 ? rest : { ...rest, outbox: Object.fromEntries(outbox) };
}

/** What {@link withAlertOutbox} records and claims. */
export interface OutboxOptions<R> {
  /** The alerts a change's result announces (recorded as pending with it). */
  readonly alertsOf: (result: R, state: ChannelState) => readonly Alert[];
  /** The time of the look (epoch ms). */
  readonly at: number;
  /** Also claim the due pending alerts. */
  readonly resend: boolean;
}

/**
 * A state change (for updateChannelState) that also records the alerts of its result as pending
 * and, with `resend`, claims the due ones (returned in `resend`).
 */
export function withAlertOutbox<R>(
  change: (state: ChannelState) => { state: ChannelState; result: R },
  { alertsOf, at, resend }: OutboxOptions<R>,
): (state: ChannelState) => { state: ChannelState; result: R; resend: readonly Alert[] } {
  return (current) => {
    const next = change(current);
    const alerts = alertsOf(next.result, next.state);
    // Claimed before recording: an alert recorded by this change is this execution's already.
    // Earlier alerts of the incidents this change alerts on are claimed even without `resend`.
    const claimed = resend
      ? claimDueAlerts(next.state, at, ALERT_RESEND_AFTER_MS, alerts)
      : claimDueAlerts(next.state, at, Number.POSITIVE_INFINITY, alerts);
    return {
      state: recordAlerts(claimed.state, alerts, at),
      result: next.result,
      resend: claimed.alerts,
    };
  };
}
