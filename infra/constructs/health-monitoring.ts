/**
 * CloudWatch alarms (the backstop behind the workflow's own SNS alerts) and the operations dashboard,
 * from the metrics the PublishMetrics Lambda writes in the embedded metric format.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type RunbookKind, runbookAnchor } from '../../functions/alerts';
import type { FailoverFunction } from './failover-function';

/** An alarm description: the alert kind it stands for, what it means, and where the runbook is. */
export function alarmDescription(kind: RunbookKind, meaning: string, check?: string): string {
  return `${kind}: ${meaning}${check === undefined ? '' : ` Check: ${check}`} Runbook: hls-failover ${runbookAnchor(kind)}.`;
}

/** The metric names the workflow emits (CloudWatch embedded metric format). */
export const HEALTH_METRICS = {
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
  /** Count of index.m3u8 writes. [Channel]. */
  indexWrites: 'IndexWrites',
} as const;

export interface HealthMonitoringProps {
  /** CloudWatch namespace of the workflow's metrics. */
  readonly namespace: string;
  /** Channels that get per-channel alarms and widgets. @default - none (aggregate alarms only) */
  readonly channels?: readonly string[];
  /** The encoder folder names (the Encoder dimension). */
  readonly encoders: readonly string[];
  /** Where alarms notify. */
  readonly topic: sns.ITopic;
  /** The workflow. */
  readonly stateMachine: sfn.StateMachine;
  /** Dead-letter queue of the EventBridge targets. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Minutes between watchdog runs. */
  readonly watchdogRateMinutes: number;
  /** The workflow's Lambdas, for the dashboard. @default - none */
  readonly functions?: readonly FailoverFunction[];
  /** Prefix of alarm and dashboard names. @default - the stack name */
  readonly namePrefix?: string;
}

