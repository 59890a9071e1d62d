/**
 * The local runtime: everything the AWS deployment does, on 127.0.0.1 with no AWS account. The
 * embedded S3 endpoint's object events become EventBridge-shaped events, filtered by the same
 * pattern the CDK rule uses, and start executions on the local engine of what `cdk deploy`
 * uploads: the synthesized state machine definition, each Task's Lambda from its bundle in
 * `cdk.out/` (local/lambda-host.ts). Alerts, metrics and every execution's history go to
 * JSON-lines files (the local audit trail), each function's log to `logs/`; the watchdog runs on
 * a timer. `fromSources` runs the ASL file and the handlers from the TypeScript sources instead.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Alert } from '../functions/alerts';
import { publishedFolderOf, SETTINGS, type Settings, settingsToEnv } from '../functions/config';
import {
  DynamoRecordStore,
  STATE_TABLE_PARTITION_KEY,
  STATE_TABLE_SORT_KEY,
} from '../functions/dynamodb-store';
import { createDeps, jsonLogger } from '../functions/handlers/deps';
import { parseEncoderKey, workflowObjectOf } from '../functions/keys';
import { type ObjectStore, S3ObjectStore } from '../functions/store';
import { playlistEventPattern, watchdogInput } from '../functions/workflow';
import type { Authorizer } from './aws-request';
import {
  CLOUD_ASSEMBLY_DIR,
  createResolver,
  loadSynthesizedStack,
  type SynthesizedStack,
  type Template,
  tablesOf,
} from './cloudformation';
import { type DynamoDbEndpoint, startDynamoDbEndpoint, type TableDefinition } from './dynamodb-endpoint';
import {
  createArtifactWorkflow,
  createLocalWorkflow,
  type ExecutionRecord,
  type InjectedFault,
  type WorkflowServices,
} from './engine';
import { EventJournal, type JournalEntry } from './event-journal';
import { matchesEventPattern } from './event-pattern';
import { JsonLinesSink } from './json-lines-sink';
import { type LambdaHost, lambdaFunctionsOf, logicalIdOf, startLambdaHost } from './lambda-host';
import { startOrigin } from './origin';
import type { LocalLimits } from './request-guards';
import { createLocalS3Client, type ObjectWrite, type S3rverEvent, startS3Endpoint } from './s3-endpoint';
import { type AlertEntry, alertEntry, type DemoControls, startStatusServer } from './status-server';
import { type StorageFaultInjector, StorageHealth } from './storage-health';
import { assemblyFor, STACK_ID } from './synthesize';
import { createWebhook, type WebhookOptions } from './webhook';

export interface LocalRuntimeOptions extends LocalLimits {
  readonly dataDir: string;
  readonly bucket: string;
  readonly settings: Settings;
  /** 0 picks a free port. */
  readonly s3Port: number;
  readonly originPort: number;
  /** Status page and JSON API; 0 (the default) picks a free port. */
  readonly statusPort?: number;
  readonly watchdogSeconds: number;
  /**
   * POSTs every alert as JSON to this on-call webhook too: bounded attempts, retried with backoff,
   * at most once per incident (local/webhook.ts). @default - no webhook
   */
  readonly webhook?: WebhookOptions;
  /**
   * Each JSON-lines sink (executions.jsonl, alerts.jsonl, metrics.jsonl) is rotated before it
   * would grow past this (`.1` … `.3` kept). @default 64 MiB
   */
  readonly sinkMaxBytes?: number;
  /** How many rotated files each sink keeps. @default 3 */
  readonly sinkKeep?: number;
  /** One line per alert and execution outcome; default: stdout. */
  readonly print?: (line: string) => void;
  /**
   * Runs the ASL file and the handlers from the TypeScript sources, in-process, instead of the
   * synthesized artifact (a fast inner loop; no IAM checks).
   * @default process.env.HLS_FAILOVER_FROM_SOURCES === '1'
   */
  readonly fromSources?: boolean;
  /** The cloud assembly whose stack runs. @default cdk.out at the project root */
  readonly cloudAssembly?: string;
  /**
   * Builds the IAM check of every call a role makes (Lambda bundles to S3, the state machine to
   * Lambda, SNS and Step Functions) from the synthesized template. @default - no checks
   */
  readonly createAuthorizer?: (template: Template, resolve: (value: unknown) => unknown) => Authorizer;
  /**
   * With `fromSources`: receives every line the handlers print, log lines and metric lines alike
   * (what a function writes to its CloudWatch log group). @default - log lines are dropped
   */
  readonly functionOutput?: (line: string) => void;
  /**
   * Test injection: makes the runtime's own writes under the data dir fail as a full or read-only
   * disk would (local/storage-health.ts). @default - no injected faults
   */
  readonly storageFault?: StorageFaultInjector;
}

