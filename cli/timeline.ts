/**
 * The audit timeline: audit records (functions/audit.ts), failed executions and alerts turned
 * into one time-ordered list of entries, and the table people read. Pure apart from nothing:
 * the readers (local files, CloudWatch Logs Insights) live in audit.ts.
 */
import { type AlertPayload, alertPayloadOf } from '../functions/alerts';
import type { AuditRecord } from '../functions/audit';
import { causeMessage } from '../functions/invalid-playlists';
import { UsageError } from './io';

export type EntryKind = 'change' | 'alert' | 'failure';
export type KindFilter = 'alerts' | 'changes' | 'failures' | 'all';

export interface TimelineEntry {
  /** ISO 8601. */
  readonly at: string;
  readonly kind: EntryKind;
  /** '' is the single-channel layout; undefined when unknown (a failure before the record was made). */
  readonly channel?: string;
  readonly encoder?: string;
  /** The decision, the object written, the alert subject, or the failure's error name. */
  readonly what: string;
  readonly reason?: string;
  readonly incidentId?: string;
  readonly execution?: string;
  /** The S3 key (and sequencer) that started the execution; absent for watchdog runs. */
  readonly key?: string;
  readonly sequencer?: string;
  /** Content hashes (SHA-256) of the object before and after, for changes. */
  readonly before?: string;
  readonly after?: string;
}

/** How an execution ended, as far as the source knows. */
export interface ExecutionOutcome {
  readonly status?: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  readonly error?: string;
  readonly cause?: string;
  /** When it ended (ISO 8601). */
  readonly at?: string;
}

const RELATIVE = /^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)$/i;
const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * A time: ISO 8601 (`2026-11-24T10:00:00Z`, `2026-11-24`), `now`, or a duration ago (`30m`, `2h`,
 * `1d`, `90s`, `1w`). Throws a usage error naming the option for anything else.
 */
export function parseTime(text: string, now: number, option: string): number {
  const trimmed = text.trim();
  if (trimmed === 'now') return now;
  const relative = RELATIVE.exec(trimmed);
  if (relative !== null) {
    return now - Number(relative[1]) * (UNIT_MS[(relative[2] as string).toLowerCase()] as number);
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const ms = Date.parse(trimmed);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new UsageError(
    `${option} "${text}" is not a time: give an ISO time (2026-11-24T10:00:00Z) or a duration ago (30m, 2h, 1d)`,
  );
}

/** The time range of a command: since defaults to 24 hours before until; since must come first. */
export function parseRange(
  since: string | undefined,
  until: string | undefined,
  now: number,
): { since: number; until: number } {
  const end = until === undefined ? now : parseTime(until, now, '--until');
  const start = since === undefined ? end - 86_400_000 : parseTime(since, now, '--since');
  if (start > end)
    throw new UsageError(
      `--since (${new Date(start).toISOString()}) is after --until (${new Date(end).toISOString()})`,
    );
  return { since: start, until: end };
}

export function parseKind(kind: string | undefined): KindFilter {
  const k = kind ?? 'all';
  if (k === 'alerts' || k === 'changes' || k === 'failures' || k === 'all') return k;
  throw new UsageError(`--kind takes alerts, changes, failures or all (got "${k}")`);
}

function triggerOf(record: AuditRecord): { key?: string; sequencer?: string } {
  if (record.trigger.source !== 's3') return {};
  return {
    key: record.trigger.key,
    ...(record.trigger.sequencer === undefined ? {} : { sequencer: record.trigger.sequencer }),
  };
}

/**
 * The entries of one execution: a change per decision, per object written and per withdrawal;
 * an alert per alert the record lists (when `alertsFromRecord`; locally alerts.jsonl is the
 * source); a failure when the execution failed.
 */
export function entriesOfExecution(
  record: AuditRecord | null | undefined,
  outcome: ExecutionOutcome & { readonly execution?: string; readonly startedAt?: string },
  options: { readonly alertsFromRecord: boolean },
): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  const execution = record?.execution ?? outcome.execution;
  const common = {
    ...(execution === undefined ? {} : { execution }),
    ...(record === null || record === undefined ? {} : triggerOf(record)),
  };
  const at = record?.at ?? outcome.startedAt ?? outcome.at ?? new Date(0).toISOString();
  const undelivered = outcome.status !== 'SUCCEEDED' && outcome.error === 'NotifyFailed';
  for (const channel of record?.channels ?? []) {
    for (const d of channel.decisions) {
      entries.push({
        at,
        kind: 'change',
        channel: channel.channel,
        ...(d.encoder === undefined ? {} : { encoder: d.encoder }),
        what: d.decision,
        reason: d.reason,
        ...(d.incidentId === undefined ? {} : { incidentId: d.incidentId }),
        ...common,
      });
    }
    for (const c of channel.changes) {
      entries.push({
        at,
        kind: 'change',
        channel: channel.channel,
        what: `${c.object} written`,
        ...(c.before === undefined ? {} : { before: c.before }),
        after: c.after,
        ...common,
      });
    }
    if (channel.withdrawn.length > 0) {
      entries.push({
        at,
        kind: 'change',
        channel: channel.channel,
        what: `withdrew ${channel.withdrawn.length} media playlist${channel.withdrawn.length === 1 ? '' : 's'}`,
        reason: channel.withdrawn.join(', '),
        ...common,
      });
    }
    const spliced = channel.spliced ?? [];
    if (spliced.length > 0) {
      entries.push({
        at,
        kind: 'change',
        channel: channel.channel,
        what: `spliced ${spliced.length} media playlist${spliced.length === 1 ? '' : 's'} from the healthy encoder's`,
        reason: spliced.join(', '),
        ...common,
      });
    }
    for (const why of channel.notSpliced ?? [])
      entries.push({
        at,
        kind: 'change',
        channel: channel.channel,
        what: 'deleted instead of spliced',
        reason: why,
        ...common,
      });
    if (options.alertsFromRecord) {
      for (const a of channel.alerts) {
        entries.push({
          at,
          kind: 'alert',
          channel: channel.channel,
          ...(a.encoder === undefined ? {} : { encoder: a.encoder }),
          what: a.subject,
          ...(undelivered ? { reason: 'not delivered: the execution failed as NotifyFailed' } : {}),
          ...(a.incidentId === undefined ? {} : { incidentId: a.incidentId }),
          ...common,
        });
      }
    }
  }
  const failed = outcome.status !== undefined && outcome.status !== 'SUCCEEDED';
  if (failed || (outcome.status === undefined && record?.failure !== undefined)) {
    const error = outcome.error ?? record?.failure?.error ?? outcome.status ?? 'FAILED';
    const cause = causeMessage(outcome.cause ?? record?.failure?.cause);
    const channels = record?.channels ?? [];
    const only = channels.length === 1 ? channels[0] : undefined;
    const encoder = only?.decisions.find((d) => d.encoder !== undefined)?.encoder;
    entries.push({
      at: outcome.at ?? at,
      kind: 'failure',
      ...(only === undefined ? {} : { channel: only.channel }),
      ...(encoder === undefined ? {} : { encoder }),
      what: error,
      reason: cause,
      ...(only?.decisions[0]?.incidentId === undefined ? {} : { incidentId: only.decisions[0].incidentId }),
      ...common,
    });
  }
  return entries;
}

