/**
 * `hls-failover audit`: the timeline of every change to index.m3u8 / steering.json / health,
 * every alert and every failed execution, with the reason. Locally from the data dir's
 * executions.jsonl and alerts.jsonl; on AWS with one CloudWatch Logs Insights query (paged by time:
 * Insights returns at most 10,000 rows per query) over two log groups: PublishHealthMetrics' (the
 * audit records) and the state machine's (failed executions, logged at logLevel ERROR and above).
 */
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { AUDIT_LOG_MESSAGE, type AuditRecord, auditRecordOfLogLine } from '../functions/audit';
import { sinkFiles } from '../local/json-lines-sink';
import {
  type AwsTarget,
  asUsageError,
  clientConfig,
  parseOperationsArgs,
  parseTarget,
  requireOutput,
  stackOutputs,
} from './aws';
import { type CliIo, UsageError } from './io';
import {
  type ExecutionOutcome,
  entriesOfExecution,
  entryOfSentAlert,
  parseKind,
  parseRange,
  renderTimeline,
  selectEntries,
  summarize,
  type TimelineEntry,
} from './timeline';

export const AUDIT_HELP = `Usage: hls-failover audit [--local <dataDir> | --stack <name> [--region <r>]] [options]

A timeline of what the workflow changed and why: every change to index.m3u8, steering.json and
encoder health (with before/after SHA-256), every withdrawal, every alert, every failed
execution, with the event key and sequencer, the reason and the incident id.

Where:
  --local <dir>          the local runtime's data dir: executions.jsonl and alerts.jsonl
                         (default: .hls-failover when --stack is not given)
  --stack <name>         a deployed stack: CloudWatch Logs Insights on its AuditLogGroup
                         (the records) and StateMachineLogGroup (failed executions)
  --region <region>      the stack's region (default: AWS_REGION / the profile's region)

Options:
  --channel <c>          only this channel ("" or "(root)" for the single-channel layout)
  --since <time>         from this time: ISO 8601, or a duration ago: 30m, 2h, 1d (default 24h)
  --until <time>         up to this time (default now)
  --kind <kind>          alerts, changes, failures or all (default all)
  --json                 print one JSON document {source, since, until, truncated, entries}
  -h, --help             show this help

Exit codes: 0 success (also when nothing matched), 2 usage, credentials, region, stack or I/O error.
`;

/**
 * The states whose output carries the audit record ($.audit): in the state machine log only at
 * logLevel ALL (and in the logs of stacks deployed before the records had their own log line).
 * The terminal events of failures, logged at ERROR and above.
 */
export const AUDIT_STATES = ['PublishHealthMetrics', 'RecordWorkflowFailure'] as const;
export const FAILURE_EVENTS = ['ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted'] as const;

/** Insights' row cap per query. */
export const INSIGHTS_LIMIT = 10_000;

/**
 * The Logs Insights query, over the audit and the execution log groups: the audit record lines, every
 * failed execution's terminal event and, at logLevel ALL, the exit events of the audit states that
 * hold a record (the same record twice: the CLI keeps one per execution), oldest first.
 */
export const AUDIT_QUERY = [
  'fields @timestamp, @message, type, execution_arn, details.name, details.output, details.error, details.cause',
  `| filter message = "${AUDIT_LOG_MESSAGE}"`,
  `    or type in [${FAILURE_EVENTS.map((s) => `"${s}"`).join(', ')}]`,
  `    or (type = "TaskStateExited" and details.name in [${AUDIT_STATES.map((s) => `"${s}"`).join(', ')}] and details.output like /"audit":\\{/)`,
  '| sort @timestamp asc',
  `| limit ${INSIGHTS_LIMIT}`,
].join('\n');

export interface AuditOptions {
  /** Now, for relative times (tests). @default Date.now */
  readonly now?: number;
  /** Between GetQueryResults polls, ms (tests). @default 1000 */
  readonly pollMs?: number;
}

function normalizeChannel(channel: string | undefined): string | undefined {
  if (channel === undefined) return undefined;
  return channel === '(root)' ? '' : channel.replace(/\/+$/, '');
}

export async function auditCommand(args: string[], io: CliIo, options: AuditOptions = {}): Promise<number> {
  const values = parseOperationsArgs(
    args,
    {
      channel: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      kind: { type: 'string' },
    },
    AUDIT_HELP,
    io,
  );
  if (values === undefined) return 0;
  const now = options.now ?? Date.now();
  const range = parseRange(values.since, values.until, now);
  const kind = parseKind(values.kind);
  const channel = normalizeChannel(values.channel);
  const target = parseTarget(values);

  let read: { entries: TimelineEntry[]; truncated: Truncation[]; source: Record<string, string> };
  if ('local' in target) {
    read = { ...(await readLocal(target.local)), truncated: [], source: { local: target.local } };
  } else {
    read = await readAws(target.aws, range, options.pollMs ?? 1000);
  }
  const entries = selectEntries(read.entries, { ...range, kind, channel });
  const since = new Date(range.since).toISOString();
  const until = new Date(range.until).toISOString();
  if (values.json) {
    io.out(
      `${JSON.stringify({ source: read.source, since, until, truncated: read.truncated, entries }, null, 2)}\n`,
    );
  } else {
    io.out(renderTimeline(entries));
    io.err(
      `${entries.length === 0 ? 'no entries' : summarize(entries)} from ${since} to ${until}${channel === undefined ? '' : ` for channel "${channel}"`} (${'local' in target ? target.local : `stack ${target.aws.stack}`})\n`,
    );
  }
  for (const t of read.truncated) {
    io.err(
      `warning: ${t.from} to ${t.to} holds more than ${INSIGHTS_LIMIT} records within one second; only ${t.shown} are shown\n`,
    );
  }
  return 0;
}

