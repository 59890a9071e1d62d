/**
 * On-call: the encrypted alert topic, the alarms behind the workflow's own alerts, the dashboard and
 * the stack outputs.
 */
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { FAILURE_EVENTS } from '../../../cli/audit';
import { PER_ENCODER_LABEL } from '../../../infra/constructs/health-monitoring';
import type { HlsFailoverApp } from '../../../infra/create-app';
import { logicalId, synthesize } from './support';

let built: HlsFailoverApp;
let template: Template;
let topicId: string;

/** Pages when a period has at least one. */
const AT_LEAST_ONE = { Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' };
/** Pages when 3 of the last 5 one-minute periods breach, not on one bad minute. */
const SUSTAINED_MINUTES = { Period: 60, EvaluationPeriods: 5, DatapointsToAlarm: 3 };

/** The alarms that notify the topic: what the workflow cannot report itself. */
const PAGING_ALARMS = ['workflow-failing', 'unsent-alerts', 'undelivered-events', 'watchdog-silent'];

beforeAll(() => {
  ({ template, ...built } = synthesize({
    alertEmails: 'oncall@example.com,lead@example.com',
    channels: 'news,sport',
  }));
  topicId = logicalId(built, built.stack.alertTopic);
});

type Properties = Record<string, unknown>;

/** Every metric and composite alarm of a template, by name. */
function alarmsOf(t: Template): Map<string, Properties> {
  const resources = {
    ...t.findResources('AWS::CloudWatch::Alarm'),
    ...t.findResources('AWS::CloudWatch::CompositeAlarm'),
  };
  return new Map(
    Object.values(resources).map((r) => [String(r.Properties.AlarmName), r.Properties as Properties]),
  );
}

/** The alarm `hls-failover-<name>`. */
function alarm(name: string, t: Template = template): Properties {
  const found = alarmsOf(t).get(`hls-failover-${name}`);
  if (found === undefined) throw new Error(`no alarm hls-failover-${name}`);
  return found;
}

/** The metric filter on the state machine's log group that counts `metricName`. */
function metricFilter(metricName: string): Properties {
  const found = Object.values(template.findResources('AWS::Logs::MetricFilter')).filter(
    (f) => f.Properties.MetricTransformations[0].MetricName === metricName,
  );
  expect(found).toHaveLength(1);
  return found[0]?.Properties as Properties;
}

describe('the alert topic', () => {
  it('is encrypted with a customer-managed key that rotates', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('lets CloudWatch alarms use the key and publish (alarms of this account only)', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
  });

  it('refuses publishing without TLS', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('e-mails every address of alertEmails', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    for (const address of ['oncall@example.com', 'lead@example.com']) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: address,
        TopicArn: { Ref: topicId },
      });
    }
  });
});