/** An alert as the local sink wrote it (alerts.jsonl: `{at, subject, message, attributes}`). */
export function entryOfSentAlert(line: {
  at?: string;
  subject?: string;
  message?: string;
  attributes?: Record<string, { StringValue?: string }>;
}): TimelineEntry | undefined {
  if (typeof line.subject !== 'string') return undefined;
  const payload: AlertPayload | undefined = alertPayloadOf(line.message ?? '');
  const label = line.attributes?.channel?.StringValue;
  const channel = payload?.channel ?? (label === '(root)' ? '' : label);
  const encoder = payload?.encoder ?? line.attributes?.encoder?.StringValue;
  return {
    at: line.at ?? payload?.at ?? new Date(0).toISOString(),
    kind: 'alert',
    ...(channel === undefined ? {} : { channel }),
    ...(encoder === undefined ? {} : { encoder }),
    what: line.subject,
    ...(payload?.reason === undefined ? {} : { reason: payload.reason }),
    ...(payload?.incidentId === undefined ? {} : { incidentId: payload.incidentId }),
  };
}

/** Entries in the range, of the kind and channel asked for, oldest first. */
export function selectEntries(
  entries: readonly TimelineEntry[],
  filter: { since: number; until: number; kind: KindFilter; channel?: string | undefined },
): TimelineEntry[] {
  const kinds: Record<KindFilter, readonly EntryKind[]> = {
    all: ['change', 'alert', 'failure'],
    alerts: ['alert'],
    changes: ['change'],
    failures: ['failure'],
  };
  return (
    entries
      .filter((e) => {
        const t = Date.parse(e.at);
        return t >= filter.since && t <= filter.until;
      })
      .filter((e) => kinds[filter.kind].includes(e.kind))
      // A failure whose channel is unknown (a watchdog run, a step that failed before the record) may concern any channel.
      .filter((e) => filter.channel === undefined || e.channel === filter.channel || e.channel === undefined)
      .sort((a, b) => a.at.localeCompare(b.at))
  );
}

const short = (hash: string | undefined) => (hash === undefined ? '(none)' : hash.slice(0, 12));

function clip(text: string, width: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length <= width ? oneLine : `${oneLine.slice(0, width - 1)}…`;
}

/** The human table: one line per entry, columns padded; the reason last (clipped to `reasonWidth`). */
export function renderTimeline(entries: readonly TimelineEntry[], reasonWidth = 140): string {
  if (entries.length === 0) return '';
  const rows = entries.map((e) => [
    e.at,
    e.kind,
    e.channel === undefined ? '-' : e.channel === '' ? '(root)' : e.channel,
    e.encoder ?? '-',
    e.after === undefined ? e.what : `${e.what} ${short(e.before)} → ${short(e.after)}`,
    e.incidentId ?? '-',
    e.key === undefined ? (e.execution === undefined ? '-' : 'watchdog') : e.key,
    clip(e.reason ?? '', reasonWidth),
  ]);
  const header = ['TIME', 'KIND', 'CHANNEL', 'ENCODER', 'WHAT', 'INCIDENT', 'TRIGGER', 'REASON'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** `3 changes, 1 alert, 0 failures`. */
export function summarize(entries: readonly TimelineEntry[]): string {
  const count = (k: EntryKind) => entries.filter((e) => e.kind === k).length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(count('change'), 'change')}, ${plural(count('alert'), 'alert')}, ${plural(count('failure'), 'failure')}`;
}
