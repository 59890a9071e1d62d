/**
 * The audit record: what one execution changed and why. Pure: the handlers collect the pieces, the
 * ASL carries the execution's data to PublishHealthMetrics (or RecordWorkflowFailure), which calls
 * {@link buildAuditRecord}, writes a non-null record as one log line ({@link AUDIT_LOG_MESSAGE}: the
 * audit trail on AWS, in that function's log group) and returns it into `$.audit` (the execution's
 * output: `executions.jsonl` locally, and the state machine's log at logLevel ALL).
 *
 * An execution gets a record when it changed `index.m3u8`, `steering.json` or an encoder's health
 * (a transition), withdrew playlists, sent an alert, rejected a playlist, or failed; otherwise
 * `$.audit` is null (a routine update of a healthy channel).
 */
import { createHash } from 'node:crypto';
import { type Alert, alertPayloadOf, channelLabel } from './alerts';
import type { Transition } from './hls';
import { causeMessage } from './invalid-playlists';

export const AUDIT_RECORD_VERSION = 1;

/** One decision about a channel, with the reason and the incident it belongs to. */
export interface AuditDecision {
  /**
   * A transition kind (`encoder-stalled`, `encoder-stopped`, `encoder-recovered`,
   * `preferred-changed`, `withdrawal-changed`, `channel-down`, `channel-up`, `channel-ended`) or an
   * invalid-playlist step (`invalid-playlist-opened`, `invalid-playlist-continued`,
   * `invalid-playlist-closed`).
   */
  readonly decision: string;
  readonly encoder?: string;
  readonly reason: string;
  readonly incidentId?: string;
}

/** A before/after content hash (SHA-256, hex) of something the execution wrote. */
export interface ContentChange {
  /** `index.m3u8`, `steering.json`, or `health` (the channel's health in the state object). */
  readonly object: 'index.m3u8' | 'steering.json' | 'health';
  readonly key?: string;
  readonly before?: string;
  readonly after: string;
}

/** What the freshness step (CheckCounterpartFreshness, Watchdog, RecordInvalidPlaylist) decided for one channel. */
export interface ChannelAudit {
  readonly channel: string;
  readonly decisions: readonly AuditDecision[];
  /** Hashes of the channel health before and after, when this execution changed it. */
  readonly health?: { readonly before?: string; readonly after: string };
}

export interface AuditAlert {
  readonly kind: string;
  readonly subject: string;
  readonly encoder?: string;
  readonly incidentId?: string;
}

export interface AuditChannel {
  readonly channel: string;
  readonly decisions: readonly AuditDecision[];
  readonly changes: readonly ContentChange[];
  /** Keys of withdrawn (deleted) media playlists. */
  readonly withdrawn: readonly string[];
  /** Keys of media playlists the withdrawal replaced by splices of the healthy encoder's. */
  readonly spliced?: readonly string[];
  /** Why a playlist was deleted rather than spliced (the encoders not output-locked, …). */
  readonly notSpliced?: readonly string[];
  readonly alerts: readonly AuditAlert[];
}

export interface AuditRecord {
  readonly v: typeof AUDIT_RECORD_VERSION;
  /** The execution ARN on AWS (`$$.Execution.Id`); a local ARN locally. */
  readonly execution: string;
  /** When the execution started (ISO 8601). */
  readonly at: string;
  readonly trigger:
    | { readonly source: 's3'; readonly key: string; readonly sequencer?: string; readonly etag?: string }
    | { readonly source: 'watchdog' };
  readonly channels: readonly AuditChannel[];
  /** A step that failed (the execution then fails by name; its Error and Cause are in the log too). */
  readonly failure?: { readonly error: string; readonly cause: string };
}

