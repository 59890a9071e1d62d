/**
 * The cost bench (issue 13): what one channel costs per hour on AWS, counted from a real run.
 *
 * For R renditions: a real local runtime in this process (from the sources: the ASL file on
 * aws-local-stepfunctions, the handlers in-process), one channel of R renditions × 2 lock-step
 * encoders (bench/encoders.cjs on a worker thread, 2 s segments as the demo writes) and the
 * watchdog on its timer. A healthy phase, then the primary encoder stalls (stops uploading) long
 * enough to be declared stalled and withdrawn, then recovers. Everything AWS bills is observed
 * (bench/cost/observe.ts), metered (billing.ts) against the synthesized template's configuration
 * (template.ts), priced (prices.ts) and extrapolated to a channel-hour (model.ts): per-upload usage
 * × uploads per hour, the watchdog's runs per hour, one incident an hour, fixed monthly items / 730.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseSettings } from '../../functions/config';
import type { ExecutionRecord } from '../../local/engine';
import { startLocalRuntime } from '../../local/runtime';
import { assemblyFor, ensureSynthesized, STACK_ID } from '../../local/synthesize';
import { segmentBytesFor } from '../pipeline';
import {
  applicationLineLogged,
  dynamoItemBytes,
  dynamoReadUnits,
  dynamoWriteUnits,
  type EngineEvent,
  executionLogEvents,
  expressBilledMb,
  expressBilledMs,
  LOG_EVENT_OVERHEAD_BYTES,
  lambdaBilledMs,
  platformLogBytes,
} from './billing';
import {
  AIM_RATIO,
  addUsage,
  type ChannelRates,
  hourUsage,
  type PricedUsage,
  priceUsage,
  type ScaleTable,
  SEED,
  scaleTable,
  scaleUsage,
  seedUsage,
  TARGET_RATIO,
  TRACE_ROOTS,
  type Usage,
  uploadsPerHour,
} from './model';
import { type ObservedExecution, type Observer, observeWorkflow, type SdkCall } from './observe';
import { PRICES, PRICES_DATE, PRICES_REGION } from './prices';
import { type PricedConfiguration, readPricedConfiguration } from './template';

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

export interface CostSettings {
  readonly renditions: readonly number[];
  /** Segment period of the encoders (the demo's 2 s). */
  readonly periodMs: number;
  readonly warmupMs: number;
  readonly healthyMs: number;
  /** How long the primary encoder writes nothing. */
  readonly stallMs: number;
  readonly recoverMs: number;
  /** The watchdog's period in this run; undefined: the template's schedule. */
  readonly watchdogSeconds: number | undefined;
  /** Channel counts of the scale table. */
  readonly scaleChannels: readonly number[];
  /** Runs of a rendition count until one is valid (the local runtime kept up). */
  readonly attempts: number;
  /** The `publishing` setting priced (README, "Two modes"). */
  readonly publishing: 'direct' | 'published';
}

export const FULL_COST: CostSettings = {
  renditions: [3, 5],
  periodMs: 2000,
  warmupMs: 4000,
  // Long enough for a scheduled watchdog run at the template's period (1 min) to fall in it.
  healthyMs: 76_000,
  stallMs: 20_000,
  recoverMs: 30_000,
  watchdogSeconds: undefined,
  scaleChannels: [1, 10, 100, 1000],
  attempts: 3,
  publishing: 'direct',
};

export const QUICK_COST: CostSettings = {
  ...FULL_COST,
  warmupMs: 2000,
  healthyMs: 8000,
  stallMs: 6000,
  recoverMs: 7000,
  // Compressed: a run every 4 s, so the short phases see it; priced at the template's period.
  watchdogSeconds: 4,
  attempts: 1,
};

const ENCODERS = ['primary', 'failover'] as const;

/**
 * Latency an SDK call has on AWS in the same Region, added to the billed durations where the local
 * call was faster (loopback): an assumption, stated in the report.
 */
export const AWS_LATENCY_MS: Readonly<Record<string, number>> = { S3: 20, DynamoDB: 6, SNS: 20, default: 20 };

// ---------------------------------------------------------------------------------------------
// Metering one execution
// ---------------------------------------------------------------------------------------------

interface ExecutionBill {
  readonly usage: Usage;
  readonly kind: 'upload' | 'watchdog' | 'channel-check' | 'other';
  readonly billedMs: number;
  readonly logEvents: number;
  readonly metrics: readonly string[];
  /** Per Task state: invocations, billed ms. */
  readonly tasks: Readonly<Record<string, { invocations: number; billedMs: number; gbSeconds: number }>>;
  readonly sdk: Readonly<Record<string, number>>;
}

