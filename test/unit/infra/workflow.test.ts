/**
 * The workflow on AWS: what starts it (playlist events, the watchdog schedule), the Express state
 * machine built from the one ASL file, and the Lambdas its Tasks call.
 */
import { readFileSync } from 'node:fs';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { parseSettings, STATE_TABLE_ENV, settingsToEnv } from '../../../functions/config';
import {
  placeholdersOf,
  STATE_MACHINE_FILE,
  WORKFLOW_FUNCTIONS,
  type WorkflowFunction,
} from '../../../functions/workflow';
import type { HlsFailoverApp } from '../../../infra/create-app';
import { FUNCTION_MEMORY_MB } from '../../../infra/stack';
import { asList, logicalId, policyStatements, synthesize } from './support';

/** `/aws/vendedlogs/states/<stackName>-<the UUID of the stack id>` (Step Functions' vended-logs prefix). */
const STATE_MACHINE_LOG_GROUP_NAME = {
  'Fn::Join': [
    '',
    [
      '/aws/vendedlogs/states/hls-failover-',
      { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] },
    ],
  ],
};

let built: HlsFailoverApp;
let template: Template;
let bucketId: string;

beforeAll(() => {
  ({ template, ...built } = synthesize());
  bucketId = logicalId(built, built.stack.bucket);
});

describe('playlist events start the workflow', () => {
  it('matches S3 "Object Created" for a .m3u8 under each encoder folder, with or without a channel', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [{ Ref: bucketId }] },
          object: {
            key: [
              { wildcard: 'primary/*.m3u8' },
              { wildcard: '*/primary/*.m3u8' },
              { wildcard: 'failover/*.m3u8' },
              { wildcard: '*/failover/*.m3u8' },
            ],
          },
        },
      },
    });
  });

  it('follows the configured encoder folder names', () => {
    const { template: custom } = synthesize({ encoders: 'cam-a,cam-b' });
    custom.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: Match.objectLike({
          object: {
            key: [
              { wildcard: 'cam-a/*.m3u8' },
              { wildcard: '*/cam-a/*.m3u8' },
              { wildcard: 'cam-b/*.m3u8' },
              { wildcard: '*/cam-b/*.m3u8' },
            ],
          },
        }),
      }),
    });
  });

  it('delivers to the state machine with a dedicated role, gives up on an event after two watchdog periods and keeps it in the DLQ', () => {
    const stateMachineId = logicalId(built, built.stack.stateMachine);
    const dlqId = logicalId(built, built.stack.deadLetterQueue);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.anyValue(),
      Targets: [
        Match.objectLike({
          Arn: { Ref: stateMachineId },
          RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventsRole'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 120 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
        }),
      ],
    });
  });

  it('lets the EventBridge role start this state machine and nothing else', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^EventsRole') }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'states:StartExecution',
            Resource: { Ref: logicalId(built, built.stack.stateMachine) },
          },
        ],
      },
    });
  });

  it('keeps undeliverable events 14 days in an SSE, SSL-only dead-letter queue', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
          }),
        ]),
      },
    });
  });
});

describe('the watchdog schedule', () => {
  it('runs every watchdogRateMinutes with the watchdog input (the shape the ASL routes on)', () => {
    const watchdog = Object.values(template.findResources('AWS::Events::Rule')).find(
      (r) => r.Properties.ScheduleExpression !== undefined,
    );
    expect(watchdog?.Properties.ScheduleExpression).toBe('rate(1 minute)');
    const target = watchdog?.Properties.Targets[0];
    expect(target.Arn).toEqual({ Ref: logicalId(built, built.stack.stateMachine) });
    expect(target.DeadLetterConfig).toEqual({
      Arn: { 'Fn::GetAtt': [logicalId(built, built.stack.deadLetterQueue), 'Arn'] },
    });
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 120 });
    const inputTemplate = JSON.stringify(target.Input);
    expect(inputTemplate).toContain('hls-failover.watchdog');
    expect(inputTemplate).toContain(bucketId);
  });

  it('uses the configured rate, and bounds the age of every event to two of its periods', () => {
    const { template: custom } = synthesize({ watchdogRateMinutes: '5' });
    custom.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    const policies = Object.values(custom.findResources('AWS::Events::Rule')).flatMap((r) =>
      (r.Properties.Targets as { RetryPolicy: unknown }[]).map((t) => t.RetryPolicy),
    );
    expect(policies).toEqual([
      { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 600 },
      { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 600 },
    ]);
  });
});

