/**
 * On-call: the encrypted alert topic, the alarms behind the workflow's own alerts, the dashboard and
 * the stack outputs.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { HlsFailoverApp } from '../../../infra/create-app';
import { logicalId, synthesize } from './support';

let built: HlsFailoverApp;
let template: Template;
let topicId: string;

/** encoder-down, invalid-playlists, workflow-failures, executions-failed, executions-timed-out, undelivered-events, watchdog-silent. */
const BASE_ALARMS = 7;

beforeAll(() => {
  ({ template, ...built } = synthesize({
    alertEmails: 'oncall@example.com,lead@example.com',
    channels: 'news,sport',
  }));
  topicId = logicalId(built, built.stack.alertTopic);
});

/** The alarm whose name ends with this suffix. */
function alarm(suffix: string) {
  const found = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) =>
    String(a.Properties.AlarmName).endsWith(suffix),
  );
  expect(found).toHaveLength(1);
  return found[0]?.Properties;
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
  it('cover the aggregate metrics, the state machine, the DLQ, the watchdog, and every channel × encoder', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', BASE_ALARMS + 2 * 2);
  });

  it('all notify the alert topic, on alarm and on recovery', () => {
    for (const a of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
  });

  it('name the alert kind and the README runbook anchor in their description; the workflow ones say WORKFLOW FAILING', () => {
    for (const a of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(a.Properties.AlarmDescription).toMatch(
        /^[A-Z][A-Z ]+: .+ Runbook: hls-failover README\.md#runbook-[a-z-]+\.$/,
      );
    }
    for (const suffix of [
      '-workflow-failures',
      '-executions-failed',
      '-executions-timed-out',
      '-undelivered-events',
      '-watchdog-silent',
    ]) {
      expect(alarm(suffix).AlarmDescription).toMatch(
        /^WORKFLOW FAILING: [\s\S]*#runbook-workflow-failing\.$/,
      );
    }
    expect(alarm('-invalid-playlists').AlarmDescription).toMatch(/^INVALID PLAYLIST: /);
  });

  it('fire when any encoder is down (aggregate EncoderDown Maximum ≥ 1 in one minute)', () => {
    expect(alarm('-encoder-down')).toMatchObject({
      Namespace: 'HlsFailover',
      MetricName: 'EncoderDown',
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(alarm('-encoder-down').Dimensions).toBeUndefined();
  });

  it('fire per channel and encoder for the configured channels', () => {
    for (const channel of ['news', 'sport']) {
      for (const encoder of ['primary', 'failover']) {
        expect(alarm(`-encoder-down-${channel}-${encoder}`)).toMatchObject({
          MetricName: 'EncoderDown',
          Statistic: 'Maximum',
          Threshold: 1,
          Dimensions: [
            { Name: 'Channel', Value: channel },
            { Name: 'Encoder', Value: encoder },
          ],
        });
      }
    }
  });

  it('fire on any invalid playlist and any counted workflow failure', () => {
    for (const [suffix, metricName] of [
      ['-invalid-playlists', 'InvalidPlaylists'],
      ['-workflow-failures', 'WorkflowFailures'],
    ]) {
      expect(alarm(suffix as string)).toMatchObject({
        Namespace: 'HlsFailover',
        MetricName: metricName,
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it('fire on failed and timed-out executions of this state machine', () => {
    const stateMachine = {
      Name: 'StateMachineArn',
      Value: { Ref: logicalId(built, built.stack.stateMachine) },
    };
    for (const [suffix, metricName] of [
      ['-executions-failed', 'ExecutionsFailed'],
      ['-executions-timed-out', 'ExecutionsTimedOut'],
    ]) {
      expect(alarm(suffix as string)).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: metricName,
        Dimensions: [stateMachine],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it('fire when an event waits in the dead-letter queue', () => {
    expect(alarm('-undelivered-events')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(built, built.stack.deadLetterQueue), 'QueueName'] },
        },
      ],
      Threshold: 1,
    });
  });

  it('fire when the watchdog stays silent for three runs (5 minutes at least), missing data included', () => {
    expect(alarm('-watchdog-silent')).toMatchObject({
      MetricName: 'WatchdogRuns',
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    const { template: slow } = synthesize({ watchdogRateMinutes: 10 });
    slow.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'WatchdogRuns',
      Period: 1800,
      TreatMissingData: 'breaching',
    });
  });
});

describe('the dashboard', () => {
  it('shows per channel and encoder health, aggregates and the execution metrics', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(
      Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties.DashboardBody,
    );
    for (const text of [
      'EncoderDown',
      'PlaylistAgeTargetDurations',
      'SegmentLag',
      'IndexWrites',
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