const S3_WRITES = /^(Put|Copy|Post|List|CreateMultipart|UploadPart|CompleteMultipart|Restore)/;
const DYNAMO_WRITES =
  /^(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems|Put|Update|Delete|BatchWrite|TransactWrite)$/;

/**
 * What replacing the local wait on SDK calls by the in-Region latency changes in a duration (ms,
 * negative when the local endpoints were slower): calls that overlap in time (a Promise.all) wait
 * once, for the slowest of them.
 */
export function awsAdjustMs(calls: readonly Pick<SdkCall, 'service' | 'startMs' | 'ms'>[]): number {
  const latency = (c: Pick<SdkCall, 'service'>) =>
    AWS_LATENCY_MS[c.service] ?? (AWS_LATENCY_MS.default as number);
  let adjust = 0;
  let group: { start: number; end: number; aws: number } | undefined;
  for (const c of [...calls].sort((a, b) => a.startMs - b.startMs)) {
    if (group !== undefined && c.startMs < group.end) {
      group = { ...group, end: Math.max(group.end, c.startMs + c.ms), aws: Math.max(group.aws, latency(c)) };
      continue;
    }
    if (group !== undefined) adjust += group.aws - (group.end - group.start);
    group = { start: c.startMs, end: c.startMs + c.ms, aws: latency(c) };
  }
  return group === undefined ? adjust : adjust + group.aws - (group.end - group.start);
}

/** Usage of one SDK call (keys of DRIVERS, or `other:<service> <command>`). */
export function sdkCallUsage(call: SdkCall): Usage {
  if (call.service === 'S3') {
    if (/^Delete/.test(call.command)) return { 's3.delete': 1 };
    if (S3_WRITES.test(call.command))
      return call.status === 412 || call.status === 409 ? { 's3.putFailed': 1 } : { 's3.put': 1 };
    return { 's3.get': 1 };
  }
  if (call.service === 'DynamoDB') {
    const write = DYNAMO_WRITES.test(call.command);
    const consumed = call.output?.ConsumedCapacity as
      | { CapacityUnits?: number }
      | { CapacityUnits?: number }[]
      | undefined;
    const reported = Array.isArray(consumed)
      ? consumed.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0)
      : consumed?.CapacityUnits;
    if (reported !== undefined && reported > 0)
      return { [write ? 'dynamodb.wru' : 'dynamodb.rru']: reported };
    const input = call.input as {
      Item?: Record<string, unknown>;
      Key?: Record<string, unknown>;
      ConsistentRead?: boolean;
    };
    if (write) {
      // No capacity reported (e.g. a failed condition): the item written, at least the key.
      const bytes = dynamoItemBytes(input.Item ?? input.Key ?? {});
      return { 'dynamodb.wru': dynamoWriteUnits(bytes) * (/^Transact/.test(call.command) ? 2 : 1) };
    }
    const out = call.output as
      | { Item?: Record<string, unknown>; Items?: Record<string, unknown>[] }
      | undefined;
    const bytes = [...(out?.Item ? [out.Item] : []), ...(out?.Items ?? [])].reduce(
      (s, i) => s + dynamoItemBytes(i),
      0,
    );
    return { 'dynamodb.rru': dynamoReadUnits(bytes, input.ConsistentRead === true) };
  }
  if (call.service === 'SNS' && call.command === 'Publish') {
    const bytes = Buffer.byteLength(String((call.input as { Message?: unknown }).Message ?? ''));
    return { 'sns.publish': Math.max(1, Math.ceil(bytes / 65536)) };
  }
  return { [`other:${call.service} ${call.command}`]: 1 };
}

