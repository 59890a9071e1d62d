/**
 * `hls-failover status`: health per channel and encoder from the stored channel state, invalid-
 * playlist incidents, the last index change, the latest metrics and (on AWS) the alarms.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readChannelForView } from '../functions/accepted';
import { channelLabel } from '../functions/alerts';
import { type ChannelState, listChannels } from '../functions/channel-state';
import type { Settings } from '../functions/config';
import { DynamoRecordStore } from '../functions/dynamodb-store';
import type { RecordStore } from '../functions/record-store';
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
import { localBucket, openLocalRecords, readSettingsFile } from './local-data';

export const STATUS_HELP = `Usage: hls-failover status [--local <dataDir> | --stack <name> [--region <r>]] [options]

Health per channel and encoder (status, since when, incident, each rendition's last segment and
age), open invalid-playlist incidents, the last index.m3u8 change, the latest metrics, and on AWS
the state of the stack's alarms. A channel whose encoders both ended their playlists is shown as
ENDED: the event is over and the watchdog no longer expects it live.

Where:
  --local <dir>          the local runtime's data dir (default .hls-failover); read through the
                         running runtime's DynamoDB endpoint, or the data dir's store when it
                         is not running
  --stack <name>         a deployed stack: the health state in its state table (dynamodb:Scan,
                         dynamodb:GetItem and dynamodb:Query), its alarms and metrics
  --region <region>      the stack's region (default: AWS_REGION / the profile's region)

Options:
  --bucket <name>        local bucket (default: the only one in the data dir, else live)
  --config <file>        the settings file the runtime or stack uses (stack name, metrics
                         namespace), when not the defaults
  --json                 print one JSON document
  -h, --help             show this help

Exit codes: 0 success, 2 usage, credentials, region, stack or I/O error.
`;

export interface RenditionStatus {
  readonly rendition: string;
  readonly status: string;
  readonly lastSequence: number;
  readonly ageSeconds: number;
  readonly ageTargetDurations: number;
}

export interface EncoderStatus {
  readonly encoder: string;
  readonly status: string;
  readonly since: string;
  readonly reason: string;
  readonly incidentId?: string;
  readonly withdrawn: boolean;
  readonly renditions: readonly RenditionStatus[];
  /** Latest value of each metric (EncoderDown, PlaylistAgeTargetDurations, SegmentLag). */
  readonly metrics?: Readonly<Record<string, number>>;
}

export interface ChannelStatus {
  readonly channel: string;
  readonly state: 'LIVE' | 'DEGRADED' | 'DOWN' | 'ENDED' | 'UNKNOWN';
  readonly summary: string;
  readonly preferred?: string;
  readonly encoders: readonly EncoderStatus[];
  readonly invalidPlaylists: readonly {
    readonly encoder: string;
    readonly incidentId: string;
    readonly since: string;
    readonly rejected: number;
    readonly playlists: readonly string[];
  }[];
  readonly lastIndexChange?: { readonly at: string; readonly preferred: string };
}

export interface AlarmStatus {
  readonly name: string;
  readonly state: string;
  readonly since?: string;
  readonly reason?: string;
}

const round = (n: number) => Math.round(n * 10) / 10;
const iso = (ms: number) => new Date(ms).toISOString();

