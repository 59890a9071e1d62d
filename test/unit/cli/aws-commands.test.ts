/**
 * audit / status / replay against AWS, with every client mocked (aws-sdk-client-mock): the Logs
 * Insights query and its time range, paging past Insights' 10,000-row cap, truncation, the
 * joins, and the errors people hit (credentials, region, stack, log group).
 */
import { deflateRawSync } from 'node:zlib';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CloudWatchLogsClient,
  CloudWatchLogsServiceException,
  DescribeLogStreamsCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient, GetItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { AUDIT_QUERY, INSIGHTS_LIMIT } from '../../../cli/audit';
import { asUsageError } from '../../../cli/aws';
import { UsageError } from '../../../cli/io';
import { statusCommand } from '../../../cli/status';
import { AUDIT_LOG_MESSAGE, type AuditRecord } from '../../../functions/audit';
import { jsonLogger } from '../../../functions/handlers/deps';
import { acceptedKey, stateKey } from '../../../functions/keys';
import { runCli } from '../../support/cli';

const cfn = mockClient(CloudFormationClient);
const logs = mockClient(CloudWatchLogsClient);
const cloudwatch = mockClient(CloudWatchClient);
const sfn = mockClient(SFNClient);

const STACK = 'hls-failover';
const LOG_GROUP = '/aws/vendedlogs/states/hls-failover';
const AUDIT_LOG_GROUP = 'hls-failover-PublishMetricsLogs';
const ARN = (n: number) => `arn:aws:states:eu-west-1:123456789012:express:sm:e${n}`;