/** Metric-dimension sets of an EMF line (each a distinct custom metric). */
export function emfMetrics(line: string): string[] {
  if (!line.includes('"_aws"')) return [];
  try {
    const doc = JSON.parse(line) as {
      _aws?: {
        CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
    } & Record<string, unknown>;
    return (doc._aws?.CloudWatchMetrics ?? []).flatMap((d) =>
      d.Metrics.flatMap((m) =>
        (d.Dimensions.length === 0 ? [[]] : d.Dimensions).map(
          (dims) => `${d.Namespace}|${m.Name}|${dims.map((k) => `${k}=${String(doc[k])}`).join(',')}`,
        ),
      ),
    );
  } catch {
    return [];
  }
}

function kindOf(input: unknown): ExecutionBill['kind'] {
  const i = input as { source?: string; detail?: { channel?: unknown } } | undefined;
  if (i?.source === 'aws.s3') return 'upload';
  if (i?.source === 'hls-failover.watchdog')
    return i.detail?.channel === undefined ? 'watchdog' : 'channel-check';
  return 'other';
}

/** What AWS bills for one execution, under the template's configuration. */
export function meterExecution(
  observed: ObservedExecution,
  record: ExecutionRecord | undefined,
  config: PricedConfiguration,
): ExecutionBill {
  let usage: Usage = { 'sfn.requests': 1 };
  const tasks: Record<string, { invocations: number; billedMs: number; gbSeconds: number }> = {};
  const sdk: Record<string, number> = {};
  const metrics: string[] = [];
  const allCalls: SdkCall[] = [...observed.calls];
  let tracedInvocations = 0;
  for (const inv of observed.invocations) {
    allCalls.push(...inv.calls);
    const task = config.tasks[inv.state];
    const fn = task?.function;
    if (fn !== undefined) {
      const billedMs = lambdaBilledMs(Math.max(1, inv.ms + awsAdjustMs(inv.calls)));
      const gbSeconds = (billedMs / 1000) * (fn.memoryMb / 1024);
      usage = addUsage(usage, {
        'lambda.requests': 1,
        [fn.arch === 'arm64' ? 'lambda.gbSecondsArm' : 'lambda.gbSecondsX86']: gbSeconds,
      });
      const t = tasks[inv.state] ?? { invocations: 0, billedMs: 0, gbSeconds: 0 };
      tasks[inv.state] = {
        invocations: t.invocations + 1,
        billedMs: t.billedMs + billedMs,
        gbSeconds: t.gbSeconds + gbSeconds,
      };
      let bytes = platformLogBytes(fn.log, fn.memoryMb, fn.traced);
      for (const line of inv.lines) {
        metrics.push(...emfMetrics(line));
        if (applicationLineLogged(line, fn.log))
          bytes += Buffer.byteLength(line) + 1 + LOG_EVENT_OVERHEAD_BYTES;
      }
      usage = addUsage(usage, {
        'logs.lambdaBytes': bytes,
        'logs.storedByteMonths': storedByteMonths(bytes, fn.logRetentionDays),
      });
      if (fn.traced) tracedInvocations++;
    } else if (inv.calls.length === 0) {
      // A service integration the local engine implements without the SDK.
      const integration =
        task !== undefined && 'integration' in task.kind ? task.kind.integration : inv.state;
      if (integration === 'sns:publish') usage = addUsage(usage, { 'sns.publish': 1 });
      else if (integration !== 'states:startExecution')
        usage = addUsage(usage, { [`other:integration ${integration}`]: 1 });
    }
  }
  for (const call of allCalls) {
    usage = addUsage(usage, sdkCallUsage(call));
    const key = `${call.service} ${call.command}${call.status === 200 ? '' : ` ${call.status}`}`;
    sdk[key] = (sdk[key] ?? 0) + 1;
  }

  const events = (record?.events ?? []) as EngineEvent[];
  const log = executionLogEvents(events, config.stateMachine.log, (name) => config.tasks[name]?.kind);
  usage = addUsage(usage, {
    'logs.stateMachineBytes': log.bytes,
    'logs.storedByteMonths': storedByteMonths(log.bytes, config.stateMachine.logRetentionDays),
  });

  const billedMs = expressBilledMs(Math.max(1, (record?.durationMs ?? 0) + awsAdjustMs(allCalls)));
  const maps = events.filter((e) => e.type === 'StateEntered' && e.state?.type === 'Map').length;
  const payload = Math.max(
    0,
    ...events.map((e) => Buffer.byteLength(JSON.stringify(e.state?.input ?? e.state?.output ?? null))),
  );
  const mb = expressBilledMb(config.stateMachine.definitionBytes, payload, maps);
  usage = addUsage(usage, { 'sfn.gbSeconds': (billedMs / 1000) * (mb / 1024) });
  usage[TRACE_ROOTS] = config.stateMachine.traced ? 1 : tracedInvocations;
  return { usage, kind: kindOf(observed.input), billedMs, logEvents: log.events, metrics, tasks, sdk };
}

/** CloudWatch Logs keeps about 15% of the ingested bytes (compressed); priced over the retention, 12 months at most. */
const STORED_SHARE = 0.15;
function storedByteMonths(bytes: number, retentionDays: number | undefined): number {
  return bytes * STORED_SHARE * Math.min(12, (retentionDays ?? 365) / (365 / 12));
}

// ---------------------------------------------------------------------------------------------
// One scenario: R renditions, healthy → stall → recovery
// ---------------------------------------------------------------------------------------------

type Phase = 'setup' | 'warmup' | 'healthy' | 'incident' | 'after';

export interface ScenarioResult {
  readonly renditions: number;
  readonly uploadsPerHour: number;
  readonly watchdogRunsPerHour: number;
  readonly perUpload: Usage;
  readonly perWatchdogRun: Usage;
  readonly incident: Usage;
  readonly monthly: Usage;
  readonly hour: PricedUsage;
  readonly seed: PricedUsage;
  readonly ratio: number;
  readonly pass: boolean;
  readonly facts: {
    readonly healthyUploads: number;
    readonly incidentUploads: number;
    readonly watchdogRuns: number;
    readonly stallDeclared: boolean;
    readonly withdrawals: number;
    readonly alerts: readonly string[];
    readonly failedExecutions: number;
    /** Why the run does not show what AWS would bill (the local runtime fell behind); empty when valid. */
    readonly invalid: readonly string[];
    /** os.loadavg() at the end of the run. */
    readonly loadAverage: readonly number[];
    readonly logEventsPerUpload: number;
    readonly stateMachineLogBytesPerUpload: number;
    readonly expressBilledMsPerUpload: number;
    readonly sdkCallsPerUpload: Readonly<Record<string, number>>;
    readonly lambdaPerUpload: Readonly<Record<string, { invocations: number; billedMs: number }>>;
    readonly customMetrics: number;
    readonly unattributedSdkCalls: Readonly<Record<string, number>>;
    readonly notes: readonly string[];
  };
  readonly rates: ChannelRates;
  readonly scale: ScaleTable;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function runScenario(
  renditions: number,
  settings: CostSettings,
  observer: Observer,
  config: PricedConfiguration,
  progress: (line: string) => void,
): Promise<ScenarioResult> {
  const templateMinutes = config.watchdogRateMinutes;
  const watchdogSeconds = settings.watchdogSeconds ?? (templateMinutes ?? 1) * 60;
  const dataDir = mkdtempSync(join(tmpdir(), 'hlsf-cost-'));
  const firstObserved = observer.executions.length;
  let phase: Phase = 'setup';
  const setPhase = (p: Phase) => {
    phase = p;
    observer.phase(p);
  };
  setPhase('setup');
  const objectEvents: Record<Phase, number> = { setup: 0, warmup: 0, healthy: 0, incident: 0, after: 0 };
  const printed: { phase: Phase; line: string }[] = [];
  const runtime = await startLocalRuntime({
    dataDir,
    bucket: 'live',
    settings: parseSettings({ publishing: settings.publishing }),
    s3Port: 0,
    originPort: 0,
    watchdogSeconds,
    print: (line) => printed.push({ phase, line }),
    fromSources: true,
    functionOutput: (line) => observer.line(line),
  });
  const unsubscribe = runtime.onObjectEvent(() => {
    objectEvents[phase]++;
  });
  const worker = new Worker(join(__dirname, '..', 'encoders.cjs'), {
    workerData: {
      origin: runtime.endpoints.origin,
      channels: 1,
      renditions,
      encoders: ENCODERS,
      periodMs: settings.periodMs,
      windowSegments: 6,
      segmentBytes: segmentBytesFor(settings.periodMs, renditions, 0.01),
      pairOffsetMs: 20,
      firstSequence: 1000,
    },
  });
  const waitFor = (type: string) =>
    new Promise<void>((resolve, reject) => {
      const onMessage = (m: { type: string; message?: string }) => {
        if (m.type === 'error') reject(new Error(`encoders: ${m.message}`));
        if (m.type === type) {
          worker.off('message', onMessage);
          resolve();
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  try {
    await waitFor('ready');
    await runtime.idle();
    setPhase('warmup');
    worker.postMessage({ type: 'go', at: Date.now() + 50 });
    await sleep(settings.warmupMs);
    setPhase('healthy');
    progress(
      `${renditions} renditions: healthy for ${settings.healthyMs / 1000} s (watchdog every ${watchdogSeconds} s)`,
    );
    await sleep(settings.healthyMs);
    setPhase('incident');
    progress(`${renditions} renditions: primary stalls for ${settings.stallMs / 1000} s`);
    worker.postMessage({ type: 'stall', channel: 0, encoder: 'primary' });
    await sleep(settings.stallMs);
    progress(`${renditions} renditions: primary resumes; recovery for ${settings.recoverMs / 1000} s`);
    worker.postMessage({ type: 'resume', channel: 0, encoder: 'primary' });
    await sleep(settings.recoverMs);
    setPhase('after');
    const done = waitFor('done');
    worker.postMessage({ type: 'stop' });
    await done;
    await runtime.idle();
  } finally {
    unsubscribe();
    await worker.terminate();
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const records = new Map(runtime.executions.map((r) => [r.name, r]));
  const bills = observer.executions.slice(firstObserved).map((o) => ({
    phase: o.phase as Phase,
    withdrawals: o.invocations.filter((i) => i.state === 'WithdrawStalePlaylists').length,
    failed: records.get(o.name)?.status === 'FAILED',
    durationMs: records.get(o.name)?.durationMs ?? 0,
    bill: meterExecution(o, records.get(o.name), config),
  }));
  const metrics = new Set(bills.flatMap((b) => b.bill.metrics));
  const inPhase = (phase: Phase, kinds: readonly ExecutionBill['kind'][]) =>
    bills.filter((b) => b.phase === phase && kinds.includes(b.bill.kind)).map((b) => b.bill);
  const sum = (list: readonly ExecutionBill[]) => list.reduce((u, b) => addUsage(u, b.usage), {} as Usage);
  const uploadBills = inPhase('healthy', ['upload']);
  const healthyRuns = inPhase('healthy', ['watchdog']).length;
  const incidentUploads = inPhase('incident', ['upload']).length;
  const incidentRuns = inPhase('incident', ['watchdog']).length;
  const notes: string[] = [];
  if (uploadBills.length === 0)
    throw new Error(`${renditions} renditions: no upload finished in the healthy phase`);
  if (uploadBills.every((b) => Object.keys(b.sdk).length === 0))
    throw new Error(
      `${renditions} renditions: no SDK call seen in any upload's execution: the observer does not see the handlers' clients (is Client.prototype.send shadowed?)`,
    );

  // One watchdog run: the scheduled run and the channel check it started, healthy.
  const watchdogKinds = ['watchdog', 'channel-check'] as const;
  let perWatchdogRun: Usage = {};
  const allRuns = bills.filter((b) => b.bill.kind === 'watchdog').length;
  if (healthyRuns > 0) perWatchdogRun = scaleUsage(sum(inPhase('healthy', watchdogKinds)), 1 / healthyRuns);
  else if (allRuns > 0) {
    const all = bills.filter((b) => b.bill.kind === 'watchdog' || b.bill.kind === 'channel-check');
    perWatchdogRun = scaleUsage(sum(all.map((b) => b.bill)), 1 / allRuns);
    notes.push('no watchdog run fell in the healthy phase: a run is priced from all runs');
  } else notes.push('no watchdog run happened: the watchdog is not priced');
  // One upload: the healthy uploads' executions, and the bucket's object events per upload.
  const perUpload = addUsage(scaleUsage(sum(uploadBills), 1 / uploadBills.length), {
    'eventbridge.s3Events': objectEvents.healthy / uploadBills.length,
  });
  // The incident: everything in its phase, less what its uploads and watchdog runs cost healthy.
  let incident = addUsage(sum(bills.filter((b) => b.phase === 'incident').map((b) => b.bill)), {
    'eventbridge.s3Events': objectEvents.incident,
  });
  incident = addUsage(incident, perUpload, -incidentUploads);
  incident = addUsage(incident, perWatchdogRun, -incidentRuns);
  const withdrawals = bills.reduce((n, b) => n + b.withdrawals, 0);
  const failed = bills.filter((b) => b.failed).length;

  const perChannelMetrics = [...metrics].filter((m) => m.includes('Channel=')).length;
  const monthly: Usage = {
    'cloudwatch.metricMonths': metrics.size,
    'cloudwatch.alarmMonths': config.alarms,
    'cloudwatch.compositeAlarmMonths': config.compositeAlarms,
    'cloudwatch.dashboardMonths': config.dashboards,
  };
  const perHour = uploadsPerHour(renditions, settings.periodMs / 1000);
  const runsPerHour = 60 / (templateMinutes ?? 1);
  if (templateMinutes === undefined)
    notes.push('the template has no watchdog schedule: priced at 1 run a minute');
  for (const table of config.dynamoTables)
    if (table.billingMode !== 'PAY_PER_REQUEST')
      notes.push(
        `DynamoDB table ${table.logicalId} is ${table.billingMode}: its request units are priced on-demand`,
      );
  const traced = config.stateMachine.traced || config.functions.some((f) => f.traced);
  const inputs = {
    perUpload,
    uploadsPerHour: perHour,
    perWatchdogRun,
    watchdogRunsPerHour: runsPerHour,
    incident,
    monthly,
    traced,
  };
  const usage = hourUsage(inputs);
  const hour = priceUsage(usage);
  const seed = priceUsage(seedUsage(perHour));
  const ratio = hour.usd / seed.usd;

  // Rates of one channel, for the scale table.
  const uploadsMean = (pick: (b: ExecutionBill) => number) =>
    uploadBills.reduce((s, b) => s + pick(b), 0) / Math.max(1, uploadBills.length);
  const invocations = uploadBills.flatMap((b) => Object.values(b.tasks));
  const invocationCount = invocations.reduce((s, t) => s + t.invocations, 0);
  const rates: ChannelRates = {
    executionsPerSecond: (usage['sfn.requests'] ?? 0) / 3600,
    meanExecutionSeconds: uploadsMean((b) => b.billedMs) / 1000,
    lambdaInvocationsPerSecond: (usage['lambda.requests'] ?? 0) / 3600,
    meanInvocationSeconds:
      invocations.reduce((s, t) => s + t.billedMs, 0) / Math.max(1, invocationCount) / 1000,
    s3WritesPerSecond:
      ((usage['s3.put'] ?? 0) + (usage['s3.putFailed'] ?? 0) + (usage['s3.delete'] ?? 0)) / 3600,
    s3ReadsPerSecond: (usage['s3.get'] ?? 0) / 3600,
    logEventsPerSecond: (uploadsMean((b) => b.logEvents) * perHour) / 3600,
    logBytesPerSecond: ((usage['logs.stateMachineBytes'] ?? 0) + (usage['logs.lambdaBytes'] ?? 0)) / 3600,
    ruleInvocationsPerSecond: (perHour + runsPerHour) / 3600,
    dynamoWriteUnitsPerSecond: (usage['dynamodb.wru'] ?? 0) / 3600,
    dynamoReadUnitsPerSecond: (usage['dynamodb.rru'] ?? 0) / 3600,
  };
  // n channels: n × the channel's uploads, checks and incidents; the deployment's fixed items once.
  const fixedMonthly: Usage = { ...monthly, 'cloudwatch.metricMonths': metrics.size - perChannelMetrics };
  const usdAt = settings.scaleChannels.map(
    (n) =>
      priceUsage(
        hourUsage({
          ...inputs,
          perUpload: scaleUsage(perUpload, n),
          perWatchdogRun: scaleUsage(perWatchdogRun, n),
          incident: scaleUsage(incident, n),
          monthly: addUsage(fixedMonthly, { 'cloudwatch.metricMonths': perChannelMetrics * n }),
        }),
      ).usd,
  );

  const sdkPerUpload: Record<string, number> = {};
  const lambdaPerUpload: Record<string, { invocations: number; billedMs: number }> = {};
  for (const b of uploadBills) {
    for (const [k, n] of Object.entries(b.sdk))
      sdkPerUpload[k] = (sdkPerUpload[k] ?? 0) + n / uploadBills.length;
    for (const [state, t] of Object.entries(b.tasks)) {
      const l = lambdaPerUpload[state] ?? { invocations: 0, billedMs: 0 };
      lambdaPerUpload[state] = {
        invocations: l.invocations + t.invocations / uploadBills.length,
        billedMs: l.billedMs + t.billedMs / uploadBills.length,
      };
    }
  }
  const alerts = printed.filter((p) => p.line.startsWith('ALERT ')).map((p) => p.line.slice(6));
  // A healthy channel raises nothing: a failure or an alert there means the local runtime fell
  // behind (a busy machine), and what it did is not what AWS would bill.
  const healthyFailed = bills.filter(
    (b) => b.failed && (b.phase === 'warmup' || b.phase === 'healthy'),
  ).length;
  const healthyAlerts = printed.filter(
    (p) => p.line.startsWith('ALERT ') && (p.phase === 'warmup' || p.phase === 'healthy'),
  ).length;
  const invalid: string[] = [];
  if (healthyFailed > 0) invalid.push(`${healthyFailed} executions failed while the channel was healthy`);
  if (healthyAlerts > 0) invalid.push(`${healthyAlerts} alerts while the channel was healthy`);
  const wrongAlerts = alerts.filter((a) => a.includes(`${ENCODERS[1]} `) || /CHANNEL DOWN/.test(a));
  if (wrongAlerts.length > 0)
    invalid.push(`alerts about the encoder that kept writing: ${wrongAlerts.join(' | ')}`);
  const healthyMs = bills
    .filter((b) => b.phase === 'healthy' && b.bill.kind === 'upload')
    .map((b) => b.durationMs)
    .sort((a, b) => a - b);
  const medianMs = healthyMs[Math.floor(healthyMs.length / 2)] ?? 0;
  if (medianMs > settings.periodMs)
    invalid.push(`an upload's execution took ${medianMs} ms (median), more than a segment period`);
  const stallDeclared = withdrawals > 0 || alerts.some((a) => /stall|down|withdr/i.test(a));
  if (!stallDeclared) invalid.push('the stall was not declared');
  if (!stallDeclared)
    notes.push('the stall was not declared (no withdrawal, no alert): the incident is not priced fully');
  return {
    renditions,
    uploadsPerHour: perHour,
    watchdogRunsPerHour: runsPerHour,
    perUpload,
    perWatchdogRun,
    incident,
    monthly,
    hour,
    seed,
    ratio,
    pass: ratio <= TARGET_RATIO,
    facts: {
      healthyUploads: uploadBills.length,
      incidentUploads,
      watchdogRuns: allRuns,
      stallDeclared,
      withdrawals,
      alerts,
      failedExecutions: failed,
      invalid,
      loadAverage: loadavg().map((n) => Math.round(n * 100) / 100),
      logEventsPerUpload: uploadsMean((b) => b.logEvents),
      stateMachineLogBytesPerUpload: uploadsMean((b) => b.usage['logs.stateMachineBytes'] ?? 0),
      expressBilledMsPerUpload: uploadsMean((b) => b.billedMs),
      sdkCallsPerUpload: sdkPerUpload,
      lambdaPerUpload,
      customMetrics: metrics.size,
      unattributedSdkCalls: Object.fromEntries(observer.unattributed),
      notes,
    },
    rates,
    scale: scaleTable(rates, settings.scaleChannels, usdAt),
  };
}

// ---------------------------------------------------------------------------------------------
// The bench and its report
// ---------------------------------------------------------------------------------------------

export interface CostReport {
  readonly method: string;
  readonly prices: { readonly date: string; readonly region: string; readonly table: typeof PRICES };
  readonly configuration: readonly string[];
  readonly settings: CostSettings;
  readonly seed: string;
  readonly scenarios: readonly ScenarioResult[];
  readonly target: {
    readonly ratio: number;
    readonly aim: number;
    readonly pass: boolean;
    readonly valid: boolean;
  };
  readonly elapsedMs: number;
}

export const COST_METHOD =
  'one channel, R renditions × 2 lock-step encoders (bench/encoders.cjs, 2 s segments), on a real local runtime from the sources ' +
  '(the ASL on aws-local-stepfunctions, the handlers in-process); a healthy phase, then the primary stalls (no uploads) until ' +
  'declared stalled and withdrawn, then recovers; the watchdog on its timer. Observed: every AWS SDK call (Client.prototype.send), ' +
  'every execution and Task invocation (the engine), every line a handler prints, every object event of the bucket. Metered as AWS ' +
  'bills: Lambda per invocation, duration rounded up to 1 ms × the template memory; Express per execution, duration rounded up to ' +
  '100 ms × 64 MB steps (50 MB + definition + data); in both durations the local wait on SDK calls is replaced by an assumed ' +
  'in-Region latency (S3 20 ms, DynamoDB 6 ms; calls that overlap wait once, for the slowest), the rest is measured; state machine log events rebuilt from the history at the template log level and execution data (JSON as ' +
  'Step Functions logs it + 26 bytes an event); Lambda logs = printed lines + START/END/REPORT. Hour = per-upload usage (healthy ' +
  'phase) × renditions × 2 × 3600 / 2 s + one watchdog run (and its channel check) × runs per hour of the template schedule + ONE ' +
  'incident per hour (incident phase minus what its uploads and watchdog runs cost healthy) + fixed monthly items / 730.';

export async function runCostBench(
  settings: CostSettings,
  options: { readonly progress?: ((line: string) => void) | undefined } = {},
): Promise<CostReport> {
  const progress = options.progress ?? (() => undefined);
  const started = performance.now();
  const assembly = assemblyFor(settings.publishing);
  await ensureSynthesized(STACK_ID, progress, assembly);
  const config = readPricedConfiguration(assembly.directory);
  for (const line of config.summary) progress(`priced: ${line}`);
  const observer = observeWorkflow();
  const scenarios: ScenarioResult[] = [];
  try {
    for (const renditions of settings.renditions) {
      let result = await runScenario(renditions, settings, observer, config, progress);
      for (let attempt = 2; attempt <= settings.attempts && result.facts.invalid.length > 0; attempt++) {
        progress(`${renditions} renditions: invalid run (${result.facts.invalid.join('; ')}), running again`);
        result = await runScenario(renditions, settings, observer, config, progress);
      }
      scenarios.push(result);
      progress(
        `${renditions} renditions: $${result.hour.usd.toFixed(4)} per channel-hour, seed $${result.seed.usd.toFixed(4)}, ratio ${result.ratio.toFixed(2)}×`,
      );
    }
  } finally {
    observer.restore();
  }
  return {
    method: COST_METHOD,
    prices: { date: PRICES_DATE, region: PRICES_REGION, table: PRICES },
    configuration: config.summary,
    settings,
    seed: SEED.description,
    scenarios,
    target: {
      ratio: TARGET_RATIO,
      aim: AIM_RATIO,
      pass: scenarios.every((s) => s.pass),
      valid: scenarios.every((s) => s.facts.invalid.length === 0),
    },
    elapsedMs: Math.round(performance.now() - started),
  };
}

const fmtCount = (n: number) =>
  n >= 1e6
    ? `${(n / 1e6).toFixed(2)} M`
    : n >= 1e4
      ? `${Math.round(n).toLocaleString('en-US')}`
      : n >= 10
        ? n.toFixed(0)
        : n.toFixed(2);
const fmtUsd = (n: number) => `$${n.toFixed(4)}`;

function pad(cells: readonly (readonly string[])[]): string[] {
  const widths = (cells[0] ?? []).map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells.map((row) =>
    row
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
      .join('  '),
  );
}

export function costTable(report: CostReport): string {
  const lines = [
    '',
    `cost per channel-hour, publishing: ${report.settings.publishing} (${report.prices.region} list prices of ${report.prices.date}; bench/cost/prices.ts)`,
    `method: ${report.method}`,
    ...report.configuration.map((l) => `priced from the synthesized template: ${l}`),
  ];
  for (const s of report.scenarios) {
    const rows = s.hour.rows.map((r) => [
      r.service,
      r.item,
      fmtCount(r.count),
      fmtUsd(r.usd),
      `${((100 * r.usd) / s.hour.usd).toFixed(0)}%`,
    ]);
    lines.push(
      '',
      `${s.renditions} renditions × 2 encoders, 2 s segments: ${s.uploadsPerHour.toLocaleString('en-US')} uploads/h, ${s.watchdogRunsPerHour} watchdog runs/h, 1 incident/h`,
      ...pad([
        ['service', 'driver', 'count/h', '$/h', 'share'],
        ...rows,
        ['total', '', '', fmtUsd(s.hour.usd), ''],
      ]),
      `seed design (${SEED.description}): ${fmtUsd(s.seed.usd)} per channel-hour`,
      `ratio ours/seed: ${s.ratio.toFixed(2)}× (target ≤ ${TARGET_RATIO.toFixed(1)}: ${s.pass ? 'PASS' : 'MISS'}; aim ≤ ${AIM_RATIO}: ${s.ratio <= AIM_RATIO ? 'met' : 'not met'})`,
      `per upload: ${s.facts.logEventsPerUpload.toFixed(1)} state machine log events (${(s.facts.stateMachineLogBytesPerUpload / 1024).toFixed(1)} KiB), ` +
        `Express billed ${s.facts.expressBilledMsPerUpload.toFixed(0)} ms; SDK calls ${Object.entries(
          s.facts.sdkCallsPerUpload,
        )
          .map(([k, n]) => `${k} ${n.toFixed(2)}`)
          .join(', ')}`,
      `Lambda per upload: ${Object.entries(s.facts.lambdaPerUpload)
        .map(
          ([k, v]) =>
            `${k} ${v.invocations.toFixed(2)}× ${(v.billedMs / Math.max(v.invocations, 1e-9)).toFixed(0)} ms`,
        )
        .join(', ')}`,
      `run: ${s.facts.healthyUploads} healthy uploads, ${s.facts.incidentUploads} in the incident, ${s.facts.watchdogRuns} watchdog runs, ` +
        `stall declared: ${s.facts.stallDeclared ? 'yes' : 'NO'} (${s.facts.withdrawals} withdrawals, alerts: ${s.facts.alerts.join(' | ') || 'none'}), ` +
        `${s.facts.failedExecutions} failed executions, ${s.facts.customMetrics} custom metrics`,
      ...s.facts.notes.map((n) => `note: ${n}`),
      ...(s.facts.invalid.length === 0
        ? []
        : [
            `INVALID RUN (load average ${s.facts.loadAverage.join(' ')}): ${s.facts.invalid.join('; ')}: the local runtime fell behind; run again on a quieter machine`,
          ]),
    );
  }
  const last = report.scenarios[report.scenarios.length - 1];
  if (last !== undefined) {
    const sc = last.scale;
    lines.push(
      '',
      `scale on paper (${last.renditions} renditions a channel, from the same counts): use of each quota, and the channels at which it is reached`,
      ...pad([
        ['quota', 'limit', ...sc.channels.map((n) => `${n} ch`), 'reached at'],
        ...sc.rows.map((r) => [
          r.quota.name,
          `${r.quota.limit.toLocaleString('en-US')} ${r.quota.unit}`,
          ...r.at.map((v) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2))),
          Number.isFinite(r.bindsAt) ? `${Math.floor(r.bindsAt).toLocaleString('en-US')} ch` : 'never',
        ]),
        ['$ per hour', '', ...sc.usdPerHour.map((u) => `$${u.toFixed(2)}`), ''],
      ]),
      `binds first: ${sc.bindsFirst === undefined ? 'none' : `${sc.bindsFirst.quota.name} at ~${Math.floor(sc.bindsFirst.bindsAt).toLocaleString('en-US')} channels`}`,
      ...sc.rows.map(
        (r) => `  ${r.quota.name}: ${r.quota.source}${r.quota.note ? ` (${r.quota.note})` : ''}`,
      ),
    );
  }
  lines.push('', `cost run took ${(report.elapsedMs / 1000).toFixed(1)} s`, '');
  return lines.join('\n');
}
