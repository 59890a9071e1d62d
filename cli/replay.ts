/**
 * `hls-failover replay`: runs the workflow synchronously for one object, with the event S3 would
 * send for it, and prints the outcome. On AWS it is StartSyncExecution on the stack's Express state
 * machine: a post-deploy smoke test that exercises the real Lambdas, bucket, topic and log group.
 * Locally it runs the same ASL on the local engine against the data dir.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { SFNClient, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import type { AuditRecord } from '../functions/audit';
import { createDeps, jsonLogger } from '../functions/handlers/deps';
import { createLocalWorkflow } from '../local/engine';
import { auditOfLocalExecution } from './audit';
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
import { localBucket, openLocalRecords, openLocalS3, readSettingsFile } from './local-data';
import { entriesOfExecution, renderTimeline } from './timeline';

export const REPLAY_HELP = `Usage: hls-failover replay (--local <dataDir> | --stack <name> [--region <r>]) --key <s3 key> [options]

Runs the workflow once, synchronously, for one object, with the "Object Created" event S3 would
send for it, and prints the outcome: the decision (or why it skipped), what changed, the alerts
it sent, or the failure and its cause. On AWS this is StartSyncExecution on the stack's Express
state machine (a post-deploy smoke test: the real Lambdas, bucket, topic and log group); locally
the same ASL on the local engine, against the data dir. Alerts it raises are really sent.

It is also the way back for events EventBridge gave up on (older than two watchdog periods):
each message in the stack's dead-letter queue is the original S3 event; replay its
detail.object.key.

Where:
  --local <dir>          the local runtime's data dir; the execution is appended to its
                         executions.jsonl (and alerts.jsonl, metrics.jsonl)
  --stack <name>         a deployed stack (StateMachineArn and BucketName outputs)
  --region <region>      the stack's region (default: AWS_REGION / the profile's region)

Options:
  --key <key>            the object key, e.g. news/primary/master.m3u8 (required)
  --bucket <name>        local bucket (default: the only one in the data dir, else live)
  --config <file>        local: the settings file the runtime uses, when not the defaults
  --s3-endpoint <url>    local: go through a running runtime's S3 endpoint (its banner prints
                         it) instead of starting one on the data dir; use this while npm start
                         runs on the same data dir
  --json                 print {status, error, cause, execution, output} as one JSON document
  -h, --help             show this help

Exit codes: 0 the execution succeeded (also when it skipped), 1 it failed (the cause is printed),
2 usage, credentials, region, stack or I/O error.
`;

/** The EventBridge "Object Created" event S3 sends for a new object (what the rule delivers). */
export function objectCreatedEvent(bucket: string, key: string, now: number) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '000000000000',
    time: new Date(now).toISOString().replace(/\.\d+Z$/, 'Z'),
    region: 'replay',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: { key },
      'request-id': 'hls-failover-replay',
      requester: 'hls-failover-replay',
      reason: 'PutObject',
    },
  };
}

export interface ReplayOutcome {
  readonly status: string;
  readonly execution?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly durationMs?: number;
  readonly output?: {
    readonly playlist?: {
      readonly action?: string;
      readonly reason?: string;
      readonly kind?: string;
      readonly channel?: string;
      readonly encoder?: string;
    };
    readonly audit?: AuditRecord | null;
  };
  /** Failed executions have no output; their audit record, when the engine kept one. */
  readonly audit?: AuditRecord | null;
}

/** The outcome people read. */
export function renderOutcome(key: string, o: ReplayOutcome): string {
  const lines = [
    `replay ${key}: ${o.status}${o.durationMs === undefined ? '' : ` in ${o.durationMs} ms`}${o.execution === undefined ? '' : ` (${o.execution})`}`,
  ];
  const p = o.output?.playlist;
  if (p?.action === 'skip') lines.push(`  skipped: ${p.reason ?? ''}`);
  else if (p?.action === 'process')
    lines.push(`  accepted: ${p.kind} playlist of ${p.encoder} in channel "${p.channel}"`);
  if (o.error !== undefined) lines.push(`  failed as ${o.error}: ${o.cause ?? ''}`);
  const record = o.output?.audit ?? o.audit;
  if (record) {
    lines.push(
      '',
      renderTimeline(
        entriesOfExecution(record, { status: 'SUCCEEDED' }, { alertsFromRecord: true }),
      ).trimEnd(),
    );
  } else if (o.status === 'SUCCEEDED' && p?.action !== 'skip') {
    lines.push('  no change: index.m3u8, steering.json and encoder health stay as they were');
  }
  return `${lines.join('\n')}\n`;
}