/* ---------- local: executions.jsonl and alerts.jsonl ---------- */

/** The lines of a sink and of its rotated files (local/json-lines-sink.ts), oldest first. */
async function* jsonLines(sink: string): AsyncGenerator<unknown> {
  for (const file of sinkFiles(sink)) {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      try {
        yield JSON.parse(line);
      } catch {
        // a line cut short by a crash: skip it, keep the rest
      }
    }
  }
}

interface LocalExecution {
  name?: string;
  status?: 'SUCCEEDED' | 'FAILED';
  output?: { audit?: AuditRecord | null };
  error?: string;
  cause?: string;
  startedAt?: number;
  durationMs?: number;
  events?: { type?: string; state?: { name?: string; output?: { audit?: AuditRecord | null } } }[];
}

/** The audit record of a local execution: its output's, or (failed) the last audit state's exit output. */
export function auditOfLocalExecution(e: LocalExecution): AuditRecord | null {
  if (e.output?.audit !== undefined) return e.output.audit;
  const exits = (e.events ?? []).filter(
    (ev) =>
      ev.type === 'StateExited' &&
      (AUDIT_STATES as readonly string[]).includes(ev.state?.name ?? '') &&
      ev.state?.output?.audit != null,
  );
  return exits.at(-1)?.state?.output?.audit ?? null;
}

async function readLocal(dir: string): Promise<{ entries: TimelineEntry[] }> {
  const executionsFile = join(dir, 'executions.jsonl');
  const alertsFile = join(dir, 'alerts.jsonl');
  if (!existsSync(executionsFile))
    throw new UsageError(
      `${dir} has no executions.jsonl: the local runtime has not run an execution there yet (npm start, then push playlists)`,
    );
  const entries: TimelineEntry[] = [];
  for await (const line of jsonLines(executionsFile)) {
    const e = line as LocalExecution;
    const record = auditOfLocalExecution(e);
    const startedAt = e.startedAt === undefined ? undefined : new Date(e.startedAt).toISOString();
    const ended =
      e.startedAt === undefined ? undefined : new Date(e.startedAt + (e.durationMs ?? 0)).toISOString();
    entries.push(
      ...entriesOfExecution(
        record,
        {
          ...(e.status === undefined ? {} : { status: e.status }),
          ...(e.error === undefined ? {} : { error: e.error }),
          ...(e.cause === undefined ? {} : { cause: e.cause }),
          ...(ended === undefined ? {} : { at: ended }),
          ...(startedAt === undefined ? {} : { startedAt }),
          ...(e.name === undefined ? {} : { execution: e.name }),
        },
        { alertsFromRecord: false },
      ),
    );
  }
  for await (const line of jsonLines(alertsFile)) {
    const entry = entryOfSentAlert(line as Parameters<typeof entryOfSentAlert>[0]);
    if (entry !== undefined) entries.push(entry);
  }
  return { entries };
}

/* ---------- AWS: CloudWatch Logs Insights ---------- */

/** A second-long range in which Insights had more rows than it returns. */
export interface Truncation {
  readonly from: string;
  readonly to: string;
  readonly shown: number;
}

type Row = Record<string, string>;

/** `2026-11-24 10:00:28.123` (Insights, UTC) → epoch ms. */
function insightsTime(value: string | undefined): number {
  if (value === undefined) return Number.NaN;
  return Date.parse(`${value.replace(' ', 'T')}${/Z|[+-]\d\d:?\d\d$/.test(value) ? '' : 'Z'}`);
}