function outputs(extra: Record<string, string> = {}) {
  return {
    Stacks: [
      {
        StackName: STACK,
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE' as const,
        Outputs: Object.entries({
          StateMachineLogGroup: LOG_GROUP,
          AuditLogGroup: AUDIT_LOG_GROUP,
          StateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:sm',
          BucketName: 'live-bucket',
          StateTableName: 'state-table',
          ...extra,
        }).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  };
}

const record = (n: number, at: string): AuditRecord => ({
  v: 1,
  execution: ARN(n),
  at,
  trigger: { source: 's3', key: 'ch1/failover/720p.m3u8', sequencer: `00${n}` },
  channels: [
    {
      channel: 'ch1',
      decisions: [
        {
          decision: 'encoder-stalled',
          encoder: 'primary',
          reason: 'no update for 4 s',
          incidentId: 'primary-x',
        },
      ],
      changes: [
        { object: 'steering.json', key: 'ch1/steering.json', before: 'a'.repeat(64), after: 'b'.repeat(64) },
      ],
      withdrawn: [],
      alerts: [
        {
          kind: 'STALLED',
          subject: '[hls-failover] ch1: primary STALLED',
          encoder: 'primary',
          incidentId: 'primary-x',
        },
      ],
    },
  ],
});

/** One Insights result row. */
function row(fields: Record<string, string>) {
  return Object.entries(fields).map(([field, value]) => ({ field, value }));
}
/** The line PublishHealthMetrics logs for a record, as its own logger writes it. */
function auditLine(audit: AuditRecord): string {
  let line = '';
  jsonLogger('PublishHealthMetrics', (l) => {
    line = l;
  }).info(AUDIT_LOG_MESSAGE, { audit });
  return line;
}
/** A record's line in the audit log group. */
const auditRow = (n: number, timestamp: string) =>
  row({
    '@timestamp': timestamp,
    '@ptr': `ptr-${n}`,
    '@message': auditLine(record(n, `${timestamp.replace(' ', 'T')}Z`)),
  });
/** A record in the state machine log at logLevel ALL: PublishHealthMetrics' exit event. */
const stateExitRow = (n: number, timestamp: string) =>
  row({
    '@timestamp': timestamp,
    '@ptr': `ptr-exit-${n}`,
    type: 'TaskStateExited',
    execution_arn: ARN(n),
    'details.name': 'PublishHealthMetrics',
    'details.output': JSON.stringify({ detail: {}, audit: record(n, `${timestamp.replace(' ', 'T')}Z`) }),
  });
const failedRow = (n: number, timestamp: string, error = 'NotifyFailed') =>
  row({
    '@timestamp': timestamp,
    '@ptr': `ptr-failed-${n}`,
    type: 'ExecutionFailed',
    execution_arn: ARN(n),
    'details.error': error,
    'details.cause': JSON.stringify({ errorMessage: 'SNS is down' }),
  });

beforeEach(() => {
  cfn.reset();
  logs.reset();
  cloudwatch.reset();
  sfn.reset();
  cfn.on(DescribeStacksCommand).resolves(outputs());
  logs.on(StartQueryCommand).resolves({ queryId: 'q1' });
  logs.on(DescribeLogStreamsCommand).resolves({ logStreams: [{ logStreamName: 's' }] });
});

const audit = (...args: string[]) => runCli(['audit', '--stack', STACK, '--region', 'eu-west-1', ...args]);
/** audit over 10:00 to 11:00 on 2026-11-24. */
const auditHour = (...args: string[]) =>
  audit('--since', '2026-11-24T10:00:00Z', '--until', '2026-11-24T11:00:00Z', ...args);

describe('audit --stack (CloudWatch Logs Insights)', () => {
  it('queries the audit log group for the record lines and the state machine log for failed executions, over the --since/--until range in seconds', async () => {
    logs.on(GetQueryResultsCommand).resolves({ status: 'Complete', results: [] });
    const result = await audit('--since', '2026-11-24T10:00:00.500Z', '--until', '2026-11-24T11:00:00Z');
    expect(result.code).toBe(0);
    expect(cfn.commandCalls(DescribeStacksCommand)[0]?.args[0].input).toEqual({ StackName: STACK });
    const start = logs.commandCalls(StartQueryCommand)[0]?.args[0].input;
    expect(start).toMatchObject({
      logGroupNames: [AUDIT_LOG_GROUP, LOG_GROUP],
      startTime: Date.parse('2026-11-24T10:00:00Z') / 1000,
      endTime: Date.parse('2026-11-24T11:00:00Z') / 1000,
      limit: INSIGHTS_LIMIT,
      queryString: AUDIT_QUERY,
    });
    expect(AUDIT_QUERY).toContain('filter message = "audit record"');
    expect(AUDIT_QUERY).toContain('details.name in ["PublishHealthMetrics", "RecordWorkflowFailure"]');
    expect(AUDIT_QUERY).toContain('type in ["ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"]');
    expect(AUDIT_QUERY).toContain('| sort @timestamp asc');
    expect(result.err).toMatch(/^no entries from 2026-11-24T10:00:00\.500Z to 2026-11-24T11:00:00\.000Z/);
  });

  it('turns records into changes and alerts, and joins a failed execution: its alerts were not delivered', async () => {
    logs.on(GetQueryResultsCommand).resolves({
      status: 'Complete',
      results: [
        auditRow(1, '2026-11-24 10:00:28.000'),
        auditRow(2, '2026-11-24 10:05:00.000'),
        failedRow(2, '2026-11-24 10:05:01.000'),
        failedRow(3, '2026-11-24 10:06:00.000', 'WorkflowFailed'),
      ],
    });
    const result = await auditHour('--json');
    expect(result.code).toBe(0);
    const { entries, source } = JSON.parse(result.out) as {
      entries: {
        kind: string;
        what: string;
        reason?: string;
        execution?: string;
        key?: string;
        sequencer?: string;
      }[];
      source: unknown;
    };
    expect(source).toEqual({ stack: STACK, auditLogGroup: AUDIT_LOG_GROUP, logGroup: LOG_GROUP });
    expect(entries.map((e) => [e.kind, e.what])).toEqual([
      ['change', 'encoder-stalled'],
      ['change', 'steering.json written'],
      ['alert', '[hls-failover] ch1: primary STALLED'],
      ['change', 'encoder-stalled'],
      ['change', 'steering.json written'],
      ['alert', '[hls-failover] ch1: primary STALLED'],
      ['failure', 'NotifyFailed'],
      ['failure', 'WorkflowFailed'],
    ]);
    expect(entries[0]).toMatchObject({ execution: ARN(1), key: 'ch1/failover/720p.m3u8', sequencer: '001' });
    expect(entries[5]?.reason).toBe('not delivered: the execution failed as NotifyFailed');
    expect(entries[6]?.reason).toBe('SNS is down');
  });

  it('reads records from the state machine log too (logLevel ALL, or logged before the audit log group), one per execution', async () => {
    logs.on(GetQueryResultsCommand).resolves({
      status: 'Complete',
      results: [
        stateExitRow(1, '2026-11-24 10:00:28.000'),
        auditRow(2, '2026-11-24 10:05:00.000'),
        stateExitRow(2, '2026-11-24 10:05:00.100'),
      ],
    });
    const result = await auditHour('--json');
    expect(result.code).toBe(0);
    const { entries } = JSON.parse(result.out) as { entries: { what: string; execution?: string }[] };
    expect(entries.filter((e) => e.what === 'encoder-stalled').map((e) => e.execution)).toEqual([
      ARN(1),
      ARN(2),
    ]);
  });

  it('pages past the 10,000-row cap by time, from the last row’s second, without repeating a row', async () => {
    const first = Array.from({ length: INSIGHTS_LIMIT }, (_, i) =>
      auditRow(
        i,
        `2026-11-24 10:${String(Math.floor(i / 200)).padStart(2, '0')}:${String(Math.floor((i % 200) / 4)).padStart(2, '0')}.000`,
      ),
    );
    const lastSecond = Date.parse('2026-11-24T10:49:49Z') / 1000;
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: 'Complete', results: first })
      .resolvesOnce({
        status: 'Complete',
        results: [first.at(-1) ?? [], auditRow(20_000, '2026-11-24 10:55:00.000')],
      });
    const result = await auditHour('--kind', 'alerts', '--json');
    expect(result.code).toBe(0);
    const starts = logs.commandCalls(StartQueryCommand).map((c) => c.args[0].input.startTime);
    expect(starts).toEqual([Date.parse('2026-11-24T10:00:00Z') / 1000, lastSecond]);
    const { entries, truncated } = JSON.parse(result.out) as { entries: unknown[]; truncated: unknown[] };
    expect(entries).toHaveLength(INSIGHTS_LIMIT + 1);
    expect(truncated).toEqual([]);
  });

  it('says when one second held more than 10,000 records, and goes on after it', async () => {
    const burst = Array.from({ length: INSIGHTS_LIMIT }, (_, i) => auditRow(i, '2026-11-24 10:00:05.000'));
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: 'Complete', results: burst })
      .resolvesOnce({ status: 'Complete', results: [auditRow(20_000, '2026-11-24 10:30:00.000')] });
    const result = await audit(
      '--since',
      '2026-11-24T10:00:05Z',
      '--until',
      '2026-11-24T11:00:00Z',
      '--kind',
      'failures',
    );
    expect(result.code).toBe(0);
    expect(logs.commandCalls(StartQueryCommand).map((c) => c.args[0].input.startTime)).toEqual([
      Date.parse('2026-11-24T10:00:05Z') / 1000,
      Date.parse('2026-11-24T10:00:06Z') / 1000,
    ]);
    expect(result.err).toContain(
      'warning: 2026-11-24T10:00:05.000Z to 2026-11-24T10:00:06.000Z holds more than 10000 records within one second; only 10000 are shown',
    );
  });

  it('waits for a running query', async () => {
    logs
      .on(GetQueryResultsCommand)
      .resolvesOnce({ status: 'Running' })
      .resolves({ status: 'Complete', results: [auditRow(1, '2026-11-24 10:00:28.000')] });
    const result = await auditHour('--kind', 'alerts');
    expect(result.code).toBe(0);
    expect(logs.commandCalls(GetQueryResultsCommand)).toHaveLength(2);
    expect(result.out).toContain('[hls-failover] ch1: primary STALLED');
  });

  it('an empty audit log group: exit 2, saying no execution has run yet', async () => {
    logs.on(GetQueryResultsCommand).resolves({ status: 'Complete', results: [] });
    logs.on(DescribeLogStreamsCommand).resolves({ logStreams: [] });
    expect(await audit('--since', '1h')).toMatchObject({
      code: 2,
      err: expect.stringContaining(`log group ${AUDIT_LOG_GROUP} is empty: no execution has run yet`),
    });
    expect(logs.commandCalls(DescribeLogStreamsCommand)[0]?.args[0].input).toMatchObject({
      logGroupName: AUDIT_LOG_GROUP,
    });
  });

  it('a stack that does not exist (or is in another region): exit 2 naming the stack and region', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({
        name: 'ValidationError',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: `Stack with id ${STACK} does not exist`,
      }),
    );
    const result = await audit();
    expect(result).toMatchObject({
      code: 2,
      err: expect.stringContaining(
        `stack "${STACK}" not found in region eu-west-1: check --stack, and --region`,
      ),
    });
    expect(result.err).not.toMatch(/\n\s+at /);
  });

  it('no credentials: exit 2 saying how to provide them', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );
    expect(await audit()).toMatchObject({
      code: 2,
      err: expect.stringContaining('no AWS credentials found: set AWS_PROFILE'),
    });
  });

  it('a log group that does not exist: exit 2', async () => {
    logs.on(StartQueryCommand).rejects(
      new CloudWatchLogsServiceException({
        name: 'ResourceNotFoundException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Log group does not exist',
      }),
    );
    expect(await audit('--since', '1h')).toMatchObject({
      code: 2,
      err: expect.stringContaining(
        `log groups ${AUDIT_LOG_GROUP} and ${LOG_GROUP} not found in region eu-west-1`,
      ),
    });
  });

  it('a stack without the audit log group output (deployed before it): exit 2, saying to deploy', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: STACK, CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }],
    });
    expect(await audit()).toMatchObject({
      code: 2,
      err: expect.stringContaining(
        'has no AuditLogGroup output: is it an hls-failover stack, deployed with this version?',
      ),
    });
  });
});

