/**
 * Alerts for on-call: one per owned transition that a person must know about. Pure: the
 * workflow publishes them (SNS on AWS, sinks locally). Subject like
 * `[hls-failover] <channel>: primary STALLED`; a body a person can act on; a JSON payload and SNS
 * message attributes for machines (subscription filter policies).
 */
import type { ChannelHealth, Transition } from './hls';

export type AlertKind = 'STALLED' | 'STOPPED' | 'RECOVERED' | 'CHANNEL DOWN' | 'CHANNEL UP';
export type Severity = 'critical' | 'warning' | 'info';

/** What NotifyOnCall publishes: the shape of the SNS Publish parameters it reads. */
export interface Alert {
  readonly subject: string;
  readonly message: string;
  readonly attributes: Record<string, { readonly DataType: 'String'; readonly StringValue: string }>;
}

export interface AlertPayload {
  readonly kind: AlertKind;
  readonly severity: Severity;
  readonly channel: string;
  readonly encoder?: string;
  readonly incidentId?: string;
  readonly reason?: string;
  readonly at: string;
  readonly actions: readonly string[];
  readonly transition: Transition;
}

/** The channel name people read: the single-channel layout has none. */
export function channelLabel(channel: string): string {
  return channel === '' ? '(root)' : channel;
}

/**
 * Alerts for the transitions of one execution that owns them. Actions (preference change,
 * withdrawal) are reported inside the alert of the incident that caused them.
 */
export function alertsFor(
  channel: string,
  transitions: readonly Transition[],
  state: ChannelHealth,
  now: number,
): Alert[] {
  const actions = transitions.flatMap((t): string[] => {
    if (t.kind === 'preferred-changed')
      return [`steering and index order now prefer ${t.to} (was ${t.from}): ${t.reason}`];
    if (t.kind === 'withdrawal-changed') {
      return [
        ...t.withdrawn.map(
          (e) => `withdrew ${e}'s media playlists (they answer 404; bucket versioning keeps them)`,
        ),
        ...t.restored.map((e) => `${e} is no longer withdrawn`),
      ];
    }
    return [];
  });
  const alerts: Alert[] = [];
  for (const t of transitions) {
    const payload = payloadOf(channel, t, now, actions);
    if (payload !== undefined) alerts.push(render(payload, state));
  }
  return alerts;
}

function payloadOf(
  channel: string,
  t: Transition,
  now: number,
  actions: readonly string[],
): AlertPayload | undefined {
  const at = new Date(now).toISOString();
  switch (t.kind) {
    case 'encoder-stalled':
    case 'encoder-stopped':
      return {
        kind: t.kind === 'encoder-stalled' ? 'STALLED' : 'STOPPED',
        severity: 'critical',
        channel,
        encoder: t.encoder,
        incidentId: t.incidentId,
        reason: t.reason,
        at,
        actions,
        transition: t,
      };
    case 'encoder-recovered':
      return {
        kind: 'RECOVERED',
        severity: 'info',
        channel,
        encoder: t.encoder,
        incidentId: t.incidentId,
        at,
        actions,
        transition: t,
      };
    case 'channel-down':
      return {
        kind: 'CHANNEL DOWN',
        severity: 'critical',
        channel,
        incidentId: t.incidentId,
        reason: t.reason,
        at,
        actions,
        transition: t,
      };
    case 'channel-up':
      return { kind: 'CHANNEL UP', severity: 'info', channel, at, actions, transition: t };
    default:
      return undefined;
  }
}

function render(p: AlertPayload, state: ChannelHealth): Alert {
  const who = p.encoder === undefined ? '' : ` ${p.encoder}`;
  const subject = `[hls-failover] ${channelLabel(p.channel)}:${who} ${p.kind}`.slice(0, 100);
  const lines = [`${subject.replace('[hls-failover] ', '')} at ${p.at}`, ''];
  const t = p.transition;
  if (t.kind === 'encoder-stalled' || t.kind === 'encoder-stopped') {
    lines.push(`What happened: ${t.reason}`, '', 'Evidence:');
    for (const e of t.evidence) {
      lines.push(
        `  ${e.rendition}: last segment ${e.lastSequence}, updated ${e.ageSeconds} s ago (${e.ageTargetDurations} × target duration) — ${e.reason}`,
      );
    }
  } else if (t.kind === 'encoder-recovered') {
    lines.push(
      `What happened: ${t.encoder} is fresh again after ${Math.round(t.durationMs / 1000)} s (incident started ${new Date(t.incidentStart).toISOString()}).`,
    );
  } else if (p.reason !== undefined) {
    lines.push(`What happened: ${p.reason}`);
  }
  lines.push('', 'Encoders now:');
  for (const [encoder, health] of Object.entries(state.encoders)) {
    const sequences = Object.entries(health.renditions)
      .map(([r, h]) => `${r}=${h.lastSequence}`)
      .join(', ');
    lines.push(
      `  ${encoder}: ${health.status} (${health.reason})${sequences ? `; last segments ${sequences}` : ''}`,
    );
  }
  lines.push(
    '',
    'What the system did:',
    ...(p.actions.length > 0
      ? p.actions.map((a) => `  - ${a}`)
      : ['  - nothing (no healthy encoder to move to, or no change needed)']),
  );
  if (p.incidentId !== undefined) lines.push('', `Incident: ${p.incidentId}`);
  lines.push(
    '',
    'Runbook: see "For on-call" in the hls-failover README.',
    '',
    `JSON: ${JSON.stringify({ ...p, transition: undefined, details: t })}`,
  );
  const attribute = (value: string) => ({ DataType: 'String' as const, StringValue: value });
  return {
    subject,
    message: lines.join('\n'),
    attributes: {
      channel: attribute(channelLabel(p.channel)),
      kind: attribute(p.kind),
      severity: attribute(p.severity),
      ...(p.encoder === undefined ? {} : { encoder: attribute(p.encoder) }),
    },
  };
}
