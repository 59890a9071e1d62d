import type { Alert } from '../../../functions/alerts';
import { emptyChannelState } from '../../../functions/channel-state';
import {
  ALERT_RESEND_AFTER_MS,
  claimDueAlerts,
  MAX_PENDING_ALERTS,
  markAlertsSent,
  outboxId,
  recordAlerts,
  withAlertOutbox,
} from '../../../functions/outbox';

const AT = Date.parse('2026-12-01T08:00:00Z');

function alert(kind: string, incidentId: string, encoder = 'primary'): Alert {
  const payload = { kind, channel: 'ch1', encoder, incidentId, at: new Date(AT).toISOString() };
  return {
    subject: `[hls-failover] ch1: ${encoder} ${kind}`,
    message: `body\nJSON: ${JSON.stringify(payload)}`,
    attributes: {},
  };
}

const STALLED = alert('STALLED', 'primary-1');
const RECOVERED = alert('RECOVERED', 'primary-1');

describe('alert outbox: recorded with the transition, sent once, re-sent when the owner died', () => {
  it('keys an alert by its incident and kind', () => {
    expect(outboxId(STALLED)).not.toBe(outboxId(RECOVERED));
    expect(outboxId(STALLED)).toBe(outboxId(alert('STALLED', 'primary-1')));
  });

  it('records an alert once: recording it again keeps the first entry', () => {
    const once = recordAlerts(emptyChannelState('ch1'), [STALLED], AT);

    const twice = recordAlerts(once, [STALLED], AT + 5_000);

    expect(Object.values(twice.outbox ?? {})).toEqual([{ alert: STALLED, recordedAt: AT, attemptedAt: AT }]);
  });

  it('leaves a pending alert to its execution until the resend bound, then one claim takes it', () => {
    const pending = recordAlerts(emptyChannelState('ch1'), [STALLED], AT);

    const early = claimDueAlerts(pending, AT + ALERT_RESEND_AFTER_MS - 1);
    const due = claimDueAlerts(pending, AT + ALERT_RESEND_AFTER_MS);
    const again = claimDueAlerts(due.state, AT + ALERT_RESEND_AFTER_MS + 1);

    expect(early.alerts).toEqual([]);
    expect(due.alerts).toEqual([STALLED]);
    expect(again.alerts).toEqual([]);
  });

  it('removes the alerts marked sent and ignores alerts that were never pending', () => {
    const pending = recordAlerts(emptyChannelState('ch1'), [STALLED, RECOVERED], AT);

    const marked = markAlertsSent(pending, [STALLED, alert('INVALID PLAYLIST', 'x')]);

    expect(Object.values(marked.outbox ?? {}).map((p) => p.alert)).toEqual([RECOVERED]);
    expect(markAlertsSent(marked, [RECOVERED]).outbox).toBeUndefined();
  });

  it(`keeps at most ${MAX_PENDING_ALERTS} pending alerts, the newest`, () => {
    let state = emptyChannelState('ch1');
    for (let i = 0; i <= MAX_PENDING_ALERTS; i++)
      state = recordAlerts(state, [alert('STALLED', `i${i}`)], AT + i);

    expect(Object.keys(state.outbox ?? {})).toHaveLength(MAX_PENDING_ALERTS);
    expect(Object.keys(state.outbox ?? {})).not.toContain(outboxId(alert('STALLED', 'i0')));
  });

  it("records a change's alerts with its state and hands over only due alerts it did not record", () => {
    const old = recordAlerts(emptyChannelState('ch1'), [STALLED], AT);
    const change = withAlertOutbox((s) => ({ state: s, result: { alerts: [RECOVERED] } }), {
      alertsOf: (r) => r.alerts,
      at: AT + ALERT_RESEND_AFTER_MS,
      resend: true,
    });

    const next = change(old);

    expect(next.resend).toEqual([STALLED]);
    expect(Object.keys(next.state.outbox ?? {}).sort()).toEqual(
      [outboxId(RECOVERED), outboxId(STALLED)].sort(),
    );
  });

  it("an incident's pending alert goes out with its next alert, before the bound and without resend: STALLED before RECOVERED", () => {
    const pending = recordAlerts(
      emptyChannelState('ch1'),
      [STALLED, alert('STALLED', 'failover-7', 'failover')],
      AT,
    );
    const change = withAlertOutbox((s) => ({ state: s, result: { alerts: [RECOVERED] } }), {
      alertsOf: (r) => r.alerts,
      at: AT + 1_000,
      resend: false,
    });

    const next = change(pending);

    // The other incident's alert stays with its owner until the bound.
    expect(next.resend).toEqual([STALLED]);
  });
});