/** What a channel's stored state says, for people. */
export function channelStatus(state: ChannelState, now: number): ChannelStatus {
  const health = state.health;
  const invalidPlaylists = Object.entries(state.invalid ?? {}).map(([encoder, i]) => ({
    encoder,
    incidentId: i.incidentId,
    since: iso(i.since),
    rejected: i.rejected,
    playlists: Object.keys(i.playlists),
  }));
  const lastIndexChange =
    state.index === undefined
      ? {}
      : { lastIndexChange: { at: iso(state.index.writtenAt), preferred: state.index.preferred } };
  if (health === undefined) {
    return {
      channel: state.channel,
      state: 'UNKNOWN',
      summary: 'no valid playlist seen yet',
      encoders: [],
      invalidPlaylists,
      ...lastIndexChange,
    };
  }
  const encoders = Object.entries(health.encoders).map(
    ([encoder, h]): EncoderStatus => ({
      encoder,
      status: h.status,
      since: iso(h.since),
      reason: h.reason,
      ...(h.incidentId === undefined ? {} : { incidentId: h.incidentId }),
      withdrawn: health.withdrawn.includes(encoder),
      renditions: Object.entries(h.renditions).map(([rendition, r]) => {
        const ageSeconds = round(Math.max(0, now - r.lastModified) / 1000);
        return {
          rendition,
          status: r.status,
          lastSequence: r.lastSequence,
          ageSeconds,
          ageTargetDurations: round(ageSeconds / (r.targetDuration || 1)),
        };
      }),
    }),
  );
  const down = encoders.filter((e) => e.status === 'stalled' || e.status === 'ended');
  let channelState: ChannelStatus['state'];
  let summary: string;
  if (health.ended) {
    channelState = 'ENDED';
    summary =
      'the event is over: every encoder ended its playlists (EXT-X-ENDLIST); the watchdog no longer expects this channel live';
  } else if (health.channelDown) {
    channelState = 'DOWN';
    summary = 'every encoder is silent: viewers are frozen; the last good index.m3u8 stays';
  } else if (down.length > 0) {
    channelState = 'DEGRADED';
    summary = `${down.map((e) => `${e.encoder} ${e.status}`).join(', ')}; viewers are steered to ${health.preferred}`;
  } else if (encoders.every((e) => e.status === 'unknown')) {
    channelState = 'UNKNOWN';
    summary = 'no media playlist seen yet';
  } else {
    channelState = 'LIVE';
    summary = `healthy; steering and index prefer ${health.preferred}`;
  }
  return {
    channel: state.channel,
    state: channelState,
    summary,
    preferred: health.preferred,
    encoders,
    invalidPlaylists,
    ...lastIndexChange,
  };
}

/** Every channel with a stored state. */
export async function readChannels(records: RecordStore, now: number): Promise<ChannelStatus[]> {
  const result: ChannelStatus[] = [];
  for (const channel of await listChannels(records)) {
    result.push(channelStatus(await readChannelForView(records, channel), now));
  }
  return result;
}

const METRIC_NAMES = ['EncoderDown', 'PlaylistAgeTargetDurations', 'SegmentLag'] as const;

/** The latest metric values per channel label and encoder from the tail of a local metrics.jsonl. */
export function latestLocalMetrics(
  file: string,
  tailBytes = 512 * 1024,
): Map<string, Record<string, number>> {
  const latest = new Map<string, Record<string, number>>();
  if (!existsSync(file)) return latest;
  const size = statSync(file).size;
  const length = Math.min(size, tailBytes);
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  for (const line of buffer.toString('utf8').split('\n')) {
    let emf: Record<string, unknown>;
    try {
      emf = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // the first line of the tail may be cut
    }
    if (typeof emf.Channel !== 'string' || typeof emf.Encoder !== 'string') continue;
    const key = `${emf.Channel}\u0000${emf.Encoder}`;
    const values = latest.get(key) ?? {};
    for (const name of METRIC_NAMES) if (typeof emf[name] === 'number') values[name] = emf[name] as number;
    latest.set(key, values);
  }
  return latest;
}

function withMetrics(
  channels: ChannelStatus[],
  metrics: Map<string, Record<string, number>>,
): ChannelStatus[] {
  return channels.map((c) => ({
    ...c,
    encoders: c.encoders.map((e) => {
      const m = metrics.get(`${channelLabel(c.channel)}\u0000${e.encoder}`);
      return m === undefined ? e : { ...e, metrics: m };
    }),
  }));
}

