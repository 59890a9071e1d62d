/**
 * CloudWatch alarms and the operations dashboard.
 *
 * The alarms page only for what the workflow cannot report itself. Encoder incidents and rejected
 * playlists page through the workflow's own SNS alerts: one per incident, per channel and encoder,
 * for every channel (configured or not), and a recovery notice when the incident ends
 * (functions/alerts.ts). An alarm on EncoderDown or InvalidPlaylists would page a second time for
 * the same incident, and an all-channel one would stay in ALARM through a second channel's incident
 * and never page it. What is left for alarms: the workflow failing, an alert it could not send,
 * events that never started it, and a silent watchdog; each pages once per incident and clears
 * itself (OK notification) when the incident ends.
 */
import { Annotations, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type RunbookKind, runbookAnchor } from '../../functions/alerts';
import { METRIC_NAMES } from '../../functions/metrics';
import type { FailoverFunction } from './failover-function';

/** An alarm description: the alert kind it stands for, what it means, and where the runbook is. */
export function alarmDescription(kind: RunbookKind, meaning: string, check?: string): string {
  return `${kind}: ${meaning}${check === undefined ? '' : ` Check: ${check}`} Runbook: hls-failover ${runbookAnchor(kind)}.`;
}

/**
 * Metrics that metric filters count from the state machine's execution log (one per terminal
 * event). The AWS/States metrics cannot tell a failure by its error name.
 */
export const EXECUTION_LOG_METRICS = {
  /** Executions that failed, timed out or were aborted, whatever the error. */
  failed: 'FailedExecutions',
  /** Executions that failed as PlaylistInvalid: a rejected playlist, which the workflow alerts itself. */
  rejectedPlaylist: 'RejectedPlaylistExecutions',
  /** Executions that failed as NotifyFailed: an alert that could not be published. */
  unsentAlert: 'UnsentAlertExecutions',
} as const;

/**
 * A sustained problem pages, a blip does not: the workflow retries every step, and the next event
 * or watchdog run (at most a minute away) redoes what one execution could not. Over one-minute
 * periods, a minute with at least one failure is breaching; the alarm pages when 3 of the last 5
 * minutes are, and clears after 3 minutes without any.
 */
export const SUSTAINED = { evaluationPeriods: 5, datapointsToAlarm: 3 } as const;

