/**
 * Health metrics. The workflow publishes them as CloudWatch embedded metric format (EMF) log
 * lines rather than PutMetricData: an execution then costs log ingestion (~1 KB) instead of an
 * API request; the README's "Metrics and cost" section has the arithmetic. Pure: formatting only.
 */

import { channelLabel } from './alerts';
import type { ChannelHealth } from './hls';

/**
 * Every metric the workflow emits, with its dimension sets. The one owner of these names: the
 * handlers emit them, the stack's alarms and dashboard read them.
 */
export const METRIC_NAMES = {
  /** 1 while an encoder is stalled or stopped, 0 while healthy. [Channel, Encoder] and []. */
  encoderDown: 'EncoderDown',
  /** Age of an encoder's playlist, in target durations. [Channel, Encoder]. */
  playlistAge: 'PlaylistAgeTargetDurations',
  /** Segments an encoder is behind the other. [Channel, Encoder]. */
  segmentLag: 'SegmentLag',
  /** Count of rejected playlists. [Channel, Encoder] and []. */
  invalidPlaylists: 'InvalidPlaylists',
  /** Count of failed executions, counted by the workflow itself. []. */
  workflowFailures: 'WorkflowFailures',
  /** Count of watchdog runs. []. */
  watchdogRuns: 'WatchdogRuns',
  /** Count of index.m3u8 writes (MergeIndex wrote changed bytes). [Channel]. */
  indexWrites: 'IndexWrites',
  /** Count of steering.json writes (MergeIndex wrote changed bytes). [Channel]. */
  steeringWrites: 'SteeringWrites',
} as const;

export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

export interface MetricDatum {
  readonly name: MetricName;
  readonly value: number;
  readonly unit: 'Count' | 'None';
  /** Dimension values; the datum is also published without dimensions when `aggregate` is set. */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly aggregate?: boolean;
}

/** Per encoder: down (0/1), worst playlist age in target durations, and lag behind the other encoder. */
export function healthMetrics(channel: string, health: ChannelHealth, now: number): MetricDatum[] {
  const data: MetricDatum[] = [];
  const encoders = Object.keys(health.encoders);
  for (const encoder of encoders) {
    const h = health.encoders[encoder];
    if (h === undefined || h.status === 'unknown') continue;
    const dimensions = { Channel: channelLabel(channel), Encoder: encoder };
    const down = h.status === 'stalled' || (h.status === 'ended' && !health.ended) ? 1 : 0;
    data.push({ name: 'EncoderDown', value: down, unit: 'None', dimensions, aggregate: true });
    const renditions = Object.entries(h.renditions);
    const age = Math.max(
      0,
      ...renditions.map(([, r]) => (now - r.lastModified) / 1000 / (r.targetDuration || 1)),
    );
    data.push({
      name: 'PlaylistAgeTargetDurations',
      value: Math.round(age * 100) / 100,
      unit: 'None',
      dimensions,
    });
    const other = encoders.find((e) => e !== encoder);
    const lag = Math.max(
      0,
      ...renditions.map(([name, r]) => {
        const theirs = other === undefined ? undefined : health.encoders[other]?.renditions[name];
        return theirs === undefined ? 0 : theirs.lastSequence - r.lastSequence;
      }),
    );
    data.push({ name: 'SegmentLag', value: lag, unit: 'Count', dimensions });
  }
  return data;
}

/**
 * What one MergeIndex run wrote: IndexWrites and SteeringWrites, 1 for each object whose bytes
 * changed; nothing when it wrote nothing.
 */
export function writeMetrics(
  channel: string,
  written: { readonly index: boolean; readonly steering: boolean },
): MetricDatum[] {
  const dimensions = { Channel: channelLabel(channel) };
  const data: MetricDatum[] = [];
  if (written.index) data.push({ name: 'IndexWrites', value: 1, unit: 'Count', dimensions });
  if (written.steering) data.push({ name: 'SteeringWrites', value: 1, unit: 'Count', dimensions });
  return data;
}

/**
 * EMF documents (one per dimension set) for a batch of data; each is one log line for
 * CloudWatch Logs to turn into metrics.
 */
export function toEmf(namespace: string, data: readonly MetricDatum[], timestamp: number): string[] {
  const groups = new Map<string, { dimensions: Record<string, string>; values: Map<string, MetricDatum> }>();
  const add = (dimensions: Record<string, string>, d: MetricDatum) => {
    const key = JSON.stringify(dimensions);
    const group = groups.get(key) ?? { dimensions, values: new Map() };
    const existing = group.values.get(d.name);
    // Several data of one name and dimensions in one batch: keep the worst (max) for health, the sum for counts.
    const value =
      existing === undefined
        ? d.value
        : d.unit === 'Count' && d.name !== 'SegmentLag'
          ? existing.value + d.value
          : Math.max(existing.value, d.value);
    group.values.set(d.name, { ...d, value });
    groups.set(key, group);
  };
  for (const d of data) {
    add({ ...d.dimensions }, d);
    if (d.aggregate && Object.keys(d.dimensions).length > 0) add({}, d);
  }
  return [...groups.values()].map(({ dimensions, values }) =>
    JSON.stringify({
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: namespace,
            Dimensions: [Object.keys(dimensions)],
            Metrics: [...values.values()].map((d) => ({ Name: d.name, Unit: d.unit })),
          },
        ],
      },
      ...dimensions,
      ...Object.fromEntries([...values.values()].map((d) => [d.name, d.value])),
    }),
  );
}