export async function statusCommand(
  args: string[],
  io: CliIo,
  options: { now?: number } = {},
): Promise<number> {
  const values = parseOperationsArgs(
    args,
    { bucket: { type: 'string' }, config: { type: 'string' } },
    STATUS_HELP,
    io,
  );
  if (values === undefined) return 0;
  const now = options.now ?? Date.now();
  const settings = readSettingsFile(values.config);
  const target = parseTarget(values);
  let report: {
    source: Record<string, string>;
    channels: ChannelStatus[];
    alarms?: AlarmStatus[];
    notes: string[];
  };
  if ('local' in target) {
    if (values.bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(values.bucket))
      throw new UsageError(`--bucket "${values.bucket}" is not a valid S3 bucket name`);
    const bucket = localBucket(target.local, values.bucket);
    const local = await openLocalRecords(target.local, settings.stackName);
    const channels = await readChannels(local.records, now).finally(local.close);
    report = {
      source: { local: target.local, bucket },
      channels: withMetrics(channels, latestLocalMetrics(join(target.local, 'metrics.jsonl'))),
      notes: ['alarms: none locally (CloudWatch alarms exist only on AWS); metrics from metrics.jsonl'],
    };
  } else {
    if (values.bucket !== undefined)
      throw new UsageError('--bucket goes with --local (on AWS the stack names it)');
    report = await readAwsStatus(target.aws, settings, now);
  }
  if (values.json) {
    io.out(`${JSON.stringify({ at: iso(now), ...report }, null, 2)}\n`);
    return 0;
  }
  io.out(renderStatus(report.channels, report.alarms, now));
  for (const note of report.notes) io.err(`${note}\n`);
  return 0;
}