/**
 * The IAM check of the synthesized stack (local/iam.ts createIamAuthorizer), loaded on first use:
 * its policy simulator, `@cloud-copilot/iam-simulate`, is AGPL and so only a dev dependency,
 * absent after `npm ci --omit=dev`. Pass it as {@link LocalRuntimeOptions.createAuthorizer}.
 */
export function iamAuthorizer(template: Template, resolve: (value: unknown) => unknown): Authorizer {
  let iam: typeof import('./iam');
  try {
    iam = require('./iam') as typeof import('./iam');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'MODULE_NOT_FOUND' && message.includes('@cloud-copilot/'))
      throw new Error(
        "the local runtime checks every call against the template's IAM policies with @cloud-copilot/iam-simulate, a dev dependency that is not installed (e.g. after npm ci --omit=dev): run npm ci, or use --from-sources (no IAM checks)",
      );
    throw error;
  }
  return iam.createIamAuthorizer(template, resolve);
}

/** The account the synthesized template is resolved for locally. */
export const LOCAL_ACCOUNT = { region: 'us-east-1', accountId: '000000000000', partition: 'aws' } as const;

/** Names of the environment variables that carry settings (functions/config.ts). */
const SETTING_VARIABLES = new Set<string>(
  Object.values(SETTINGS).flatMap((spec) => ('env' in spec && spec.env !== undefined ? [spec.env] : [])),
);

/**
 * The synthesized stack (`cdk.out/`), resolved for the local account with `bucket` as its media
 * bucket's name.
 */
export function loadLocalStack(bucket: string, stackName: string, cloudAssembly = CLOUD_ASSEMBLY_DIR) {
  const stack = loadSynthesizedStack(STACK_ID, cloudAssembly);
  const bucketId = logicalIdOf(stack.template.Outputs?.BucketName?.Value, 'the template output BucketName');
  const tableId = logicalIdOf(
    stack.template.Outputs?.StateTableName?.Value,
    'the template output StateTableName',
  );
  const resolve = createResolver(stack.template, {
    ...LOCAL_ACCOUNT,
    stackName,
    physicalNames: { [bucketId]: bucket, [tableId]: localStateTable(stackName).tableName },
  });
  return { stack, resolve };
}

/**
 * The stack's IAM and bucket policy follow `publishing` and `publishedFolder`: run with other values
 * than the synthesized stack's, every publication would be denied. Throws saying what to change.
 */
function checkPublishingAgainstStack(settings: Settings, template: Template): void {
  const PUBLISHING = SETTINGS.publishing.env ?? '';
  const FOLDER = SETTINGS.publishedFolder.env ?? '';
  const env = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function')
    .map(
      (r) =>
        (r.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables,
    )
    .find((v) => v?.[PUBLISHING] !== undefined);
  if (env === undefined || settings.publishing !== 'published') return;
  const folder = env[FOLDER];
  if (env[PUBLISHING] !== 'published' || folder !== settings.publishedFolder)
    throw new Error(
      `"publishedFolder" is "${settings.publishedFolder}", but the stack the local runtime runs in published mode (synthesized from deploy/published.jsonc) publishes to "${String(folder)}": set the same "publishedFolder" in both, or run with --from-sources`,
    );
}

/**
 * Where a running runtime's DynamoDB endpoint is written in its data dir (removed on close), so the
 * operations commands reach the records while dynalite holds their store.
 */
export const DYNAMODB_ENDPOINT_FILE = 'dynamodb-endpoint';

/**
 * The local state table: one name whether the runtime runs the artifact (whose table gets this
 * name, as the bucket gets the local bucket's) or the sources, so a data dir keeps its records.
 */
export function localStateTable(stackName: string): TableDefinition {
  return {
    tableName: `${stackName}-state`,
    partitionKey: STATE_TABLE_PARTITION_KEY,
    sortKey: STATE_TABLE_SORT_KEY,
  };
}

/** A client of the local DynamoDB endpoint for the runtime itself (not IAM-checked). */
export function localDynamoDbClient(endpoint: Pick<DynamoDbEndpoint, 'url' | 'credentials'>): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: endpoint.url,
    region: LOCAL_ACCOUNT.region,
    credentials: endpoint.credentials,
  });
}