/** One line per channel and encoder, named by its dimensions (a CloudWatch dynamic label, not a template). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: CloudWatch fills in ${PROP(...)}, not JavaScript.
export const PER_ENCODER_LABEL = "${PROP('Dim.Channel')} ${PROP('Dim.Encoder')}";

export interface HealthMonitoringProps {
  /** CloudWatch namespace of the workflow's metrics. */
  readonly namespace: string;
  /** Channels that get their own dashboard widgets. @default - none */
  readonly channels?: readonly string[];
  /** The encoder folder names (the Encoder dimension). */
  readonly encoders: readonly string[];
  /** Where alarms notify. */
  readonly topic: sns.ITopic;
  /** The workflow. */
  readonly stateMachine: sfn.StateMachine;
  /**
   * The state machine's execution log, where it logs at least its FATAL events (ExecutionFailed,
   * ExecutionTimedOut, ExecutionAborted), to count failures by error name.
   * @default - none (logLevel OFF): workflow-failing counts every failed execution, rejected
   * playlists and unsent alerts included, and there is no unsent-alerts alarm
   */
  readonly executionLog?: logs.ILogGroup;
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
  /** Every alarm that notifies the topic (on ALARM and on OK). */
  readonly pagingAlarms: cloudwatch.AlarmBase[] = [];
  /** The dashboard. */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: HealthMonitoringProps) {
    super(scope, id);
    const prefix = props.namePrefix ?? Stack.of(this).stackName;
    const minute = Duration.minutes(1);
    const metric = (
      metricName: string,
      statistic: string,
      dimensionsMap: Record<string, string> = {},
      period = minute,
    ) => new cloudwatch.Metric({ namespace: props.namespace, metricName, statistic, dimensionsMap, period });
    const topicAction = new actions.SnsAction(props.topic);
    const page = <T extends cloudwatch.AlarmBase>(a: T): T => {
      a.addAlarmAction(topicAction);
      a.addOkAction(topicAction);
      this.pagingAlarms.push(a);
      return a;
    };
    const alarm = (
      alarmId: string,
      name: string,
      description: string,
      m: cloudwatch.IMetric,
      // How missing data counts is every alarm's own, deliberate choice.
      options: Required<Pick<cloudwatch.AlarmProps, 'treatMissingData'>> &
        Partial<Omit<cloudwatch.AlarmProps, 'metric' | 'alarmName' | 'alarmDescription'>>,
    ) =>
      new cloudwatch.Alarm(this, alarmId, {
        metric: m,
        alarmName: `${prefix}-${name}`,
        alarmDescription: description,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        ...options,
      });
    // No failure in a minute writes no data point: missing data is a quiet minute.
    const quietWhenMissing = { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING };
    const audit =
      'hls-failover audit --stack <stack> --kind failures --since 1h (the failing step and its cause).';
    const inMostMinutes = `in at least ${SUSTAINED.datapointsToAlarm} of the last ${SUSTAINED.evaluationPeriods} minutes`;
    const clearsAfter = `Clears after ${SUSTAINED.evaluationPeriods - SUSTAINED.datapointsToAlarm + 1} minutes without`;

    const failures = this.failureMetrics(props);
    const workflowFailing = page(
      alarm(
        'WorkflowFailingAlarm',
        'workflow-failing',
        alarmDescription(
          'WORKFLOW FAILING',
          `executions of the failover workflow failed or timed out ${inMostMinutes}${failures.byErrorName ? ' (rejected playlists and unsent alerts not counted: they notify on their own)' : ' (every failed execution counted, rejected playlists included: the execution log is OFF)'}; an encoder incident may go unhandled. ${clearsAfter} one.`,
          audit,
        ),
        failures.failing,
        { ...SUSTAINED, ...quietWhenMissing },
      ),
    );
    if (failures.unsentAlerts !== undefined) {
      // Each data point is an incident nobody was told about: one is enough.
      page(
        alarm(
          'UnsentAlertsAlarm',
          'unsent-alerts',
          alarmDescription(
            'WORKFLOW FAILING',
            'the workflow could not publish an alert (NotifyFailed after its retries): an incident of some channel was not notified. Clears after a minute without one.',
            `${audit} The lost alert is in that execution's $.health.alerts; hls-failover status --stack <stack> shows every channel now.`,
          ),
          failures.unsentAlerts,
          quietWhenMissing,
        ),
      );
    }
    // New messages, not the queue depth: the queue keeps events 14 days for replay, and an alarm on
    // its depth would stay in ALARM that long.
    const undeliveredEvents = page(
      alarm(
        'UndeliveredEventsAlarm',
        'undelivered-events',
        alarmDescription(
          'WORKFLOW FAILING',
          `EventBridge could not start the workflow for some events ${inMostMinutes}; they went to the dead-letter queue (kept 14 days for replay). ${clearsAfter} new ones.`,
          "the DLQ messages' ERROR_CODE and ERROR_MESSAGE attributes and the state machine's ExecutionThrottled metric; then hls-failover replay --stack <stack> --key <key>.",
        ),
        props.deadLetterQueue.metricNumberOfMessagesSent({ period: minute, statistic: 'Sum' }),
        { ...SUSTAINED, ...quietWhenMissing },
      ),
    );
    // Three missed runs (at least five minutes) of silence: the schedule, the rule or the workflow is
    // broken. Missing data is silence. Silence that workflow-failing or undelivered-events already
    // paged for (the watchdog's executions fail, or never start) does not page again.
    const silentMinutes = Math.max(5, 3 * props.watchdogRateMinutes);
    const watchdogRunsMissing = alarm(
      'WatchdogRunsMissingAlarm',
      'watchdog-runs-missing',
      alarmDescription(
        'WORKFLOW FAILING',
        `no watchdog run completed in the last ${silentMinutes} minutes. Notifies nobody itself: ${prefix}-watchdog-silent pages for it unless ${prefix}-workflow-failing or ${prefix}-undelivered-events is in ALARM.`,
      ),
      metric(METRIC_NAMES.watchdogRuns, 'Sum', {}, Duration.minutes(silentMinutes)),
      {
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      },
    );
    const { ALARM } = cloudwatch.AlarmState;
    const alarmRule = cloudwatch.AlarmRule;
    page(
      new cloudwatch.CompositeAlarm(this, 'WatchdogSilentAlarm', {
        compositeAlarmName: `${prefix}-watchdog-silent`,
        alarmDescription: alarmDescription(
          'WORKFLOW FAILING',
          `the watchdog has not completed a run for ${silentMinutes} minutes, and neither workflow-failing nor undelivered-events explains it: encoders that go silent would go unnoticed. Clears with the next watchdog run.`,
          `the watchdog EventBridge rule is enabled; ${audit}`,
        ),
        alarmRule: alarmRule.allOf(
          alarmRule.fromAlarm(watchdogRunsMissing, ALARM),
          alarmRule.not(alarmRule.fromAlarm(workflowFailing, ALARM)),
          alarmRule.not(alarmRule.fromAlarm(undeliveredEvents, ALARM)),
        ),
      }),
    );

    this.dashboard = this.buildDashboard(props, prefix, metric, failures.failing);
  }

  /**
   * Failed executions by error name, counted from the execution log; without it, from AWS/States
   * (every failure, whatever its error).
   */
  private failureMetrics(props: HealthMonitoringProps): {
    readonly failing: cloudwatch.IMetric;
    readonly unsentAlerts?: cloudwatch.IMetric;
    readonly byErrorName: boolean;
  } {
    const period = Duration.minutes(1);
    const logGroup = props.executionLog;
    if (logGroup === undefined) {
      Annotations.of(this).addWarningV2(
        'hls-failover:alarms-without-execution-log',
        'logLevel OFF: the workflow-failing alarm cannot tell a rejected playlist (PlaylistInvalid) or an unsent alert (NotifyFailed) from other failures, and there is no unsent-alerts alarm. Use logLevel FATAL or higher.',
      );
      const sm = props.stateMachine;
      return {
        byErrorName: false,
        failing: new cloudwatch.MathExpression({
          expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
          usingMetrics: {
            failed: sm.metricFailed({ statistic: 'Sum' }),
            timedOut: sm.metricTimedOut({ statistic: 'Sum' }),
            aborted: sm.metricAborted({ statistic: 'Sum' }),
          },
          period,
          label: 'Failed executions',
        }),
      };
    }
    const { stringValue, all, any } = logs.FilterPattern;
    const failedWith = (error: string) =>
      all(stringValue('$.type', '=', 'ExecutionFailed'), stringValue('$.details.error', '=', error));
    const count = (filterId: string, metricName: string, filterPattern: logs.IFilterPattern) =>
      new logs.MetricFilter(this, filterId, {
        logGroup,
        metricNamespace: props.namespace,
        metricName,
        metricValue: '1',
        filterPattern,
        filterName: metricName,
      }).metric({ statistic: 'Sum', period });
    const failed = count(
      'FailedExecutionsFilter',
      EXECUTION_LOG_METRICS.failed,
      any(
        ...['ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted'].map((type) =>
          stringValue('$.type', '=', type),
        ),
      ),
    );
    const rejected = count(
      'RejectedPlaylistExecutionsFilter',
      EXECUTION_LOG_METRICS.rejectedPlaylist,
      failedWith('PlaylistInvalid'),
    );
    const unsent = count(
      'UnsentAlertExecutionsFilter',
      EXECUTION_LOG_METRICS.unsentAlert,
      failedWith('NotifyFailed'),
    );
    return {
      byErrorName: true,
      // One log event feeds both sides of the subtraction, so they fall in the same minute. A log
      // without error names (never seen) makes this count every failure, not none.
      failing: new cloudwatch.MathExpression({
        expression: 'failed - FILL(rejected, 0) - FILL(unsent, 0)',
        usingMetrics: { failed, rejected, unsent },
        period,
        label: 'Failed executions (not PlaylistInvalid or NotifyFailed)',
      }),
      unsentAlerts: unsent,
    };
  }

  private buildDashboard(
    props: HealthMonitoringProps,
    prefix: string,
    metric: (name: string, statistic: string, dimensions?: Record<string, string>) => cloudwatch.Metric,
    failing: cloudwatch.IMetric,
  ): cloudwatch.Dashboard {
    const minute = Duration.minutes(1);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${prefix}-${Stack.of(this).region}`,
      defaultInterval: Duration.hours(3),
    });
    const graph = (title: string, left: cloudwatch.IMetric[], width = 8) =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6 });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.pagingAlarms, width: 24, height: 3 }),
    );
    // Every channel, configured or not (CloudWatch Metrics Insights).
    const everyEncoder = (statistic: string, metricName: string) =>
      new cloudwatch.MathExpression({
        expression: `SELECT ${statistic}(${metricName}) FROM SCHEMA("${props.namespace}", Channel, Encoder) GROUP BY Channel, Encoder`,
        period: minute,
        label: PER_ENCODER_LABEL,
      });
    dashboard.addWidgets(
      graph('Encoder down, every channel', [everyEncoder('MAX', METRIC_NAMES.encoderDown)]),
      graph('Invalid playlists / failed executions', [
        metric(METRIC_NAMES.invalidPlaylists, 'Sum'),
        metric(METRIC_NAMES.workflowFailures, 'Sum'),
        failing,
      ]),
      graph('Watchdog runs', [metric(METRIC_NAMES.watchdogRuns, 'Sum')]),
    );
    const sm = props.stateMachine;
    dashboard.addWidgets(
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
        [
          props.deadLetterQueue.metricNumberOfMessagesSent({
            period: minute,
            statistic: 'Sum',
            label: 'new',
          }),
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: minute,
            label: 'waiting',
          }),
        ],
        6,
      ),
    );
    const fns = props.functions ?? [];
    if (fns.length > 0) {
      dashboard.addWidgets(
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
    for (const channel of new Set(props.channels ?? [])) {
      const perEncoder = (metricName: string, statistic: string) =>
        props.encoders.map((encoder) =>
          metric(metricName, statistic, { Channel: channel, Encoder: encoder }).with({ label: encoder }),
        );
      dashboard.addWidgets(
        new cloudwatch.TextWidget({ markdown: `## Channel \`${channel}\``, width: 24, height: 1 }),
      );
      dashboard.addWidgets(
        graph(`${channel}: encoder down`, perEncoder(METRIC_NAMES.encoderDown, 'Maximum'), 6),
        graph(
          `${channel}: playlist age (target durations)`,
          perEncoder(METRIC_NAMES.playlistAge, 'Maximum'),
          6,
        ),
        graph(`${channel}: segment lag`, perEncoder(METRIC_NAMES.segmentLag, 'Maximum'), 6),
        graph(
          `${channel}: index and steering writes`,
          [
            metric(METRIC_NAMES.indexWrites, 'Sum', { Channel: channel }).with({ label: 'index.m3u8' }),
            metric(METRIC_NAMES.steeringWrites, 'Sum', { Channel: channel }).with({ label: 'steering.json' }),
          ],
          6,
        ),
      );
    }
    return dashboard;
  }
}
