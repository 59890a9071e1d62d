/**
 * The price table of the cost bench: us-east-1 list prices (first tier, no free tier, no savings
 * plan), each with the page it was read from. Dated: prices change, and the bench says which
 * table it used. Where a price is a tier, the first tier is used (one deployment of a few channels
 * stays in it).
 */

export interface Price {
  /** US dollars per `per` units. */
  readonly usd: number;
  readonly per: number;
  readonly unit: string;
  readonly source: string;
  readonly note?: string;
}

export const PRICES_DATE = '2026-12-01';
export const PRICES_REGION = 'us-east-1';

const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const SFN = 'https://aws.amazon.com/step-functions/pricing/';
const S3 = 'https://aws.amazon.com/s3/pricing/';
const DDB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const CW = 'https://aws.amazon.com/cloudwatch/pricing/';
const EB = 'https://aws.amazon.com/eventbridge/pricing/';
const XRAY = 'https://aws.amazon.com/xray/pricing/';
const SNS = 'https://aws.amazon.com/sns/pricing/';

export const PRICES = {
  lambdaRequest: { usd: 0.2, per: 1e6, unit: 'request', source: LAMBDA },
  lambdaGbSecondArm: { usd: 0.0000133334, per: 1, unit: 'GB-second (arm64)', source: LAMBDA },
  lambdaGbSecondX86: { usd: 0.0000166667, per: 1, unit: 'GB-second (x86_64)', source: LAMBDA },
  expressRequest: { usd: 1.0, per: 1e6, unit: 'Express execution', source: SFN },
  expressGbSecond: {
    usd: 0.00001667,
    per: 1,
    unit: 'GB-second',
    source: SFN,
    note: '$0.06 per GB-hour, first 1,000 GB-hours a month; billed per 100 ms and in 64 MB steps',
  },
  s3Put: { usd: 0.005, per: 1000, unit: 'PUT, COPY, POST, LIST request', source: S3 },
  s3Get: { usd: 0.0004, per: 1000, unit: 'GET, SELECT and all other requests', source: S3 },
  s3Delete: { usd: 0, per: 1000, unit: 'DELETE request', source: S3, note: 'DELETE and CANCEL are free' },
  dynamoWrite: {
    usd: 0.625,
    per: 1e6,
    unit: 'write request unit (on-demand)',
    source: DDB,
    note: 'after the November 2024 on-demand price cut',
  },
  dynamoRead: { usd: 0.125, per: 1e6, unit: 'read request unit (on-demand)', source: DDB },
  logsIngestion: {
    usd: 0.5,
    per: 2 ** 30,
    unit: 'byte ingested (Standard class; first tier of vended logs)',
    source: CW,
  },
  logsStorage: {
    usd: 0.03,
    per: 2 ** 30,
    unit: 'byte-month stored (compressed)',
    source: CW,
    note: 'stored bytes assumed = ingested bytes / 6.67 (CloudWatch compresses; ~0.15 per ingested GB is the usual rule of thumb)',
  },
  eventBridgeAwsServiceEvent: {
    usd: 0,
    per: 1e6,
    unit: 'AWS service event on the default bus (S3 object events)',
    source: EB,
    note: 'events from AWS services to the default bus are free; custom events are $1.00 per million',
  },
  eventBridgeCustomEvent: { usd: 1.0, per: 1e6, unit: 'custom event', source: EB },
  xrayTraceRecorded: { usd: 5.0, per: 1e6, unit: 'trace recorded', source: XRAY },
  snsPublish: {
    usd: 0.5,
    per: 1e6,
    unit: 'publish (64 KB chunk)',
    source: SNS,
    note: 'email deliveries ($2 per 100,000) are not counted: one per alert per subscriber',
  },
  cloudWatchMetric: { usd: 0.3, per: 1, unit: 'custom metric-month', source: CW },
  cloudWatchAlarm: { usd: 0.1, per: 1, unit: 'standard alarm-month (per metric)', source: CW },
  cloudWatchCompositeAlarm: { usd: 0.5, per: 1, unit: 'composite alarm-month', source: CW },
  cloudWatchDashboard: { usd: 3.0, per: 1, unit: 'dashboard-month', source: CW },
} as const satisfies Record<string, Price>;

export type PriceName = keyof typeof PRICES;

/** Hours in a month, as AWS prices a month (730). */
export const HOURS_PER_MONTH = 730;

/** Dollars for `count` units at `price`. */
export function cost(price: Price, count: number): number {
  return (price.usd * count) / price.per;
}

/** A default X-Ray sampling rule: the first request each second, then 5% of the rest. */
export const XRAY_DEFAULT_SAMPLING = {
  reservoirPerSecond: 1,
  rate: 0.05,
  source: 'https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html',
} as const;