export interface LocalRuntime {
  readonly endpoints: {
    readonly s3: string;
    /** The DynamoDB endpoint (dynalite) with the state table. */
    readonly dynamodb: string;
    readonly bucket: string;
    readonly origin: string;
    readonly status: string;
    readonly api: string;
    readonly dataDir: string;
  };
  /** Resolves when every execution started so far has finished, and every webhook delivery. */
  idle(): Promise<void>;
  /**
   * How many writes a previous run on this data dir acknowledged and did not process (killed
   * first): their executions were started at start (local/event-journal.ts).
   */
  readonly replayed: number;
  /** How many executions are running now. */
  readonly running: number;
  /** Runs the watchdog once, now; resolves when the executions it started (one per channel) are done. */
  watchdog(): Promise<ExecutionRecord>;
  /**
   * The bucket as the workflow reaches it (its own credentials, which may write index.m3u8 and
   * steering.json): what a test uses to change the workflow's objects behind its back.
   */
  readonly store: ObjectStore;
  /**
   * Makes the next execution that reaches a Task fail there or die there (local/engine.ts
   * InjectedFault): how the tests prove that a dead execution costs at most a watchdog period.
   */
  injectFault(fault: InjectedFault): void;
  /** Runs the workflow for an EventBridge-shaped input, e.g. an event delivered again. */
  execute(input: unknown): Promise<ExecutionRecord>;
  /**
   * The most recent executions in the order they finished (at most 5,000; executions.jsonl and its
   * rotated files have the rest).
   */
  readonly executions: ExecutionRecord[];
  readonly alerts: Alert[];
  /** Shows the demo's encoders on the status page and lets the API control them. */
  attachDemo(demo: DemoControls): void;
  /**
   * Calls `listener` for every object written or deleted in the bucket (ingest, workflow writes,
   * withdrawals), whether or not it starts an execution; returns a function that unsubscribes.
   */
  onObjectEvent(listener: (event: ObjectEvent) => void): () => void;
  close(): Promise<void>;
}

/** One object write or delete in the local bucket, as the runtime saw it. */
export interface ObjectEvent {
  readonly key: string;
  readonly kind: 'created' | 'deleted';
  /** S3's reason: PutObject, CopyObject (the workflow's splices), CompleteMultipartUpload, DeleteObject. */
  readonly reason: string;
  /** Epoch ms when the runtime received the event. */
  readonly at: number;
}

/**
 * The `reason` S3 gives each EventBridge event, per s3rver event name (s3rver names a browser POST
 * upload and a completed multipart upload alike; the workflow's rule treats both as uploads).
 */
const REASONS: Readonly<Record<string, string>> = {
  'ObjectCreated:Put': 'PutObject',
  'ObjectCreated:Copy': 'CopyObject',
  'ObjectCreated:Post': 'CompleteMultipartUpload',
  'ObjectRemoved:Delete': 'DeleteObject',
};

/** An S3 (s3rver) event record as the EventBridge event AWS sends for it. */
export function toEventBridgeEvent(record: S3rverEvent['Records'][number]) {
  const created = record.eventName.startsWith('ObjectCreated');
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': created ? 'Object Created' : 'Object Deleted',
    source: 'aws.s3',
    account: '000000000000',
    time: record.eventTime.replace(/\.\d+Z$/, 'Z'),
    region: 'local',
    resources: [`arn:aws:s3:::${record.s3.bucket.name}`],
    detail: {
      version: '0',
      bucket: { name: record.s3.bucket.name },
      object: {
        key: record.s3.object.key,
        ...(record.s3.object.size === undefined ? {} : { size: record.s3.object.size }),
        ...(record.s3.object.eTag === undefined ? {} : { etag: record.s3.object.eTag }),
        sequencer: record.s3.object.sequencer,
      },
      'request-id': randomUUID(),
      requester: '000000000000',
      reason: REASONS[record.eventName] ?? 'PutObject',
    },
  };
}

/** The S3 event record of an object write, as s3rver emits it after the write. */
function createdRecord(write: ObjectWrite, at: Date): S3rverEvent['Records'][number] {
  return {
    eventName: 'ObjectCreated:Put',
    eventTime: at.toISOString(),
    s3: {
      bucket: { name: write.bucket },
      object: { key: write.key, size: write.size, eTag: write.etag, sequencer: at.getTime().toString(16) },
    },
  };
}