describe('alarms', () => {
  it('page only for what the workflow cannot report itself', () => {
    const paging = [...alarmsOf(template)].filter(([, a]) => a.AlarmActions !== undefined).map(([n]) => n);
    expect(paging.sort()).toEqual(PAGING_ALARMS.map((n) => `hls-failover-${n}`).sort());
  });

  it('never alarm on EncoderDown or InvalidPlaylists: the workflow alerts each incident once, per channel and encoder, and sends its recovery', () => {
    const watched = JSON.stringify(template.findResources('AWS::CloudWatch::Alarm'));
    for (const metricName of ['EncoderDown', 'InvalidPlaylists']) expect(watched).not.toContain(metricName);
    // Per-channel alarms would only repeat those alerts: the channels setting draws dashboard widgets.
    expect([...alarmsOf(template).keys()].filter((n) => /news|sport/.test(n))).toEqual([]);
  });

  it('notify the alert topic on alarm and on recovery, so each clears itself', () => {
    for (const name of PAGING_ALARMS) {
      expect(alarm(name)).toMatchObject({ AlarmActions: [{ Ref: topicId }], OKActions: [{ Ref: topicId }] });
    }
  });

  it('say what they mean, what to check and which README runbook to follow', () => {
    for (const [name, a] of alarmsOf(template)) {
      expect([name, a.AlarmDescription]).toEqual([
        name,
        expect.stringMatching(
          /^WORKFLOW FAILING: .+ Runbook: hls-failover README\.md#runbook-workflow-failing\.$/,
        ),
      ]);
    }
    for (const name of PAGING_ALARMS) expect(alarm(name).AlarmDescription).toContain(' Check: ');
  });

  it('each choose how missing data counts: a quiet minute for failure counts, silence for the watchdog', () => {
    for (const name of ['workflow-failing', 'unsent-alerts', 'undelivered-events']) {
      expect(alarm(name).TreatMissingData).toBe('notBreaching');
    }
    expect(alarm('watchdog-runs-missing').TreatMissingData).toBe('breaching');
  });

  it('workflow-failing: failed, timed-out or aborted executions in 3 of 5 minutes, not one failure in one minute', () => {
    expect(alarm('workflow-failing')).toMatchObject({
      ...AT_LEAST_ONE,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      Metrics: expect.arrayContaining([
        expect.objectContaining({
          Expression: 'failed - FILL(rejected, 0) - FILL(unsent, 0)',
          ReturnData: true,
        }),
        ...[
          ['failed', 'FailedExecutions'],
          ['rejected', 'RejectedPlaylistExecutions'],
          ['unsent', 'UnsentAlertExecutions'],
        ].map(([id, metricName]) =>
          expect.objectContaining({
            Id: id,
            ReturnData: false,
            MetricStat: {
              Metric: { Namespace: 'HlsFailover', MetricName: metricName },
              Period: 60,
              Stat: 'Sum',
            },
          }),
        ),
      ]),
    });
    expect(alarm('workflow-failing').Period).toBeUndefined();
  });

  it("count failures by error name from the state machine's execution log: a rejected playlist and an unsent alert are not 'workflow failing'", () => {
    const logGroup = { Ref: logicalId(built, built.stack.stateMachineLogGroup) };
    expect(metricFilter('FailedExecutions')).toMatchObject({
      LogGroupName: logGroup,
      // The terminal events `hls-failover audit --kind failures` lists from the same log.
      FilterPattern: `{ ${FAILURE_EVENTS.map((type) => `($.type = "${type}")`).join(' || ')} }`,
      MetricTransformations: [{ MetricNamespace: 'HlsFailover', MetricValue: '1' }],
    });
    for (const [metricName, error] of [
      ['RejectedPlaylistExecutions', 'PlaylistInvalid'],
      ['UnsentAlertExecutions', 'NotifyFailed'],
    ]) {
      expect(metricFilter(metricName as string)).toMatchObject({
        LogGroupName: logGroup,
        FilterPattern: `{ ($.type = "ExecutionFailed") && ($.details.error = "${error}") }`,
      });
    }
  });

  it('unsent-alerts: one alert the workflow could not publish pages at once (it is an incident nobody was told about)', () => {
    expect(alarm('unsent-alerts')).toMatchObject({
      Namespace: 'HlsFailover',
      MetricName: 'UnsentAlertExecutions',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      ...AT_LEAST_ONE,
    });
  });

  it('undelivered-events: new messages in the dead-letter queue in 3 of 5 minutes, not the depth (which stays for 14 days)', () => {
    expect(alarm('undelivered-events')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'NumberOfMessagesSent',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(built, built.stack.deadLetterQueue), 'QueueName'] },
        },
      ],
      Statistic: 'Sum',
      ...SUSTAINED_MINUTES,
      ...AT_LEAST_ONE,
    });
  });

  it('watchdog-silent: three missed runs (5 minutes at least) page, unless workflow-failing or undelivered-events already paged', () => {
    expect(alarm('watchdog-runs-missing')).toMatchObject({
      Namespace: 'HlsFailover',
      MetricName: 'WatchdogRuns',
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
    });
    expect(alarm('watchdog-runs-missing').AlarmActions).toBeUndefined();
    expect(alarm('watchdog-runs-missing').OKActions).toBeUndefined();
    const arn = (name: string) => {
      const [id] = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).find(
        ([, a]) => a.Properties.AlarmName === `hls-failover-${name}`,
      ) ?? [''];
      return { 'Fn::GetAtt': [id, 'Arn'] };
    };
    expect(alarm('watchdog-silent').AlarmRule).toEqual({
      'Fn::Join': [
        '',
        [
          '(ALARM("',
          arn('watchdog-runs-missing'),
          '") AND (NOT (ALARM("',
          arn('workflow-failing'),
          '"))) AND (NOT (ALARM("',
          arn('undelivered-events'),
          '"))))',
        ],
      ],
    });
    const { template: slow } = synthesize({ watchdogRateMinutes: 10 });
    expect(alarm('watchdog-runs-missing', slow)).toMatchObject({
      Period: 1800,
      TreatMissingData: 'breaching',
    });
  });

  it('with logLevel OFF, workflow-failing counts every failed execution from AWS/States and says so; no unsent-alerts alarm', () => {
    const off = synthesize({ logLevel: 'OFF' });
    const stateMachine = {
      Name: 'StateMachineArn',
      Value: { Ref: logicalId(off, off.stack.stateMachine) },
    };
    expect(alarm('workflow-failing', off.template)).toMatchObject({
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      AlarmDescription: expect.stringContaining('rejected playlists included'),
      Metrics: expect.arrayContaining([
        expect.objectContaining({ Expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)' }),
        ...['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'].map((metricName) =>
          expect.objectContaining({
            MetricStat: expect.objectContaining({
              Metric: { Namespace: 'AWS/States', MetricName: metricName, Dimensions: [stateMachine] },
            }),
          }),
        ),
      ]),
    });
    expect(alarmsOf(off.template).has('hls-failover-unsent-alerts')).toBe(false);
    off.template.resourceCountIs('AWS::Logs::MetricFilter', 0);
    expect(
      Annotations.fromStack(off.stack).findWarning(
        '*',
        Match.stringLikeRegexp('logLevel OFF: the workflow-failing alarm cannot tell'),
      ),
    ).toHaveLength(1);
  });
});