describe('AWS errors people hit become one line and exit 2', () => {
  const target = { stack: STACK, region: 'eu-west-1' };
  it.each([
    ['Region is missing', 'Error', 'no AWS region: pass --region'],
    [
      'The security token included in the request is expired',
      'ExpiredToken',
      'AWS rejected the credentials (ExpiredToken)',
    ],
    [
      'The security token included in the request is invalid.',
      'InvalidClientTokenId',
      'AWS rejected the credentials',
    ],
    [
      'User is not authorized to perform: logs:StartQuery',
      'AccessDeniedException',
      'not allowed (AccessDeniedException)',
    ],
  ])('%s (%s)', (message, name, expected) => {
    const error = asUsageError(Object.assign(new Error(message), { name }), target);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(expected);
  });

  it('a wrong region name cannot be reached: says to check it', () => {
    const error = asUsageError(
      Object.assign(new Error('getaddrinfo ENOTFOUND cloudformation.eu-wst-1.amazonaws.com'), {
        code: 'ENOTFOUND',
      }),
      { stack: STACK, region: 'eu-wst-1' },
    );
    expect((error as Error).message).toBe(
      'cannot reach AWS in region eu-wst-1 (ENOTFOUND): check the network, and that the region name is right',
    );
  });

  it('leaves errors that are not from AWS alone (bugs must show)', () => {
    const bug = new TypeError('x is undefined');
    expect(asUsageError(bug, target)).toBe(bug);
  });
});