/**
 * The journal of acknowledged writes in the data dir (local/event-journal.ts): what a killed runtime
 * acknowledged and did not process is processed at the next start.
 */
export const EVENT_JOURNAL = 'events-pending.jsonl';

/** The webhook's deliveries in the data dir (local/webhook.ts): what was delivered survives a restart. */
export const WEBHOOK_JOURNAL = 'webhook.jsonl';

/** How many finished executions stay in memory for the status page and tests. */
const KEPT_EXECUTIONS = 5000;

export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { settings, bucket, dataDir } = options;
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const limits: LocalLimits = {
    maxUploadBytes: options.maxUploadBytes,
    stallTimeoutMs: options.stallTimeoutMs,
    spoolAboveBytes: options.spoolAboveBytes,
  };
  mkdirSync(join(dataDir, 's3'), { recursive: true });
  /** Every alert, the workflow's and the runtime's own: set once the sinks and the webhook exist. */
  let raise: (alert: Alert) => void = () => undefined;
  const storage = new StorageHealth({ dataDir, raise: (alert) => raise(alert), fault: options.storageFault });
  const sinkLimits = {
    maxBytes: options.sinkMaxBytes,
    keep: options.sinkKeep,
    beforeWrite: (path: string) => storage.check(path),
  };
  const sinks = {
    executions: new JsonLinesSink(join(dataDir, 'executions.jsonl'), sinkLimits),
    alerts: new JsonLinesSink(join(dataDir, 'alerts.jsonl'), sinkLimits),
    metrics: new JsonLinesSink(join(dataDir, 'metrics.jsonl'), sinkLimits),
  };

  const fromSources = options.fromSources ?? process.env.HLS_FAILOVER_FROM_SOURCES === '1';
  const artifact = fromSources
    ? undefined
    : loadLocalStack(
        bucket,
        settings.stackName,
        options.cloudAssembly ?? assemblyFor(settings.publishing).directory,
      );
  if (artifact !== undefined) checkPublishingAgainstStack(settings, artifact.stack.template);
  const authorizer =
    artifact === undefined
      ? undefined
      : options.createAuthorizer?.(artifact.stack.template, artifact.resolve);
  // Ingest may not write what the workflow owns: each channel's index and steering manifest, the
  // reserved prefix (issue 16 §2). The workflow's requests carry the endpoint's session token.
  const workflowObject = (key: string) =>
    workflowObjectOf(key, settings.encoders, settings.statePrefix, publishedFolderOf(settings));
  const pattern = playlistEventPattern(bucket, settings.encoders);
  const startsExecution = (write: ObjectWrite) =>
    matchesEventPattern(pattern, toEventBridgeEvent(createdRecord(write, new Date())));
  const journal = await EventJournal.open(join(dataDir, EVENT_JOURNAL), (path) => storage.check(path));
  let s3Endpoint: Awaited<ReturnType<typeof startS3Endpoint>>;
  try {
    s3Endpoint = await startS3Endpoint({
      directory: join(dataDir, 's3'),
      bucket,
      port: options.s3Port,
      workflowObject,
      storage,
      // A write that starts an execution is journaled before it is acknowledged.
      beforeCommit: async (write) => {
        if (startsExecution(write)) await journal.accept(write);
      },
      ...limits,
      ...(authorizer === undefined ? {} : { authorizer }),
    });
  } catch (error) {
    await journal.close();
    throw error;
  }
  const s3 = createLocalS3Client({ url: s3Endpoint.url, credentials: s3Endpoint.workflowCredentials });
  // The state table: as the template defines it, or for the sources as the stack would.
  const stateTable = localStateTable(settings.stackName);
  let dynamoDbEndpoint: DynamoDbEndpoint;
  try {
    const tables =
      artifact === undefined ? [stateTable] : tablesOf(artifact.stack.template, artifact.resolve);
    dynamoDbEndpoint = await startDynamoDbEndpoint({
      directory: join(dataDir, 'dynamodb'),
      tables,
      account: LOCAL_ACCOUNT,
      ...(authorizer === undefined ? {} : { authorizer }),
    });
  } catch (error) {
    await s3Endpoint.close();
    throw error;
  }
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  try {
    origin = await startOrigin({
      s3Endpoint,
      bucket,
      statePrefix: settings.statePrefix,
      workflowObject,
      port: options.originPort,
      spoolDirectory: join(dataDir, 'incoming'),
      storage,
      log: print,
      ...(settings.publishing === 'published'
        ? {
            viewerDenied: (key: string) =>
              key.endsWith('.m3u8') && parseEncoderKey(key, settings.encoders) !== undefined
                ? `an encoder's own playlist: with "publishing" = "published" viewers read ${settings.publishedFolder}/ (index.m3u8 lists it)`
                : undefined,
          }
        : {}),
      ...limits,
    });
  } catch (error) {
    await Promise.all([dynamoDbEndpoint.close(), s3Endpoint.close()]);
    throw error;
  }
  writeFileSync(join(dataDir, DYNAMODB_ENDPOINT_FILE), dynamoDbEndpoint.url);
  const dynamodb = localDynamoDbClient(dynamoDbEndpoint);
  const records = new DynamoRecordStore(dynamodb, stateTable.tableName);

  const alerts: Alert[] = [];
  raise = (alert) => {
    alerts.push(alert);
    const entry = alertEntry(alert, new Date());
    alertLog.push(entry);
    record(sinks.alerts, { at: entry.at, ...alert });
    print(`ALERT ${alert.subject}`);
    // As SNS does, the publish returns once the topic has the alert; its delivery to the webhook
    // runs on its own, so a silent endpoint never holds (or times out) the NotifyOnCall Task.
    if (webhook !== undefined) void track(webhook.deliver(alert));
  };
  const alertLog: AlertEntry[] = [];
  /** Running executions and webhook deliveries: idle() and close() wait for both. */
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
    return work;
  };
  const webhook =
    options.webhook === undefined
      ? undefined
      : createWebhook({ ...options.webhook, journal: join(dataDir, WEBHOOK_JOURNAL), print });
  const executions: ExecutionRecord[] = [];
  const store = new S3ObjectStore(s3);
  let demo: DemoControls | undefined;
  let status: Awaited<ReturnType<typeof startStatusServer>>;
  try {
    status = await startStatusServer(
      {
        records,
        encoders: settings.encoders,
        originUrl: origin.url,
        executions,
        alerts: alertLog,
        webhook: () => webhook?.status(),
        storage: () => storage.status(),
        demo: () => demo,
      },
      { port: options.statusPort ?? 0 },
    );
  } catch (error) {
    await origin.close();
    await Promise.all([dynamoDbEndpoint.close(), s3Endpoint.close()]);
    throw error;
  }
  /** Appends to a sink; a disk that refuses it is reported (storage health), never fatal. */
  const record = (sink: JsonLinesSink, value: unknown) => {
    try {
      sink.append(value);
      storage.succeeded(sink.path);
    } catch (error) {
      if (storage.failed(error, sink.path) === undefined)
        print(`${sink.path} not written: ${(error as Error).message}`);
    }
  };
  const emitMetricLine = (line: string) => record(sinks.metrics, line);
  let lambda: LambdaHost | undefined;
  const services: WorkflowServices = {
    publishAlert: async (alert) => raise(alert),
    // The watchdog's per-channel executions (states:startExecution): started, not waited for.
    startExecution: (input) => void start(input),
  };
  let engine: ReturnType<typeof createLocalWorkflow>;
  if (artifact === undefined) {
    const output = options.functionOutput;
    const log = jsonLogger('local', output ?? (() => undefined));
    engine = createLocalWorkflow({
      ...services,
      deps: createDeps({
        functionName: 'local',
        store,
        records,
        settings,
        log,
        emitMetricLine:
          output === undefined
            ? emitMetricLine
            : (line) => {
                output(line);
                emitMetricLine(line);
              },
      }),
    });
  } else {
    lambda = startArtifactFunctions(
      artifact,
      settings,
      {
        AWS_ENDPOINT_URL_S3: s3Endpoint.url,
        AWS_ENDPOINT_URL_DYNAMODB: dynamoDbEndpoint.url,
        // Their SigV4 requests carry it: the S3 endpoint lets them write the workflow's objects.
        AWS_SESSION_TOKEN: s3Endpoint.workflowCredentials.sessionToken,
      },
      dataDir,
      emitMetricLine,
    );
    try {
      engine = createArtifactWorkflow({
        ...services,
        ...artifact,
        lambda,
        ...(authorizer === undefined ? {} : { authorizer }),
      });
      await lambda.ready;
    } catch (error) {
      await Promise.all([
        lambda.close(),
        status.close(),
        origin.close(),
        s3Endpoint.close(),
        dynamoDbEndpoint.close(),
      ]);
      throw error;
    }
  }

  /** Runs the workflow for `input`; `journaled` names its write in the journal, done when it finishes. */
  const start = (input: unknown, journaled?: string): Promise<ExecutionRecord> => {
    const run = engine.run(input).then((execution) => {
      executions.push(execution);
      if (executions.length > KEPT_EXECUTIONS) executions.splice(0, executions.length - KEPT_EXECUTIONS);
      record(sinks.executions, execution);
      if (execution.status === 'FAILED')
        print(
          `execution ${execution.name} FAILED ${execution.error}: ${(execution.cause ?? '').slice(0, 300)}`,
        );
      if (journaled !== undefined) journal.done(journaled);
      return execution;
    });
    return track(run);
  };
  const objectListeners = new Set<(event: ObjectEvent) => void>();
  /** Set once close() has let the running executions finish: later events start nothing. */
  let closing = false;
  s3Endpoint.onEvent((event) => {
    for (const record of event.Records) {
      const input = toEventBridgeEvent(record);
      const seen: ObjectEvent = {
        key: record.s3.object.key, // s3rver passes the key as written, not URL-encoded
        kind: input['detail-type'] === 'Object Created' ? 'created' : 'deleted',
        reason: input.detail.reason,
        at: Date.now(),
      };
      for (const listener of objectListeners) listener(seen);
      if (!closing && matchesEventPattern(pattern, input))
        void start(input, journal.claim(record.s3.object.key, record.s3.object.eTag));
    }
  });
  // What a previous run acknowledged and did not process (killed first), in the order it came.
  const replay = (entry: JournalEntry) =>
    void start(toEventBridgeEvent(createdRecord(entry, new Date(entry.at))), entry.id);
  for (const entry of journal.pending) replay(entry);
  /** The watchdog run, then the per-channel executions it started. */
  const watchdog = async () => {
    const record = await start({ ...watchdogInput(bucket), time: new Date().toISOString() });
    await idle();
    return record;
  };
  const timer = setInterval(() => void watchdog(), options.watchdogSeconds * 1000);
  timer.unref();

  const idle = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  return {
    endpoints: {
      s3: s3Endpoint.url,
      dynamodb: dynamoDbEndpoint.url,
      bucket,
      origin: origin.url,
      status: `${status.url}/`,
      api: `${status.url}/api`,
      dataDir,
    },
    idle,
    replayed: journal.pending.length,
    get running() {
      return inFlight.size;
    },
    watchdog,
    injectFault: (fault) => engine.injectFault(fault),
    store,
    execute: (input) => start(input),
    executions,
    alerts,
    attachDemo: (controls) => {
      demo = controls;
    },
    onObjectEvent: (listener) => {
      objectListeners.add(listener);
      return () => objectListeners.delete(listener);
    },
    close: async () => {
      clearInterval(timer);
      await status.close();
      await origin.close();
      await idle(); // no half-written data dir: running executions finish first
      // Their own writes may still raise events (s3rver emits them after answering): those start
      // nothing now, and whatever they did start finishes before the endpoint goes.
      closing = true;
      await idle();
      await s3Endpoint.close();
      await lambda?.close();
      rmSync(join(dataDir, DYNAMODB_ENDPOINT_FILE), { force: true });
      await dynamoDbEndpoint.close();
      await journal.close();
      storage.close();
      s3.destroy();
      dynamodb.destroy();
    },
  };
}

/**
 * The template's functions on the local Lambda host, reaching the local S3 and DynamoDB endpoints
 * through the SDK's standard `AWS_ENDPOINT_URL_S3` and `AWS_ENDPOINT_URL_DYNAMODB`. Their settings
 * variables carry this run's settings (the template's values are those `cdk synth` was given);
 * every other variable is the template's.
 */
function startArtifactFunctions(
  { stack, resolve }: { stack: SynthesizedStack; resolve: (value: unknown) => unknown },
  settings: Settings,
  serviceEnvironment: Readonly<Record<string, string>>,
  dataDir: string,
  emitMetricLine: (line: string) => void,
): LambdaHost {
  const settingsEnv = settingsToEnv(settings);
  const functions = lambdaFunctionsOf(stack, resolve).map((config) => ({
    ...config,
    environment: {
      ...Object.fromEntries(
        Object.entries(config.environment).filter(([name]) => !SETTING_VARIABLES.has(name)),
      ),
      ...settingsEnv,
    },
  }));
  return startLambdaHost({
    functions,
    region: LOCAL_ACCOUNT.region,
    serviceEnvironment,
    emitMetricLine,
    logDir: join(dataDir, 'logs'),
  });
}