/** The dashboard body as JSON, with `<token>` for each reference CloudFormation fills in. */
function dashboardBody(): { widgets: { properties: { title?: string; metrics?: unknown[][] } }[] } {
  const body = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties
    .DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const parts = body['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : '<token>'));
  return JSON.parse(parts.join(''));
}

describe('the dashboard', () => {
  it('shows per channel and encoder health, aggregates and the execution metrics', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(dashboardBody());
    for (const text of [
      'EncoderDown',
      'PlaylistAgeTargetDurations',
      'SegmentLag',
      'IndexWrites',
      'SteeringWrites',
      'InvalidPlaylists',
      'WorkflowFailures',
      'WatchdogRuns',
      'ExecutionsStarted',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'news',
      'sport',
    ]) {
      expect(body).toContain(text);
    }
  });

  it('shows encoder down for every channel, configured or not (Metrics Insights, one line per channel and encoder)', () => {
    const widget = dashboardBody().widgets.find((w) => w.properties.title === 'Encoder down, every channel');
    expect(widget?.properties.metrics).toEqual([
      [
        {
          expression:
            'SELECT MAX(EncoderDown) FROM SCHEMA("HlsFailover", Channel, Encoder) GROUP BY Channel, Encoder',
          label: PER_ENCODER_LABEL,
          period: 60,
        },
      ],
    ]);
  });

  it("shows each configured channel's index.m3u8 and steering.json writes", () => {
    const widget = dashboardBody().widgets.find(
      (w) => w.properties.title === 'news: index and steering writes',
    );
    expect(widget?.properties.metrics).toEqual([
      ['HlsFailover', 'IndexWrites', 'Channel', 'news', { label: 'index.m3u8', period: 60, stat: 'Sum' }],
      [
        'HlsFailover',
        'SteeringWrites',
        'Channel',
        'news',
        { label: 'steering.json', period: 60, stat: 'Sum' },
      ],
    ]);
  });
});

describe('outputs', () => {
  it('give the playback URL pattern, bucket, topic, state machine, its log group and the dashboard URL', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'PlaybackUrlPattern',
        'BucketName',
        'AlertTopicArn',
        'StateMachineArn',
        'StateMachineLogGroup',
        'DashboardUrl',
      ]),
    );
    template.hasOutput('PlaybackUrlPattern', {
      Value: {
        'Fn::Join': [
          '',
          ['https://', { 'Fn::GetAtt': [Match.anyValue(), 'DomainName'] }, '/<channel>/index.m3u8'],
        ],
      },
    });
    expect(JSON.stringify(outputs.DashboardUrl?.Value)).toContain('#dashboards:name=');
    expect(JSON.stringify(outputs.DashboardUrl?.Value)).toContain('AWS::Region');
  });
});