export async function replayCommand(args: string[], io: CliIo): Promise<number> {
  const values = parseOperationsArgs(
    args,
    {
      key: { type: 'string' },
      bucket: { type: 'string' },
      config: { type: 'string' },
      's3-endpoint': { type: 'string' },
    },
    REPLAY_HELP,
    io,
  );
  if (values === undefined) return 0;
  if (values.local === undefined && values.stack === undefined)
    throw new UsageError('give --local <dataDir> or --stack <name>: where to replay');
  const key = values.key?.replace(/^\/+/, '');
  if (key === undefined || key === '')
    throw new UsageError('--key <s3 key> is required, e.g. news/primary/master.m3u8');
  const target = parseTarget(values);
  const outcome =
    'local' in target
      ? await replayLocal(target.local, key, values.bucket, values.config, values['s3-endpoint'], io)
      : await replayAws(target.aws, key, values);
  io.out(values.json ? `${JSON.stringify(outcome, null, 2)}\n` : renderOutcome(key, outcome));
  return outcome.status === 'SUCCEEDED' ? 0 : 1;
}

async function replayLocal(
  dataDir: string,
  key: string,
  bucketOption: string | undefined,
  config: string | undefined,
  endpoint: string | undefined,
  io: CliIo,
): Promise<ReplayOutcome> {
  const settings = readSettingsFile(config);
  const bucket = localBucket(dataDir, bucketOption);
  const s3 = await openLocalS3(dataDir, bucket, endpoint).catch((e: NodeJS.ErrnoException) => {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot open the data dir's S3 store at ${dataDir}: ${e.message}`);
  });
  const local = await openLocalRecords(dataDir, settings.stackName).catch(async (e: Error) => {
    await s3.close();
    throw new UsageError(`cannot open the data dir's records at ${dataDir}: ${e.message}`);
  });
  const append = (file: string, value: unknown) =>
    appendFileSync(join(dataDir, file), `${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
  try {
    const engine = createLocalWorkflow({
      deps: createDeps({
        functionName: 'replay',
        store: s3.store,
        records: local.records,
        settings,
        log: jsonLogger('replay', () => undefined),
        emitMetricLine: (line) => append('metrics.jsonl', line),
      }),
      publishAlert: async (alert) => {
        append('alerts.jsonl', { at: new Date().toISOString(), ...alert });
        io.err(`ALERT ${alert.subject}\n`);
      },
      startExecution: () => {
        throw new Error('replay runs one S3 event, which starts no other execution');
      },
    });
    const record = await engine.run(objectCreatedEvent(bucket, key, Date.now()));
    append('executions.jsonl', record);
    return {
      status: record.status,
      execution: record.name,
      durationMs: record.durationMs,
      ...(record.error === undefined ? {} : { error: record.error }),
      ...(record.cause === undefined ? {} : { cause: record.cause }),
      ...(record.output === undefined
        ? {}
        : { output: record.output as NonNullable<ReplayOutcome['output']> }),
      ...(record.status === 'FAILED' ? { audit: auditOfLocalExecution(record as never) } : {}),
    };
  } catch (e) {
    if (e instanceof Error && /ECONNREFUSED/.test(`${e.message} ${(e as { code?: string }).code ?? ''}`))
      throw new UsageError(`nothing answers at ${s3.endpoint}: is the local runtime running?`);
    throw e;
  } finally {
    await local.close();
    await s3.close();
  }
}

async function replayAws(
  target: AwsTarget,
  key: string,
  values: { bucket?: string | undefined; config?: string | undefined; 's3-endpoint'?: string | undefined },
): Promise<ReplayOutcome> {
  for (const option of ['bucket', 'config', 's3-endpoint'] as const)
    if (values[option] !== undefined) throw new UsageError(`--${option} goes with --local`);
  const outputs = await stackOutputs(target);
  const stateMachineArn = requireOutput(outputs, 'StateMachineArn', target);
  const bucket = requireOutput(outputs, 'BucketName', target);
  const sfn = new SFNClient(clientConfig(target));
  try {
    const out = await sfn.send(
      new StartSyncExecutionCommand({
        stateMachineArn,
        name: `replay-${Date.now()}`,
        input: JSON.stringify(objectCreatedEvent(bucket, key, Date.now())),
      }),
    );
    let output: NonNullable<ReplayOutcome['output']> | undefined;
    try {
      output =
        out.output === undefined
          ? undefined
          : (JSON.parse(out.output) as NonNullable<ReplayOutcome['output']>);
    } catch {
      output = undefined;
    }
    return {
      status: out.status ?? 'UNKNOWN',
      ...(out.executionArn === undefined ? {} : { execution: out.executionArn }),
      ...(out.startDate !== undefined && out.stopDate !== undefined
        ? { durationMs: out.stopDate.getTime() - out.startDate.getTime() }
        : {}),
      ...(out.error === undefined ? {} : { error: out.error }),
      ...(out.cause === undefined ? {} : { cause: out.cause }),
      ...(output === undefined ? {} : { output }),
    };
  } catch (e) {
    throw asUsageError(e, target, `state machine ${stateMachineArn}`);
  } finally {
    sfn.destroy();
  }
}