/** status with a fixed clock, captured like runCli. */
async function statusCommandAt(now: number) {
  let out = '';
  let err = '';
  const code = await statusCommand(
    ['--stack', STACK, '--region', 'eu-west-1'],
    {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
      readStdin: async () => Buffer.from(''),
    },
    { now },
  );
  return { code, out, err };
}

describe('status --stack', () => {
  it('shows health from the state table, the latest metrics and the alarms in ALARM with their reason', async () => {
    const dynamodb = mockClient(DynamoDBClient);
    const health = {
      version: 1,
      preferred: 'failover',
      encoders: {
        primary: {
          status: 'stalled',
          since: Date.parse('2026-11-24T10:00:28Z'),
          reason: '720p.m3u8: no update for 4 s',
          freshStreak: 0,
          incidentId: 'primary-2026-11-24T10:00:28.000Z',
          renditions: {
            '720p.m3u8': {
              mediaSequence: 9,
              lastSequence: 12,
              targetDuration: 2,
              endlist: false,
              lastModified: Date.parse('2026-11-24T10:00:24Z'),
              status: 'stalled',
              reason: 'x',
            },
          },
        },
        failover: {
          status: 'healthy',
          since: 0,
          reason: 'every media playlist is fresh',
          freshStreak: 0,
          renditions: {},
        },
      },
      withdrawn: ['primary'],
      channelDown: false,
      ended: false,
      updatedAt: Date.parse('2026-11-24T10:00:58Z'),
    };
    const key = stateKey('news');
    const stored = JSON.stringify({
      version: 1,
      channel: 'news',
      health,
      masters: {},
      index: { preferred: 'failover', masters: '', writtenAt: Date.parse('2026-11-24T10:00:29Z') },
    });
    dynamodb.on(ScanCommand, { TableName: 'state-table' }).resolves({
      Items: [{ pk: { S: key.group } }, { pk: { S: acceptedKey('news', 'primary', '720p.m3u8').group } }],
    });
    const itemKey = { pk: { S: key.group }, sk: { S: key.name } };
    dynamodb.on(GetItemCommand, { TableName: 'state-table', Key: itemKey }).resolves({
      Item: { ...itemKey, bodyz: { B: deflateRawSync(stored) }, version: { N: '7' } },
    });
    // No accepted record newer than the state: the view shows the state's observations.
    dynamodb.on(QueryCommand, { TableName: 'state-table' }).resolves({ Items: [] });
    cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        {
          AlarmName: `${STACK}-encoder-down`,
          StateValue: 'ALARM',
          StateReason: 'Threshold Crossed: 1 datapoint [1.0]',
          StateUpdatedTimestamp: new Date('2026-11-24T10:00:40Z'),
        },
        { AlarmName: `${STACK}-workflow-failures`, StateValue: 'OK' },
      ],
      CompositeAlarms: [{ AlarmName: `${STACK}-watchdog-silent`, StateValue: 'OK' }],
    });
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'm0', Values: [1, 0] },
        { Id: 'm1', Values: [14.2] },
        { Id: 'm3', Values: [0] },
      ],
    });
    try {
      const result = await statusCommandAt(Date.parse('2026-11-24T10:01:00Z'));
      expect(result.code).toBe(0);
      expect(result.out).toMatch(
        /^Channel news: DEGRADED — primary stalled; viewers are steered to failover$/m,
      );
      expect(result.out).toMatch(
        /primary\s+stalled\s+since 2026-11-24T10:00:28\.000Z .* incident primary-2026-11-24T10:00:28\.000Z {2}metrics: EncoderDown=1 PlaylistAgeTargetDurations=14\.2/,
      );
      expect(result.out).toMatch(/index\.m3u8: last changed 2026-11-24T10:00:29\.000Z/);
      expect(result.out).toMatch(
        /^Alarms \(1 in ALARM\):\n {2}ALARM\s+hls-failover-encoder-down since 2026-11-24T10:00:40\.000Z\n {4}Threshold Crossed/m,
      );
      expect(result.out).toMatch(/OK\s+hls-failover-watchdog-silent/);
      expect(cloudwatch.commandCalls(DescribeAlarmsCommand)[0]?.args[0].input).toEqual({
        AlarmNamePrefix: `${STACK}-`,
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
      });
      const query = cloudwatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries?.[0];
      expect(query?.MetricStat).toMatchObject({
        Metric: {
          Namespace: 'HlsFailover',
          MetricName: 'EncoderDown',
          Dimensions: [
            { Name: 'Channel', Value: 'news' },
            { Name: 'Encoder', Value: 'primary' },
          ],
        },
        Stat: 'Maximum',
      });
    } finally {
      dynamodb.restore();
    }
  });
});

