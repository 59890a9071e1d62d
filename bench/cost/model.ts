/**
 * The cost bench's arithmetic: usage by driver, priced with the price table; the extrapolation of
 * a compressed run to a channel-hour; the seed design's model; the scale table. Pure.
 */
import { platformLogBytes, tracesPerHour } from './billing';
import { cost, HOURS_PER_MONTH, PRICES, type PriceName, XRAY_DEFAULT_SAMPLING } from './prices';

/** What AWS bills, by driver key (see {@link DRIVERS}; `other:<service> <command>` for what has no price). */
export type Usage = Record<string, number>;

export interface Driver {
  readonly service: string;
  readonly item: string;
  readonly price: PriceName;
}

/** Every priced driver. A key not listed here is counted, printed, and priced at nothing. */
export const DRIVERS = {
  'sfn.requests': { service: 'Step Functions', item: 'Express requests', price: 'expressRequest' },
  'sfn.gbSeconds': { service: 'Step Functions', item: 'Express duration (GB-s)', price: 'expressGbSecond' },
  'lambda.requests': { service: 'Lambda', item: 'requests', price: 'lambdaRequest' },
  'lambda.gbSecondsArm': { service: 'Lambda', item: 'duration arm64 (GB-s)', price: 'lambdaGbSecondArm' },
  'lambda.gbSecondsX86': { service: 'Lambda', item: 'duration x86_64 (GB-s)', price: 'lambdaGbSecondX86' },
  's3.get': { service: 'S3', item: 'GET/HEAD and other requests', price: 's3Get' },
  's3.put': { service: 'S3', item: 'PUT/COPY/POST/LIST requests', price: 's3Put' },
  's3.putFailed': { service: 'S3', item: 'conditional writes failed (412/409), billed', price: 's3Put' },
  's3.delete': { service: 'S3', item: 'DELETE requests (free)', price: 's3Delete' },
  'dynamodb.wru': { service: 'DynamoDB', item: 'write request units', price: 'dynamoWrite' },
  'dynamodb.rru': { service: 'DynamoDB', item: 'read request units', price: 'dynamoRead' },
  'sns.publish': { service: 'SNS', item: 'publishes', price: 'snsPublish' },
  'logs.stateMachineBytes': {
    service: 'CloudWatch Logs',
    item: 'state machine log ingested (bytes)',
    price: 'logsIngestion',
  },
  'logs.lambdaBytes': {
    service: 'CloudWatch Logs',
    item: 'Lambda logs ingested (bytes)',
    price: 'logsIngestion',
  },
  'logs.storedByteMonths': {
    service: 'CloudWatch Logs',
    item: 'storage over retention (byte-months)',
    price: 'logsStorage',
  },
  'eventbridge.s3Events': {
    service: 'EventBridge',
    item: 'S3 object events, default bus (free)',
    price: 'eventBridgeAwsServiceEvent',
  },
  'xray.traces': { service: 'X-Ray', item: 'traces recorded', price: 'xrayTraceRecorded' },
  'cloudwatch.metricMonths': {
    service: 'CloudWatch',
    item: 'custom metrics (metric-months)',
    price: 'cloudWatchMetric',
  },
  'cloudwatch.alarmMonths': {
    service: 'CloudWatch',
    item: 'alarms (alarm-months)',
    price: 'cloudWatchAlarm',
  },
  'cloudwatch.compositeAlarmMonths': {
    service: 'CloudWatch',
    item: 'composite alarms (alarm-months)',
    price: 'cloudWatchCompositeAlarm',
  },
  'cloudwatch.dashboardMonths': {
    service: 'CloudWatch',
    item: 'dashboards (dashboard-months)',
    price: 'cloudWatchDashboard',
  },
} as const satisfies Record<string, Driver>;

/** Trace roots (executions, or traced invocations): turned into traces recorded per hour by the sampling rule. */
export const TRACE_ROOTS = 'xray.roots';

export interface PricedRow {
  readonly driver: string;
  readonly service: string;
  readonly item: string;
  readonly count: number;
  readonly usd: number;
  readonly priced: boolean;
}

export interface PricedUsage {
  readonly rows: readonly PricedRow[];
  readonly usd: number;
}

/** Prices each driver of `usage`; rows in table order, unknown drivers last at $0. */
export function priceUsage(usage: Usage): PricedUsage {
  const order = Object.keys(DRIVERS);
  const rows = Object.entries(usage)
    .filter(([key, count]) => key !== TRACE_ROOTS && count !== 0)
    .map(([key, count]): PricedRow => {
      const driver = (DRIVERS as Record<string, Driver>)[key];
      if (driver === undefined) {
        const [service = 'other', ...item] = key.replace(/^other:/, '').split(' ');
        return {
          driver: key,
          service,
          item: `${item.join(' ')} (no price: unknown to the bench)`,
          count,
          usd: 0,
          priced: false,
        };
      }
      return {
        driver: key,
        service: driver.service,
        item: driver.item,
        count,
        usd: cost(PRICES[driver.price], count),
        priced: true,
      };
    })
    .sort((a, b) => rank(a.driver) - rank(b.driver));
  return { rows, usd: rows.reduce((sum, r) => sum + r.usd, 0) };

  function rank(key: string) {
    const i = order.indexOf(key);
    return i < 0 ? order.length : i;
  }
}