/** The execution's data as PublishHealthMetrics / RecordWorkflowFailure see it (only what the record reads). */
export interface WorkflowData {
  readonly source?: string;
  readonly detail?: {
    readonly object?: { readonly key?: string; readonly sequencer?: string; readonly etag?: string };
  };
  readonly health?: {
    readonly alerts?: readonly Alert[];
    readonly audit?: readonly ChannelAudit[];
  };
  readonly actions?: readonly {
    readonly channel?: string;
    readonly index?: {
      readonly index?: WriteHashes;
      readonly steering?: WriteHashes;
    };
    readonly withdrawal?: {
      readonly deleted?: Readonly<Record<string, readonly string[]>>;
      readonly spliced?: Readonly<Record<string, readonly string[]>>;
      readonly notSpliced?: readonly string[];
    };
  }[];
  readonly actionsError?: { readonly Error?: string; readonly Cause?: string };
  readonly error?: { readonly Error?: string; readonly Cause?: string };
}

interface WriteHashes {
  readonly key: string;
  readonly written: boolean;
  readonly hashBefore?: string;
  readonly hashAfter: string;
}

/** What the ASL passes: the context object's execution id and start, and the execution's data. */
export interface AuditInput {
  readonly executionId: string;
  readonly startedAt: string;
  readonly data: WorkflowData;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The content hash of a channel's health, as the audit record gives it. */
export function healthHash(health: unknown): string | undefined {
  return health === undefined ? undefined : sha256Hex(JSON.stringify(health));
}

/** The decisions a set of owned transitions stands for. */
export function decisionsOf(transitions: readonly Transition[]): AuditDecision[] {
  return transitions.map((t): AuditDecision => {
    switch (t.kind) {
      case 'encoder-stalled':
      case 'encoder-stopped':
        return { decision: t.kind, encoder: t.encoder, reason: t.reason, incidentId: t.incidentId };
      case 'encoder-recovered':
        return {
          decision: t.kind,
          encoder: t.encoder,
          reason: `fresh again after ${Math.round(t.durationMs / 1000)} s (incident started ${new Date(t.incidentStart).toISOString()})`,
          incidentId: t.incidentId,
        };
      case 'preferred-changed':
        return { decision: t.kind, encoder: t.to, reason: `${t.from} → ${t.to}: ${t.reason}` };
      case 'withdrawal-changed':
        return {
          decision: t.kind,
          reason: [
            t.withdrawn.length > 0 ? `withdraw ${t.withdrawn.join(', ')}` : '',
            t.restored.length > 0 ? `restore ${t.restored.join(', ')}` : '',
          ]
            .filter((s) => s !== '')
            .join('; '),
        };
      case 'channel-down':
        return { decision: t.kind, reason: t.reason, incidentId: t.incidentId };
      case 'channel-up':
        return { decision: t.kind, reason: 'an encoder is healthy again' };
      case 'channel-ended':
        return { decision: t.kind, reason: 'every encoder ended its playlists: the event is over' };
    }
    return { decision: 'unknown', reason: '' };
  });
}

function alertSummary(alert: Alert): AuditAlert {
  const payload = alertPayloadOf(alert.message);
  const encoder = alert.attributes.encoder?.StringValue;
  return {
    kind: alert.attributes.kind?.StringValue ?? payload?.kind ?? '',
    subject: alert.subject,
    ...(encoder === undefined ? {} : { encoder }),
    ...(payload?.incidentId === undefined ? {} : { incidentId: payload.incidentId }),
  };
}

/**
 * The audit record of one execution, or null when it changed nothing an auditor asks about.
 *
 * @example
 * buildAuditRecord({ executionId: 'arn:…', startedAt: '2026-11-24T10:00:28Z', data: $ })
 * // → { v: 1, trigger: { source: 's3', key: 'ch1/failover/720p.m3u8', sequencer: '…' },
 * //     channels: [{ channel: 'ch1', decisions: [{ decision: 'encoder-stalled', … }], changes: […], … }] }
 */
export function buildAuditRecord(input: AuditInput): AuditRecord | null {
  const { data } = input;
  const byChannel = new Map<
    string,
    {
      decisions: AuditDecision[];
      changes: ContentChange[];
      withdrawn: string[];
      spliced?: string[];
      notSpliced?: string[];
      alerts: AuditAlert[];
    }
  >();
  const entry = (channel: string) => {
    let e = byChannel.get(channel);
    if (e === undefined) {
      e = { decisions: [], changes: [], withdrawn: [], alerts: [] };
      byChannel.set(channel, e);
    }
    return e;
  };
  for (const a of data.health?.audit ?? []) {
    if (a.decisions.length === 0) continue;
    const e = entry(a.channel);
    e.decisions.push(...a.decisions);
    if (a.health !== undefined)
      e.changes.push({
        object: 'health',
        ...(a.health.before === undefined ? {} : { before: a.health.before }),
        after: a.health.after,
      });
  }
  for (const action of data.actions ?? []) {
    if (action.channel === undefined) continue;
    for (const [object, w] of [
      ['index.m3u8', action.index?.index],
      ['steering.json', action.index?.steering],
    ] as const) {
      if (w?.written !== true) continue;
      entry(action.channel).changes.push({
        object,
        key: w.key,
        ...(w.hashBefore === undefined ? {} : { before: w.hashBefore }),
        after: w.hashAfter,
      });
    }
    const deleted = Object.values(action.withdrawal?.deleted ?? {}).flat();
    if (deleted.length > 0) entry(action.channel).withdrawn.push(...deleted);
    const spliced = Object.values(action.withdrawal?.spliced ?? {}).flat();
    const notSpliced = action.withdrawal?.notSpliced ?? [];
    if (spliced.length > 0 || notSpliced.length > 0) {
      const e = entry(action.channel);
      if (spliced.length > 0) e.spliced = [...(e.spliced ?? []), ...spliced];
      if (notSpliced.length > 0) e.notSpliced = [...(e.notSpliced ?? []), ...notSpliced];
    }
  }
  const labels = new Map([...byChannel.keys()].map((c) => [channelLabel(c), c]));
  for (const alert of data.health?.alerts ?? []) {
    const label = alert.attributes.channel?.StringValue ?? '';
    const channel = labels.get(label) ?? (label === '(root)' ? '' : label);
    entry(channel).alerts.push(alertSummary(alert));
  }
  const failed = data.actionsError ?? (data.error?.Error === 'PlaylistInvalid' ? undefined : data.error);
  if (byChannel.size === 0 && failed === undefined) return null;

  const key = data.detail?.object?.key;
  const trigger: AuditRecord['trigger'] =
    data.source === 'hls-failover.watchdog' || key === undefined
      ? { source: 'watchdog' }
      : {
          source: 's3',
          key,
          ...(data.detail?.object?.sequencer === undefined
            ? {}
            : { sequencer: data.detail.object.sequencer }),
          ...(data.detail?.object?.etag === undefined ? {} : { etag: data.detail.object.etag }),
        };
  return {
    v: AUDIT_RECORD_VERSION,
    execution: input.executionId,
    at: input.startedAt,
    trigger,
    channels: [...byChannel.entries()].map(([channel, e]) => ({ channel, ...e })),
    ...(failed === undefined
      ? {}
      : { failure: { error: failed.Error ?? 'Unknown', cause: causeMessage(failed.Cause).slice(0, 2000) } }),
  };
}

/**
 * The `message` of the one structured log line that keeps a record in PublishHealthMetrics' log
 * group: `{"level":"INFO","service":"hls-failover","function":"PublishHealthMetrics","message":"audit record","audit":{"v":1,…}}`.
 */
export const AUDIT_LOG_MESSAGE = 'audit record';

/** The audit record a log line carries, or undefined when it is another line (or cut short). */
export function auditRecordOfLogLine(line: string): AuditRecord | undefined {
  if (!line.includes(`"${AUDIT_LOG_MESSAGE}"`)) return undefined;
  try {
    const parsed = JSON.parse(line) as { message?: unknown; audit?: Partial<AuditRecord> | null };
    if (parsed.message !== AUDIT_LOG_MESSAGE || parsed.audit?.v !== AUDIT_RECORD_VERSION) return undefined;
    return parsed.audit as AuditRecord;
  } catch {
    return undefined;
  }
}