async function runQuery(
  logs: CloudWatchLogsClient,
  logGroups: readonly string[],
  startSeconds: number,
  endSeconds: number,
  pollMs: number,
): Promise<Row[]> {
  const started = await logs.send(
    new StartQueryCommand({
      logGroupNames: [...logGroups],
      startTime: startSeconds,
      endTime: endSeconds,
      queryString: AUDIT_QUERY,
      limit: INSIGHTS_LIMIT,
    }),
  );
  if (started.queryId === undefined) throw new UsageError('CloudWatch Logs did not start the query');
  for (;;) {
    const out = await logs.send(new GetQueryResultsCommand({ queryId: started.queryId }));
    if (out.status === 'Complete') {
      return (out.results ?? []).map((fields) =>
        Object.fromEntries(fields.flatMap((f) => (f.field === undefined ? [] : [[f.field, f.value ?? '']]))),
      );
    }
    if (
      out.status === 'Failed' ||
      out.status === 'Cancelled' ||
      out.status === 'Timeout' ||
      out.status === 'Unknown'
    )
      throw new UsageError(
        `the Logs Insights query on ${logGroups.join(' and ')} ended as ${out.status}; try a shorter --since/--until range`,
      );
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Every row of the query between `since` and `until`: pages forward in time from the last row's
 * second (Insights returns at most {@link INSIGHTS_LIMIT} rows, oldest first), skipping rows seen
 * (by @ptr). A second that alone holds a full page is reported as truncated and skipped.
 */
export async function queryAllRows(
  logs: CloudWatchLogsClient,
  logGroups: readonly string[],
  range: { since: number; until: number },
  pollMs: number,
): Promise<{ rows: Row[]; truncated: Truncation[] }> {
  const end = Math.ceil(range.until / 1000);
  let cursor = Math.floor(range.since / 1000);
  const seen = new Set<string>();
  const rows: Row[] = [];
  const truncated: Truncation[] = [];
  while (cursor <= end) {
    const page = await runQuery(logs, logGroups, cursor, end, pollMs);
    for (const row of page) {
      const ptr = row['@ptr'] ?? JSON.stringify(row);
      if (seen.has(ptr)) continue;
      seen.add(ptr);
      rows.push(row);
    }
    if (page.length < INSIGHTS_LIMIT) break;
    const last = Math.floor(Math.max(...page.map((r) => insightsTime(r['@timestamp']))) / 1000);
    if (!(last > cursor)) {
      truncated.push({
        from: new Date(cursor * 1000).toISOString(),
        to: new Date((cursor + 1) * 1000).toISOString(),
        shown: page.length,
      });
      cursor += 1;
    } else {
      cursor = last;
    }
  }
  return { rows, truncated };
}

/** Timeline entries from the query's rows: audit records joined with their execution's failure. */
export function entriesOfRows(rows: readonly Row[]): TimelineEntry[] {
  const records = new Map<string, AuditRecord>();
  const failures = new Map<string, ExecutionOutcome>();
  for (const row of rows) {
    const arn = row.execution_arn ?? '';
    const type = row.type ?? '';
    if ((FAILURE_EVENTS as readonly string[]).includes(type)) {
      const at = insightsTime(row['@timestamp']);
      failures.set(arn, {
        status:
          type === 'ExecutionTimedOut' ? 'TIMED_OUT' : type === 'ExecutionAborted' ? 'ABORTED' : 'FAILED',
        ...(row['details.error'] ? { error: row['details.error'] } : {}),
        ...(row['details.cause'] ? { cause: row['details.cause'] } : {}),
        ...(Number.isNaN(at) ? {} : { at: new Date(at).toISOString() }),
      });
      continue;
    }
    const line = auditRecordOfLogLine(row['@message'] ?? '');
    if (line !== undefined) {
      records.set(line.execution, line);
      continue;
    }
    try {
      const output = JSON.parse(row['details.output'] ?? '') as { audit?: AuditRecord | null };
      if (output.audit) records.set(arn, output.audit);
    } catch {
      // output truncated by Step Functions (over 256 KB): no record to show for this execution
    }
  }
  const entries: TimelineEntry[] = [];
  for (const [arn, record] of records) {
    entries.push(
      ...entriesOfExecution(
        record,
        { ...(failures.get(arn) ?? { status: 'SUCCEEDED' }), execution: arn },
        {
          alertsFromRecord: true,
        },
      ),
    );
  }
  for (const [arn, failure] of failures) {
    if (!records.has(arn))
      entries.push(...entriesOfExecution(null, { ...failure, execution: arn }, { alertsFromRecord: true }));
  }
  return entries;
}

async function readAws(
  target: AwsTarget,
  range: { since: number; until: number },
  pollMs: number,
): Promise<{ entries: TimelineEntry[]; truncated: Truncation[]; source: Record<string, string> }> {
  const outputs = await stackOutputs(target);
  const auditLogGroup = requireOutput(outputs, 'AuditLogGroup', target);
  const logGroup = requireOutput(outputs, 'StateMachineLogGroup', target);
  const logs = new CloudWatchLogsClient(clientConfig(target));
  try {
    const { rows, truncated } = await queryAllRows(logs, [auditLogGroup, logGroup], range, pollMs);
    if (rows.length === 0) {
      // Every execution's PublishHealthMetrics logs its metrics: an empty group means none has run.
      const streams = await logs.send(
        new DescribeLogStreamsCommand({
          logGroupName: auditLogGroup,
          orderBy: 'LastEventTime',
          descending: true,
          limit: 1,
        }),
      );
      if ((streams.logStreams ?? []).length === 0)
        throw new UsageError(
          `log group ${auditLogGroup} is empty: no execution has run yet. Run "hls-failover replay --stack ${target.stack} --key <key>" to start one.`,
        );
    }
    return {
      entries: entriesOfRows(rows),
      truncated,
      source: { stack: target.stack, auditLogGroup, logGroup },
    };
  } catch (e) {
    throw asUsageError(e, target, `log groups ${auditLogGroup} and ${logGroup}`);
  } finally {
    logs.destroy();
  }
}