/** a + b × factor, driver by driver. */
export function addUsage(a: Usage, b: Usage, factor = 1): Usage {
  const out: Usage = { ...a };
  for (const [key, n] of Object.entries(b)) out[key] = (out[key] ?? 0) + n * factor;
  return out;
}

export function scaleUsage(usage: Usage, factor: number): Usage {
  return addUsage({}, usage, factor);
}

// ---------------------------------------------------------------------------------------------
// The hour
// ---------------------------------------------------------------------------------------------

/** Media playlist uploads per channel-hour: renditions × 2 encoders × 3600 / segment seconds. */
export function uploadsPerHour(renditions: number, segmentSeconds: number, encoders = 2): number {
  return (renditions * encoders * 3600) / segmentSeconds;
}

export interface HourInputs {
  /** Usage of one upload's execution(s), healthy. */
  readonly perUpload: Usage;
  readonly uploadsPerHour: number;
  /** Usage of one scheduled watchdog run and the channel check it starts. */
  readonly perWatchdogRun: Usage;
  readonly watchdogRunsPerHour: number;
  /** One incident (stall, withdrawal, recovery) over what the same uploads and runs cost healthy; counted once an hour. */
  readonly incident: Usage;
  /** Fixed monthly items of the deployment (metric-months, alarm-months, …), per month. */
  readonly monthly: Usage;
  /** Whether a trace root is sampled by X-Ray's default rule (tracing on); false: no traces. */
  readonly traced: boolean;
}

/**
 * One channel-hour: per-upload usage × uploads per hour + the watchdog's runs per hour + one
 * incident + the fixed monthly items / 730 h; trace roots become traces recorded under the
 * default sampling rule (1 a second, then 5%).
 */
export function hourUsage(inputs: HourInputs): Usage {
  let usage = scaleUsage(inputs.perUpload, inputs.uploadsPerHour);
  usage = addUsage(usage, inputs.perWatchdogRun, inputs.watchdogRunsPerHour);
  usage = addUsage(usage, inputs.incident);
  usage = addUsage(usage, inputs.monthly, 1 / HOURS_PER_MONTH);
  const roots = usage[TRACE_ROOTS] ?? 0;
  delete usage[TRACE_ROOTS];
  if (inputs.traced && roots > 0)
    usage['xray.traces'] = tracesPerHour(
      roots,
      XRAY_DEFAULT_SAMPLING.reservoirPerSecond,
      XRAY_DEFAULT_SAMPLING.rate,
    );
  return usage;
}

// ---------------------------------------------------------------------------------------------
// The seed design
// ---------------------------------------------------------------------------------------------

/** The design this project replaces, per upload (issue 13). */
export const SEED = {
  lambdaMb: 128,
  lambdaMs: 100,
  s3Gets: 2,
  s3Puts: 1,
  description:
    'per upload: one Lambda of 128 MB (x86_64) for ~100 ms, 2 S3 GETs and 1 PUT of index.m3u8, and its START/END/REPORT log lines (Text format, no tracing)',
} as const;

/** The seed design's usage for an hour of `uploads` uploads. */
export function seedUsage(uploads: number): Usage {
  return {
    'lambda.requests': uploads,
    'lambda.gbSecondsX86': uploads * (SEED.lambdaMs / 1000) * (SEED.lambdaMb / 1024),
    's3.get': uploads * SEED.s3Gets,
    's3.put': uploads * SEED.s3Puts,
    'logs.lambdaBytes': uploads * platformLogBytes({ format: 'Text' }, SEED.lambdaMb, false),
  };
}

export const TARGET_RATIO = 1.0;
export const AIM_RATIO = 0.6;

// ---------------------------------------------------------------------------------------------
// Scale on paper
// ---------------------------------------------------------------------------------------------

export interface Quota {
  readonly name: string;
  readonly limit: number;
  readonly unit: string;
  readonly source: string;
  readonly note?: string;
}

/** Rates of one channel, from the same counts as the hour (per second, or concurrent). */
export interface ChannelRates {
  readonly executionsPerSecond: number;
  readonly meanExecutionSeconds: number;
  readonly lambdaInvocationsPerSecond: number;
  readonly meanInvocationSeconds: number;
  readonly s3WritesPerSecond: number;
  readonly s3ReadsPerSecond: number;
  readonly logEventsPerSecond: number;
  readonly logBytesPerSecond: number;
  readonly ruleInvocationsPerSecond: number;
  readonly dynamoWriteUnitsPerSecond: number;
  readonly dynamoReadUnitsPerSecond: number;
}