/** Alarms and dashboard. */
export class HealthMonitoring extends Construct {
  /** Every alarm, by construct id. */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** The dashboard. */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: HealthMonitoringProps) {
    super(scope, id);
    const prefix = props.namePrefix ?? Stack.of(this).stackName;
    const channels = [...new Set(props.channels ?? [])];
    const minute = Duration.minutes(1);
    const metric = (
      metricName: string,
      statistic: string,
      dimensionsMap: Record<string, string> = {},
      period = minute,
    ) => new cloudwatch.Metric({ namespace: props.namespace, metricName, statistic, dimensionsMap, period });
    const alarmAction = new actions.SnsAction(props.topic);
    const alarm = (
      alarmId: string,
      name: string,
      description: string,
      m: cloudwatch.IMetric,
      options: Partial<cloudwatch.CreateAlarmOptions> = {},
    ) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        metric: m,
        alarmName: `${prefix}-${name}`,
        alarmDescription: description,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...options,
      });
      a.addAlarmAction(alarmAction);
      a.addOkAction(alarmAction);
      this.alarms.push(a);
      return a;
    };

    alarm(
      'EncoderDownAlarm',
      'encoder-down',
      alarmDescription(
        'STALLED',
        'an encoder of some channel is stalled or stopped (backstop of the workflow alerts); viewers were steered to the other encoder.',
        'hls-failover status --stack <stack>.',
      ),
      metric(HEALTH_METRICS.encoderDown, 'Maximum'),
    );
    channels.forEach((channel, c) => {
      props.encoders.forEach((encoder, e) => {
        alarm(
          `EncoderDownAlarm${c}x${e}`,
          `encoder-down-${channel}-${encoder}`,
          alarmDescription(
            'STALLED',
            `encoder "${encoder}" of channel "${channel}" is stalled or stopped.`,
            `hls-failover status --stack <stack>; hls-failover audit --stack <stack> --channel ${channel} --since 1h.`,
          ),
          metric(HEALTH_METRICS.encoderDown, 'Maximum', { Channel: channel, Encoder: encoder }),
        );
      });
    });
    alarm(
      'InvalidPlaylistsAlarm',
      'invalid-playlists',
      alarmDescription(
        'INVALID PLAYLIST',
        'an encoder wrote a playlist that breaks RFC 8216; it was not used.',
        'hls-failover audit --stack <stack> --kind failures --since 1h (every violation is in the cause).',
      ),
      metric(HEALTH_METRICS.invalidPlaylists, 'Sum'),
    );
    alarm(
      'WorkflowFailuresAlarm',
      'workflow-failures',
      alarmDescription(
        'WORKFLOW FAILING',
        'a step of the failover workflow failed after its retries (S3, Lambda or state contention).',
        'hls-failover audit --stack <stack> --kind failures --since 1h.',
      ),
      metric(HEALTH_METRICS.workflowFailures, 'Sum'),
    );
    alarm(
      'ExecutionsFailedAlarm',
      'executions-failed',
      alarmDescription(
        'WORKFLOW FAILING',
        'executions of the failover state machine failed. Invalid playlists fail their execution too (PlaylistInvalid): if only invalid-playlists alarms with it, see INVALID PLAYLIST.',
        'hls-failover audit --stack <stack> --kind failures --since 1h.',
      ),
      props.stateMachine.metricFailed({ period: minute, statistic: 'Sum' }),
    );
    alarm(
      'ExecutionsTimedOutAlarm',
      'executions-timed-out',
      alarmDescription(
        'WORKFLOW FAILING',
        'executions of the failover state machine timed out.',
        'hls-failover audit --stack <stack> --kind failures --since 1h.',
      ),
      props.stateMachine.metricTimedOut({ period: minute, statistic: 'Sum' }),
    );
    alarm(
      'DeadLetterAlarm',
      'undelivered-events',
      alarmDescription(
        'WORKFLOW FAILING',
        'EventBridge could not start the workflow for some events; they wait in the dead-letter queue (14 days).',
        'the DLQ messages (their ERROR_CODE attribute), the state machine throttling metrics; then hls-failover replay --stack <stack> --key <key>.',
      ),
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
    );
    // Three missed runs (at least five minutes) of silence: the schedule, the rule or the workflow is broken.
    const silentMinutes = Math.max(5, 3 * props.watchdogRateMinutes);
    alarm(
      'WatchdogSilentAlarm',
      'watchdog-silent',
      alarmDescription(
        'WORKFLOW FAILING',
        `the watchdog has not run for ${silentMinutes} minutes: silent encoders would go unnoticed.`,
        'the watchdog EventBridge rule is enabled; hls-failover audit --stack <stack> --kind failures --since 1h.',
      ),
      metric(HEALTH_METRICS.watchdogRuns, 'Sum', {}, Duration.minutes(silentMinutes)),
      {
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      },
    );

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${prefix}-${Stack.of(this).region}`,
      defaultInterval: Duration.hours(3),
    });
    const graph = (title: string, left: cloudwatch.IMetric[], width = 8) =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6 });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      graph('Encoder down (any channel)', [metric(HEALTH_METRICS.encoderDown, 'Maximum')]),
      graph('Invalid playlists / workflow failures', [
        metric(HEALTH_METRICS.invalidPlaylists, 'Sum'),
        metric(HEALTH_METRICS.workflowFailures, 'Sum'),
      ]),
      graph('Watchdog runs', [metric(HEALTH_METRICS.watchdogRuns, 'Sum')]),
    );
    const sm = props.stateMachine;
    this.dashboard.addWidgets(
      graph(
        'Executions',
        [
          sm.metricStarted({ period: minute }),
          sm.metricSucceeded({ period: minute }),
          sm.metricFailed({ period: minute }),
          sm.metricTimedOut({ period: minute }),
          sm.metricThrottled({ period: minute }),
        ],
        12,
      ),
      graph('Execution time (p99)', [sm.metricTime({ period: minute, statistic: 'p99' })], 6),
      graph(
        'Undelivered events (DLQ)',
        [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) })],
        6,
      ),
    );
    const fns = props.functions ?? [];
    if (fns.length > 0) {
      this.dashboard.addWidgets(
        graph(
          'Lambda errors',
          fns.map((f) => f.function.metricErrors({ period: minute, label: f.node.id })),
          12,
        ),
        graph(
          'Lambda duration (p99)',
          fns.map((f) => f.function.metricDuration({ period: minute, statistic: 'p99', label: f.node.id })),
          12,
        ),
      );
    }
    for (const channel of channels) {
      const perEncoder = (metricName: string, statistic: string) =>
        props.encoders.map((encoder) =>
          metric(metricName, statistic, { Channel: channel, Encoder: encoder }).with({ label: encoder }),
        );
      this.dashboard.addWidgets(
        new cloudwatch.TextWidget({ markdown: `## Channel \`${channel}\``, width: 24, height: 1 }),
      );
      this.dashboard.addWidgets(
        graph(`${channel}: encoder down`, perEncoder(HEALTH_METRICS.encoderDown, 'Maximum'), 6),
        graph(
          `${channel}: playlist age (target durations)`,
          perEncoder(HEALTH_METRICS.playlistAge, 'Maximum'),
          6,
        ),
        graph(`${channel}: segment lag`, perEncoder(HEALTH_METRICS.segmentLag, 'Maximum'), 6),
        graph(
          `${channel}: index writes`,
          [metric(HEALTH_METRICS.indexWrites, 'Sum', { Channel: channel })],
          6,
        ),
      );
    }
  }
}