describe('replay --stack', () => {
  it('starts a synchronous execution with the event S3 sends for the key, and prints the outcome', async () => {
    sfn.on(StartSyncExecutionCommand).resolves({
      status: 'SUCCEEDED',
      executionArn: ARN(9),
      startDate: new Date('2026-11-24T10:00:00.000Z'),
      stopDate: new Date('2026-11-24T10:00:00.180Z'),
      output: JSON.stringify({
        playlist: { action: 'skip', reason: 'this version is already accepted' },
        audit: null,
      }),
    });
    const result = await runCli([
      'replay',
      '--stack',
      STACK,
      '--region',
      'eu-west-1',
      '--key',
      'news/primary/720p.m3u8',
    ]);
    expect(result).toMatchObject({ code: 0 });
    expect(result.out).toBe(
      `replay news/primary/720p.m3u8: SUCCEEDED in 180 ms (${ARN(9)})\n  skipped: this version is already accepted\n`,
    );
    const input = sfn.commandCalls(StartSyncExecutionCommand)[0]?.args[0].input;
    expect(input?.stateMachineArn).toBe('arn:aws:states:eu-west-1:123456789012:stateMachine:sm');
    expect(JSON.parse(input?.input ?? '{}')).toMatchObject({
      source: 'aws.s3',
      'detail-type': 'Object Created',
      detail: { bucket: { name: 'live-bucket' }, object: { key: 'news/primary/720p.m3u8' } },
    });
  });

  it('a failed execution exits 1 with its error and cause', async () => {
    sfn.on(StartSyncExecutionCommand).resolves({
      status: 'FAILED',
      error: 'PlaylistInvalid',
      cause: 'news/primary/720p.m3u8 is invalid (1 violation): line 1 targetduration-missing: add it',
    });
    const result = await runCli([
      'replay',
      '--stack',
      STACK,
      '--region',
      'eu-west-1',
      '--key',
      'news/primary/720p.m3u8',
    ]);
    expect(result.code).toBe(1);
    expect(result.out).toContain('failed as PlaylistInvalid: news/primary/720p.m3u8 is invalid');
  });

  it('--key is required, and --local options do not go with --stack', async () => {
    expect(await runCli(['replay', '--stack', STACK])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--key'),
    });
    expect(
      await runCli(['replay', '--stack', STACK, '--key', 'a/primary/b.m3u8', '--bucket', 'x']),
    ).toMatchObject({
      code: 2,
      err: expect.stringContaining('--bucket goes with --local'),
    });
  });
});