export const QUOTAS = {
  expressStart: {
    name: 'Step Functions Express StartExecution',
    limit: 6000,
    unit: 'starts/s (refill; bucket 6,000)',
    source:
      'https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-api-action-throttling-general',
    note: 'EventBridge starts count against it; open Express executions have no quota',
  },
  lambdaConcurrency: {
    name: 'Lambda concurrent executions',
    limit: 1000,
    unit: 'concurrent (invocations/s × duration)',
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
    note: 'per account and Region; new accounts may start lower',
  },
  s3PrefixWrites: {
    name: 'S3 PUT/COPY/POST/DELETE per partitioned prefix',
    limit: 3500,
    unit: 'requests/s',
    source: 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html',
    note: 'counted as if every channel shared one prefix (S3 partitions busy prefixes over 30–60 min)',
  },
  s3PrefixReads: {
    name: 'S3 GET/HEAD per partitioned prefix',
    limit: 5500,
    unit: 'requests/s',
    source: 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html',
  },
  logsPutLogEvents: {
    name: 'CloudWatch Logs PutLogEvents',
    limit: 5000,
    unit: 'requests/s per account',
    source: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html',
    note: 'upper bound: one request per execution or invocation (Lambda and Step Functions batch their delivery)',
  },
  eventBridgeInvocations: {
    name: 'EventBridge target invocations (us-east-1)',
    limit: 18750,
    unit: 'invocations/s',
    source: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html',
    note: 'S3 events reach the bus without PutEvents (its 10,000/s quota does not apply)',
  },
  dynamoPartitionWrites: {
    name: 'DynamoDB write units per partition',
    limit: 1000,
    unit: 'WRU/s',
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html',
    note: 'one channel’s items on one partition at worst',
  },
  dynamoTableWrites: {
    name: 'DynamoDB on-demand table write throughput',
    limit: 40000,
    unit: 'WRU/s',
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html',
  },
} as const satisfies Record<string, Quota>;

export interface ScaleRow {
  readonly quota: Quota;
  /** Use per channel, in the quota's unit. */
  readonly perChannel: number;
  /** Use at each channel count. */
  readonly at: readonly number[];
  /** Channels at which the quota is reached (Infinity when nothing uses it). */
  readonly bindsAt: number;
  /** Whether the use grows with the channel count (false: a per-channel quota, e.g. a partition). */
  readonly perChannelQuota: boolean;
}

export interface ScaleTable {
  readonly channels: readonly number[];
  readonly rows: readonly ScaleRow[];
  /** The quota reached at the fewest channels. */
  readonly bindsFirst: ScaleRow | undefined;
  readonly usdPerHour: readonly number[];
}

/**
 * Each quota's use at each channel count (one channel's rates × channels), and the channel count
 * at which each quota is reached; `usdPerHour` is the cost at each channel count.
 */
export function scaleTable(
  rates: ChannelRates,
  channels: readonly number[],
  usdPerHour: readonly number[],
): ScaleTable {
  const uses: [Quota, number, boolean][] = [
    [QUOTAS.expressStart, rates.executionsPerSecond, false],
    [QUOTAS.lambdaConcurrency, rates.lambdaInvocationsPerSecond * rates.meanInvocationSeconds, false],
    [QUOTAS.s3PrefixWrites, rates.s3WritesPerSecond, false],
    [QUOTAS.s3PrefixReads, rates.s3ReadsPerSecond, false],
    [QUOTAS.logsPutLogEvents, rates.executionsPerSecond + rates.lambdaInvocationsPerSecond, false],
    [QUOTAS.eventBridgeInvocations, rates.ruleInvocationsPerSecond, false],
  ];
  if (rates.dynamoWriteUnitsPerSecond > 0)
    uses.push(
      [QUOTAS.dynamoPartitionWrites, rates.dynamoWriteUnitsPerSecond, true],
      [QUOTAS.dynamoTableWrites, rates.dynamoWriteUnitsPerSecond, false],
    );
  const rows = uses.map(([quota, perChannel, perChannelQuota]): ScaleRow => {
    let bindsAt = Number.POSITIVE_INFINITY;
    if (perChannel > 0 && !perChannelQuota) bindsAt = quota.limit / perChannel;
    if (perChannelQuota && perChannel >= quota.limit) bindsAt = 1;
    return {
      quota,
      perChannel,
      at: channels.map((n) => (perChannelQuota ? perChannel : perChannel * n)),
      bindsAt,
      perChannelQuota,
    };
  });
  const bindsFirst = [...rows].sort((a, b) => a.bindsAt - b.bindsAt)[0];
  return { channels, rows, bindsFirst, usdPerHour };
}