describe('the state machine', () => {
  it('is an EXPRESS machine that by default logs its errors (failed executions) with execution data, and traces nothing', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS',
      LoggingConfiguration: {
        Level: 'ERROR',
        IncludeExecutionData: true,
        Destinations: [
          {
            CloudWatchLogsLogGroup: {
              LogGroupArn: { 'Fn::GetAtt': [logicalId(built, built.stack.stateMachineLogGroup), 'Arn'] },
            },
          },
        ],
      },
      TracingConfiguration: { Enabled: false },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: STATE_MACHINE_LOG_GROUP_NAME,
      RetentionInDays: 365,
    });
  });

  it('keeps its log group on delete, under a name unique to each creation of the stack, so destroy then deploy (or a retried first deploy) does not fail with "already exists"', () => {
    const logGroup =
      template.findResources('AWS::Logs::LogGroup')[logicalId(built, built.stack.stateMachineLogGroup)];
    expect(logGroup).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { LogGroupName: STATE_MACHINE_LOG_GROUP_NAME },
    });
    template.hasOutput('StateMachineLogGroup', {
      Value: { Ref: logicalId(built, built.stack.stateMachineLogGroup) },
    });
  });

  it('outputs the audit log group: PublishHealthMetrics’ own, kept on delete like the execution log', () => {
    const publishLogs = built.stack.functions.publishMetrics.logGroup;
    expect(built.stack.auditLogGroup).toBe(publishLogs);
    template.hasOutput('AuditLogGroup', { Value: { Ref: logicalId(built, publishLogs) } });
    expect(template.findResources('AWS::Logs::LogGroup')[logicalId(built, publishLogs)]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: { RetentionInDays: 365 },
    });
  });

  it('takes the log level, execution data and tracing from the settings', () => {
    const { template: custom } = synthesize({
      logLevel: 'ALL',
      logExecutionData: 'false',
      logRetentionDays: 30,
      tracing: 'true',
    });
    custom.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
      TracingConfiguration: { Enabled: true },
    });
    for (const fn of Object.values(custom.findResources('AWS::Lambda::Function')))
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    custom.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: STATE_MACHINE_LOG_GROUP_NAME,
      RetentionInDays: 30,
    });
  });

  it('deploys the ASL file itself (an S3 asset), not a definition rebuilt in code', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionS3Location: Match.objectLike({ Key: Match.stringLikeRegexp('\\.json$') }),
      DefinitionString: Match.absent(),
    });
  });

  it('has exactly one substitution per placeholder of the ASL file', () => {
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    const substitutions = machine?.Properties.DefinitionSubstitutions as Record<string, unknown>;
    const placeholders = placeholdersOf(readFileSync(STATE_MACHINE_FILE, 'utf8'));
    expect(new Set(Object.keys(substitutions))).toEqual(placeholders);
  });

  it('fills each function placeholder with that function and the topic placeholder with the alert topic', () => {
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    const substitutions = machine?.Properties.DefinitionSubstitutions as Record<string, unknown>;
    for (const [name, { placeholder }] of Object.entries(WORKFLOW_FUNCTIONS)) {
      const fn = built.stack.functions[name as keyof typeof WORKFLOW_FUNCTIONS].function;
      expect(substitutions[placeholder]).toEqual({ 'Fn::GetAtt': [logicalId(built, fn), 'Arn'] });
    }
    expect(substitutions.AlertTopicArn).toEqual({ Ref: logicalId(built, built.stack.alertTopic) });
  });

  it('fills the service-integration ARNs with the partition the stack is deployed in', () => {
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    const substitutions = machine?.Properties.DefinitionSubstitutions as Record<string, unknown>;
    const integration = (api: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:states:::${api}`]],
    });
    expect(substitutions.SnsPublishIntegrationArn).toEqual(integration('sns:publish'));
    expect(substitutions.StartExecutionIntegrationArn).toEqual(integration('states:startExecution'));
  });

  it('hard-codes no partition: no "arn:aws:" in the template or in the ASL file', () => {
    expect(JSON.stringify(template.toJSON())).not.toContain('arn:aws:');
    expect(readFileSync(STATE_MACHINE_FILE, 'utf8')).not.toContain('arn:aws');
  });

  it('may invoke the six workflow functions (unqualified ARNs only), start its own per-channel checks, and publish encrypted alerts', () => {
    const role = logicalId(built, built.stack.stateMachine.role);
    const statements = policyStatements(template)
      .filter(({ roles }) => roles.includes(role))
      .map(({ statement }) => statement);
    const bySid = (sid: string) => statements.find((s) => s.Sid === sid);
    const functionArns = Object.values(built.stack.functions).map((f) => ({
      'Fn::GetAtt': [logicalId(built, f.function), 'Arn'],
    }));
    expect(bySid('InvokeWorkflowFunctions')?.Action).toBe('lambda:InvokeFunction');
    expect(asList(bySid('InvokeWorkflowFunctions')?.Resource)).toEqual(expect.arrayContaining(functionArns));
    expect(asList(bySid('InvokeWorkflowFunctions')?.Resource)).toHaveLength(functionArns.length);
    expect(bySid('PublishAlerts')).toMatchObject({
      Action: 'sns:Publish',
      Resource: { Ref: logicalId(built, built.stack.alertTopic) },
    });
    // The watchdog run starts one execution of this state machine per channel.
    expect(bySid('StartChannelChecks')).toMatchObject({
      Action: 'states:StartExecution',
      Resource: { Ref: logicalId(built, built.stack.stateMachine) },
    });
    expect(bySid('EncryptAlerts')).toMatchObject({
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^AlertKey/), 'Arn'] },
    });
  });
});

describe('the workflow Lambdas', () => {
  it('are one function per workflow Task', () => {
    template.resourceCountIs('AWS::Lambda::Function', Object.keys(WORKFLOW_FUNCTIONS).length);
  });

  it('run Node.js 24 on arm64 with their measured memory, 30 s, no X-Ray, source maps and every handler setting', () => {
    const environment = {
      ...settingsToEnv(parseSettings({})),
      [STATE_TABLE_ENV]: { Ref: logicalId(built, built.stack.stateTable) },
    };
    const lambdas = template.findResources('AWS::Lambda::Function');
    for (const [name, fn] of Object.entries(built.stack.functions)) {
      const properties = lambdas[logicalId(built, fn.function)]?.Properties;
      expect(properties).toEqual(
        expect.objectContaining({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          MemorySize: FUNCTION_MEMORY_MB[name as WorkflowFunction],
          Timeout: 30,
          Environment: { Variables: { ...environment, NODE_OPTIONS: '--enable-source-maps' } },
          Role: { 'Fn::GetAtt': [logicalId(built, fn.role), 'Arn'] },
        }),
      );
      expect(properties?.TracingConfig).toBeUndefined();
    }
  });

  it('log JSON to their own log group: WARN and above from Lambda (no START/END/REPORT lines), INFO and above from the handlers (EMF lines and audit records are INFO)', () => {
    const lambdas = template.findResources('AWS::Lambda::Function');
    for (const fn of Object.values(built.stack.functions)) {
      expect(lambdas[logicalId(built, fn.function)]?.Properties.LoggingConfig).toEqual({
        LogGroup: { Ref: logicalId(built, fn.logGroup) },
        LogFormat: 'JSON',
        SystemLogLevel: 'WARN',
        ApplicationLogLevel: 'INFO',
      });
    }
  });

  it('log to their own log groups, kept logRetentionDays', () => {
    for (const fn of Object.values(built.stack.functions)) {
      const id = logicalId(built, fn.logGroup);
      expect(template.findResources('AWS::Logs::LogGroup')[id]?.Properties).toEqual({ RetentionInDays: 365 });
    }
  });

  it('use roles without managed policies', () => {
    const roles = template.findResources('AWS::IAM::Role');
    for (const [id, role] of Object.entries(roles)) {
      expect({ id, managed: role.Properties.ManagedPolicyArns }).toEqual({ id, managed: undefined });
    }
  });
});