/** The status people read. */
export function renderStatus(
  channels: readonly ChannelStatus[],
  alarms: readonly AlarmStatus[] | undefined,
  now: number,
): string {
  const lines: string[] = [];
  if (channels.length === 0) lines.push('No channel has a stored state yet: no playlist was processed.');
  for (const c of channels) {
    lines.push(`Channel ${channelLabel(c.channel)}: ${c.state} — ${c.summary}`);
    for (const e of c.encoders) {
      const ago = Math.round((now - Date.parse(e.since)) / 1000);
      const metrics =
        e.metrics === undefined
          ? ''
          : `  metrics: ${Object.entries(e.metrics)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')}`;
      lines.push(
        `  ${e.encoder.padEnd(10)} ${e.status.padEnd(8)} since ${e.since} (${ago} s)${e.withdrawn ? ', withdrawn' : ''}${e.incidentId === undefined ? '' : `, incident ${e.incidentId}`}${metrics}`,
      );
      lines.push(`    ${e.reason}`);
      for (const r of e.renditions) {
        lines.push(
          `    ${r.rendition}: ${r.status}, last segment ${r.lastSequence}, updated ${r.ageSeconds} s ago (${r.ageTargetDurations} × target duration)`,
        );
      }
    }
    for (const i of c.invalidPlaylists) {
      lines.push(
        `  invalid playlists: ${i.encoder}, incident ${i.incidentId} since ${i.since}, ${i.rejected} rejected (${i.playlists.join(', ')})`,
      );
    }
    lines.push(
      c.lastIndexChange === undefined
        ? '  index.m3u8: not written yet'
        : `  index.m3u8: last changed ${c.lastIndexChange.at} (${Math.round((now - Date.parse(c.lastIndexChange.at)) / 1000)} s ago), ${c.lastIndexChange.preferred} first`,
    );
    lines.push('');
  }
  if (alarms !== undefined) {
    lines.push(`Alarms (${alarms.filter((a) => a.state === 'ALARM').length} in ALARM):`);
    for (const a of alarms) {
      lines.push(`  ${a.state.padEnd(17)} ${a.name}${a.since === undefined ? '' : ` since ${a.since}`}`);
      if (a.state !== 'OK' && a.reason !== undefined) lines.push(`    ${a.reason}`);
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

async function readAwsStatus(
  target: AwsTarget,
  settings: Settings,
  now: number,
): Promise<{
  source: Record<string, string>;
  channels: ChannelStatus[];
  alarms: AlarmStatus[];
  notes: string[];
}> {
  const outputs = await stackOutputs(target);
  const bucket = requireOutput(outputs, 'BucketName', target);
  const notes: string[] = [];
  const table = requireOutput(outputs, 'StateTableName', target);
  const dynamodb = new DynamoDBClient(clientConfig(target));
  const cloudwatch = new CloudWatchClient(clientConfig(target));
  try {
    let channels: ChannelStatus[] = [];
    try {
      channels = await readChannels(new DynamoRecordStore(dynamodb, table), now);
    } catch (e) {
      const error = asUsageError(e, target, `table ${table}`);
      if (!(error instanceof UsageError) || /credentials|region|reach AWS/.test(error.message)) throw error;
      notes.push(
        `health state unavailable (${error.message}); it needs dynamodb:Scan, dynamodb:GetItem and dynamodb:Query on table ${table}`,
      );
    }
    const alarms: AlarmStatus[] = [];
    let token: string | undefined;
    do {
      const out = await cloudwatch.send(
        new DescribeAlarmsCommand({
          AlarmNamePrefix: `${target.stack}-`,
          // watchdog-silent is a composite alarm: without this, DescribeAlarms lists metric alarms only.
          AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
          ...(token === undefined ? {} : { NextToken: token }),
        }),
      );
      for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
        alarms.push({
          name: a.AlarmName ?? '',
          state: a.StateValue ?? 'UNKNOWN',
          ...(a.StateUpdatedTimestamp === undefined ? {} : { since: a.StateUpdatedTimestamp.toISOString() }),
          ...(a.StateReason === undefined ? {} : { reason: a.StateReason }),
        });
      }
      token = out.NextToken;
    } while (token !== undefined);
    const metrics = await latestAwsMetrics(cloudwatch, settings.metricsNamespace, channels, now);
    return {
      source: { stack: target.stack, bucket },
      channels: withMetrics(channels, metrics),
      alarms,
      notes,
    };
  } catch (e) {
    throw asUsageError(e, target);
  } finally {
    dynamodb.destroy();
    cloudwatch.destroy();
  }
}

/** The latest datapoint (last 15 minutes, 1-minute Maximum) of each health metric per channel and encoder. */
export async function latestAwsMetrics(
  cloudwatch: CloudWatchClient,
  namespace: string,
  channels: readonly ChannelStatus[],
  now: number,
): Promise<Map<string, Record<string, number>>> {
  const queries = channels.flatMap((c) =>
    c.encoders.flatMap((e) =>
      METRIC_NAMES.map((name) => ({ label: channelLabel(c.channel), encoder: e.encoder, name })),
    ),
  );
  const latest = new Map<string, Record<string, number>>();
  // GetMetricData takes up to 500 queries per request.
  for (let offset = 0; offset < queries.length; offset += 500) {
    const batch = queries.slice(offset, offset + 500);
    let token: string | undefined;
    do {
      const out = await cloudwatch.send(
        new GetMetricDataCommand({
          StartTime: new Date(now - 15 * 60_000),
          EndTime: new Date(now),
          ScanBy: 'TimestampDescending',
          MetricDataQueries: batch.map((q, i) => ({
            Id: `m${offset + i}`,
            MetricStat: {
              Metric: {
                Namespace: namespace,
                MetricName: q.name,
                Dimensions: [
                  { Name: 'Channel', Value: q.label },
                  { Name: 'Encoder', Value: q.encoder },
                ],
              },
              Period: 60,
              Stat: 'Maximum',
            },
          })),
          ...(token === undefined ? {} : { NextToken: token }),
        }),
      );
      for (const r of out.MetricDataResults ?? []) {
        const q = queries[Number((r.Id ?? '').slice(1))];
        const value = r.Values?.[0];
        if (q === undefined || value === undefined) continue;
        const key = `${q.label}\u0000${q.encoder}`;
        if (latest.get(key)?.[q.name] !== undefined) continue; // later pages hold older datapoints
        latest.set(key, { ...(latest.get(key) ?? {}), [q.name]: value });
      }
      token = out.NextToken;
    } while (token !== undefined);
  }
  return latest;
}
