/**
 * The cost bench's pure parts (metering rules, the log-size model, pricing, the seed model, the
 * hour, the scale table) and its observer.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  applicationLineLogged,
  dynamoItemBytes,
  dynamoReadUnits,
  dynamoWriteUnits,
  type EngineEvent,
  executionLogEvents,
  expressBilledMb,
  expressBilledMs,
  LOG_EVENT_OVERHEAD_BYTES,
  lambdaBilledMs,
  platformLogBytes,
  tracesPerHour,
} from '../../bench/cost/billing';
import { awsAdjustMs, emfMetrics, meterExecution, sdkCallUsage } from '../../bench/cost/cost-bench';
import { hourUsage, priceUsage, QUOTAS, scaleTable, seedUsage, uploadsPerHour } from '../../bench/cost/model';
import { observeWorkflow, type SdkCall } from '../../bench/cost/observe';
import { cost, PRICES } from '../../bench/cost/prices';
import type { PricedConfiguration } from '../../bench/cost/template';

const call = (over: Partial<SdkCall>): SdkCall => ({
  service: 'S3',
  command: 'GetObject',
  status: 200,
  startMs: 0,
  ms: 1,
  input: {},
  ...over,
});

describe('cost bench: billed durations', () => {
  it('bills a Lambda invocation by the millisecond, rounded up, at least 1 ms', () => {
    expect(lambdaBilledMs(12.01)).toBe(13);
    expect(lambdaBilledMs(12)).toBe(12);
    expect(lambdaBilledMs(0.2)).toBe(1);
  });

  it('bills an Express execution per 100 ms, rounded up, at least 100 ms', () => {
    expect(expressBilledMs(101)).toBe(200);
    expect(expressBilledMs(300)).toBe(300);
    expect(expressBilledMs(3)).toBe(100);
  });

  it('replaces the local wait on SDK calls by the in-Region latency, overlapping calls waiting once for the slowest', () => {
    const timed = (service: string, startMs: number, ms: number) => ({ service, startMs, ms });
    // Sequential: a 50 ms local S3 GET becomes 20 ms, a 2 ms DynamoDB read becomes 6 ms.
    expect(awsAdjustMs([timed('S3', 0, 50), timed('DynamoDB', 60, 2)])).toBe(-30 + 4);
    // In parallel (one Promise.all): 40 ms locally, the slowest in-Region latency (S3, 20 ms) on AWS.
    expect(awsAdjustMs([timed('DynamoDB', 0, 40), timed('S3', 1, 30), timed('DynamoDB', 2, 10)])).toBe(
      20 - 40,
    );
    expect(awsAdjustMs([])).toBe(0);
  });

  it('bills Express memory in 64 MB steps of 50 MB + definition + data × map steps (pricing example 4)', () => {
    expect(expressBilledMb(50 * 1024, 32 * 1024, 400)).toBe(64);
    expect(expressBilledMb(16_000, 3_000, 1)).toBe(64);
    expect(expressBilledMb(1024, 1024 * 1024, 20)).toBe(128);
  });
});

describe('cost bench: DynamoDB request units', () => {
  it('sizes an item as attribute names plus values', () => {
    expect(dynamoItemBytes({ pk: { S: 'abc' } })).toBe(5);
    expect(dynamoItemBytes({ pk: 'abc', ok: true })).toBe(8);
    expect(dynamoItemBytes({ n: { N: '12345' } })).toBe(1 + 4);
  });

  it('charges 1 write unit per KB written, rounded up', () => {
    expect(dynamoWriteUnits(1)).toBe(1);
    expect(dynamoWriteUnits(1024)).toBe(1);
    expect(dynamoWriteUnits(1025)).toBe(2);
  });

  it('charges 1 read unit per 4 KB read strongly consistent, half that eventually consistent', () => {
    expect(dynamoReadUnits(4096, true)).toBe(1);
    expect(dynamoReadUnits(4097, true)).toBe(2);
    expect(dynamoReadUnits(4097, false)).toBe(1);
    expect(dynamoReadUnits(10, false)).toBe(0.5);
  });

  it('takes the consumed capacity the server reports', () => {
    const usage = sdkCallUsage(
      call({
        service: 'DynamoDB',
        command: 'UpdateItem',
        output: { ConsumedCapacity: { CapacityUnits: 3 } },
      }),
    );
    expect(usage).toEqual({ 'dynamodb.wru': 3 });
  });

  it('bills a conditional write that failed its condition for the item it would have written', () => {
    const item = { pk: { S: 'ch0' }, body: { S: 'x'.repeat(1500) } };
    const usage = sdkCallUsage(
      call({
        service: 'DynamoDB',
        command: 'PutItem',
        status: 400,
        errorName: 'ConditionalCheckFailedException',
        input: { Item: item },
      }),
    );
    expect(usage).toEqual({ 'dynamodb.wru': 2 });
  });
});

describe('cost bench: S3 requests', () => {
  it('prices GET and HEAD as reads, PUT and LIST as writes, DELETE as free', () => {
    expect(sdkCallUsage(call({ command: 'GetObject', status: 404 }))).toEqual({ 's3.get': 1 });
    expect(sdkCallUsage(call({ command: 'HeadObject' }))).toEqual({ 's3.get': 1 });
    expect(sdkCallUsage(call({ command: 'ListObjectsV2' }))).toEqual({ 's3.put': 1 });
    expect(sdkCallUsage(call({ command: 'DeleteObject' }))).toEqual({ 's3.delete': 1 });
  });

  it('bills a conditional PUT that failed (412) at the PUT price', () => {
    const usage = sdkCallUsage(call({ command: 'PutObject', status: 412 }));
    expect(usage).toEqual({ 's3.putFailed': 1 });
    expect(priceUsage(usage).usd).toBeCloseTo(0.005 / 1000, 12);
  });

  it('counts a call it has no price for under its service and command', () => {
    const usage = sdkCallUsage(call({ service: 'KMS', command: 'Decrypt' }));
    expect(usage).toEqual({ 'other:KMS Decrypt': 1 });
    const priced = priceUsage(usage);
    expect(priced.rows[0]).toMatchObject({ service: 'KMS', priced: false, usd: 0, count: 1 });
  });
});

describe('cost bench: state machine log size model', () => {
  const lambda = { lambda: 'arn:aws:lambda:us-east-1:123456789012:function:f' };
  const history: EngineEvent[] = [
    { type: 'ExecutionStarted', input: { a: 1 } } as EngineEvent,
    { type: 'StateEntered', state: { name: 'Validate', type: 'Task', input: { a: 1 } } },
    {
      type: 'StateExited',
      state: { name: 'Validate', type: 'Task', input: { a: 1 }, output: { b: 'x'.repeat(500) } },
    },
    { type: 'StateEntered', state: { name: 'Done', type: 'Succeed', input: {} } },
    { type: 'StateExited', state: { name: 'Done', type: 'Succeed', input: {}, output: {} } },
    { type: 'ExecutionSucceeded', output: {} } as EngineEvent,
  ];
  const kind = (name: string) => (name === 'Validate' ? lambda : undefined);

  it('logs every history event at ALL, a Lambda Task as Scheduled, Started and Succeeded', () => {
    const log = executionLogEvents(history, { level: 'ALL', includeExecutionData: true }, kind);
    expect(log.types).toEqual({
      ExecutionStarted: 1,
      TaskStateEntered: 1,
      LambdaFunctionScheduled: 1,
      LambdaFunctionStarted: 1,
      LambdaFunctionSucceeded: 1,
      TaskStateExited: 1,
      SucceedStateEntered: 1,
      SucceedStateExited: 1,
      ExecutionSucceeded: 1,
    });
    expect(log.bytes).toBeGreaterThan(log.events * LOG_EVENT_OVERHEAD_BYTES + 2 * 500);
  });

  it('leaves input and output out without execution data', () => {
    const withData = executionLogEvents(history, { level: 'ALL', includeExecutionData: true }, kind);
    const without = executionLogEvents(history, { level: 'ALL', includeExecutionData: false }, kind);
    expect(without.events).toBe(withData.events);
    expect(withData.bytes - without.bytes).toBeGreaterThan(2 * 500);
  });

  it('logs only failure events at ERROR, and nothing at OFF', () => {
    const failed: EngineEvent[] = [
      ...history.slice(0, 2),
      { type: 'StateFailed', state: { name: 'Validate', type: 'Task' }, Error: 'E', Cause: 'c' },
      { type: 'ExecutionFailed', Error: 'E', Cause: 'c' },
    ];
    expect(executionLogEvents(history, { level: 'ERROR', includeExecutionData: true }, kind).events).toBe(0);
    expect(executionLogEvents(failed, { level: 'ERROR', includeExecutionData: true }, kind).types).toEqual({
      LambdaFunctionFailed: 1,
      ExecutionFailed: 1,
    });
    expect(executionLogEvents(failed, { level: 'FATAL', includeExecutionData: true }, kind).types).toEqual({
      ExecutionFailed: 1,
    });
    expect(executionLogEvents(failed, { level: 'OFF', includeExecutionData: true }, kind).bytes).toBe(0);
  });

  it('logs a service integration as TaskScheduled, TaskStarted and TaskSucceeded', () => {
    const sns: EngineEvent[] = [
      { type: 'StateEntered', state: { name: 'PublishAlert', type: 'Task', input: {} } },
      { type: 'StateExited', state: { name: 'PublishAlert', type: 'Task', output: {} } },
    ];
    const log = executionLogEvents(sns, { level: 'ALL', includeExecutionData: false }, () => ({
      integration: 'sns:publish',
    }));
    expect(Object.keys(log.types)).toEqual([
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
    ]);
  });
});

describe('cost bench: Lambda log size model', () => {
  it('writes START, END and REPORT in Text format, with the X-Ray line when traced', () => {
    const plain = platformLogBytes({ format: 'Text' }, 256, false);
    expect(plain).toBeGreaterThan(3 * LOG_EVENT_OVERHEAD_BYTES + 150);
    expect(platformLogBytes({ format: 'Text' }, 256, true)).toBeGreaterThan(plain);
  });

  it('writes no platform records in JSON format at a system log level of WARN', () => {
    expect(platformLogBytes({ format: 'JSON', systemLogLevel: 'WARN' }, 256, true)).toBe(0);
    expect(platformLogBytes({ format: 'JSON', systemLogLevel: 'INFO' }, 256, true)).toBeGreaterThan(0);
  });

  it('drops application lines below the application log level in JSON format only', () => {
    const info = JSON.stringify({ level: 'INFO', message: 'accepted' });
    const warn = JSON.stringify({ level: 'WARN', message: 'late' });
    expect(applicationLineLogged(info, { format: 'JSON', applicationLogLevel: 'WARN' })).toBe(false);
    expect(applicationLineLogged(warn, { format: 'JSON', applicationLogLevel: 'WARN' })).toBe(true);
    expect(applicationLineLogged(info, { format: 'Text', applicationLogLevel: 'WARN' })).toBe(true);
  });

  it('counts each metric-dimension set of an EMF line as one custom metric', () => {
    const line = JSON.stringify({
      _aws: {
        Timestamp: 0,
        CloudWatchMetrics: [
          { Namespace: 'N', Dimensions: [['Channel'], []], Metrics: [{ Name: 'EncoderDown' }] },
        ],
      },
      Channel: 'ch0',
      EncoderDown: 0,
    });
    expect(emfMetrics(line)).toEqual(['N|EncoderDown|Channel=ch0', 'N|EncoderDown|']);
    expect(emfMetrics('{"level":"INFO"}')).toEqual([]);
  });
});

describe('cost bench: metering an execution against the template', () => {
  const config = {
    functions: [],
    tasks: {
      Validate: {
        kind: { lambda: 'arn' },
        function: {
          logicalId: 'F',
          memoryMb: 512,
          arch: 'arm64',
          log: { format: 'Text' },
          traced: false,
          logRetentionDays: 30,
        },
      },
      PublishAlert: { kind: { integration: 'sns:publish' } },
    },
    stateMachine: {
      type: 'EXPRESS',
      log: { level: 'OFF', includeExecutionData: false },
      logRetentionDays: 30,
      traced: true,
      definitionBytes: 1000,
    },
    watchdogRateMinutes: 1,
    alarms: 0,
    compositeAlarms: 0,
    dashboards: 0,
    dynamoTables: [],
    summary: [],
  } satisfies PricedConfiguration;

  it('prices a Lambda invocation at the template memory and an integration the engine runs without the SDK', () => {
    const bill = meterExecution(
      {
        name: 'e',
        input: { source: 'aws.s3' },
        phase: 'healthy',
        calls: [],
        invocations: [
          { state: 'Validate', ms: 9.2, ok: true, calls: [], lines: [] },
          { state: 'PublishAlert', ms: 1, ok: true, calls: [], lines: [] },
        ],
      },
      { name: 'e', input: {}, status: 'SUCCEEDED', startedAt: 0, durationMs: 40, events: [] },
      config,
    );
    expect(bill.kind).toBe('upload');
    expect(bill.usage['lambda.requests']).toBe(1);
    expect(bill.usage['lambda.gbSecondsArm']).toBeCloseTo(0.01 * 0.5, 9);
    expect(bill.usage['sns.publish']).toBe(1);
    expect(bill.usage['sfn.requests']).toBe(1);
    expect(bill.usage['sfn.gbSeconds']).toBeCloseTo(0.1 * (64 / 1024), 9);
    expect(bill.usage['logs.stateMachineBytes']).toBe(0);
  });
});

describe('cost bench: the seed design and the hour', () => {
  it('counts 18,000 uploads an hour for 5 renditions × 2 encoders at 2 s segments', () => {
    expect(uploadsPerHour(5, 2)).toBe(18_000);
    expect(uploadsPerHour(3, 2)).toBe(10_800);
  });

  it('prices the seed design at one 128 MB × 100 ms Lambda, 2 GETs and 1 PUT per upload', () => {
    const usage = seedUsage(18_000);
    expect(usage).toMatchObject({ 'lambda.requests': 18_000, 's3.get': 36_000, 's3.put': 18_000 });
    const withoutLogs =
      cost(PRICES.lambdaRequest, 18_000) +
      cost(PRICES.lambdaGbSecondX86, 18_000 * 0.1 * 0.125) +
      cost(PRICES.s3Get, 36_000) +
      cost(PRICES.s3Put, 18_000);
    expect(withoutLogs).toBeCloseTo(0.11175, 5);
    expect(priceUsage(usage).usd - withoutLogs).toBeCloseTo(
      cost(PRICES.logsIngestion, usage['logs.lambdaBytes'] ?? 0),
      9,
    );
  });

  it('extrapolates per-upload usage × uploads, watchdog runs × runs per hour, one incident, monthly items / 730', () => {
    const usage = hourUsage({
      perUpload: { 's3.get': 2, 'xray.roots': 1 },
      uploadsPerHour: 18_000,
      perWatchdogRun: { 's3.get': 3, 'xray.roots': 2 },
      watchdogRunsPerHour: 60,
      incident: { 's3.put': 7 },
      monthly: { 'cloudwatch.dashboardMonths': 730 },
      traced: true,
    });
    expect(usage['s3.get']).toBe(36_000 + 180);
    expect(usage['s3.put']).toBe(7);
    expect(usage['cloudwatch.dashboardMonths']).toBe(1);
    expect(usage['xray.traces']).toBeCloseTo(tracesPerHour(18_120, 1, 0.05), 9);
    expect(usage['xray.roots']).toBeUndefined();
  });

  it('records the first request each second and 5% of the rest under the default X-Ray rule', () => {
    expect(tracesPerHour(1000, 1, 0.05)).toBe(1000);
    expect(tracesPerHour(3600 + 20_000, 1, 0.05)).toBe(3600 + 1000);
  });
});

describe('cost bench: scale on paper', () => {
  it('reaches each quota at its limit over one channel’s use, and says which binds first', () => {
    const table = scaleTable(
      {
        executionsPerSecond: 5,
        meanExecutionSeconds: 0.4,
        lambdaInvocationsPerSecond: 15,
        meanInvocationSeconds: 0.2,
        s3WritesPerSecond: 10,
        s3ReadsPerSecond: 25,
        logEventsPerSecond: 200,
        logBytesPerSecond: 1e5,
        ruleInvocationsPerSecond: 5,
        dynamoWriteUnitsPerSecond: 0,
        dynamoReadUnitsPerSecond: 0,
      },
      [10, 100],
      [1, 10],
    );
    const start = table.rows.find((r) => r.quota === QUOTAS.expressStart);
    expect(start?.bindsAt).toBe(6000 / 5);
    expect(start?.at).toEqual([50, 500]);
    expect(table.bindsFirst?.quota).toBe(QUOTAS.s3PrefixReads);
    expect(table.rows.some((r) => r.quota === QUOTAS.dynamoPartitionWrites)).toBe(false);
  });
});

describe('cost bench: observer', () => {
  it('ties each SDK call to the execution and invocation that made it, Map iterations included', async () => {
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: {
        handle: async () => ({
          response: { statusCode: 200, headers: { 'content-length': '2' }, body: Readable.from(['ok']) },
        }),
      } as never,
    });
    const base = Object.getPrototypeOf(S3Client.prototype) as { send: unknown };
    const originalSend = base.send;
    const observer = observeWorkflow();
    try {
      const { StateMachine } = require('aws-local-stepfunctions') as {
        StateMachine: new (
          definition: unknown,
        ) => {
          run(input: unknown, options: unknown): { result: Promise<unknown> };
        };
      };
      const machine = new StateMachine({
        StartAt: 'Each',
        States: {
          Each: {
            Type: 'Map',
            ItemsPath: '$.items',
            ItemProcessor: {
              ProcessorConfig: { Mode: 'INLINE' },
              StartAt: 'Read',
              States: {
                Read: {
                  Type: 'Task',
                  Resource: 'arn:aws:lambda:us-east-1:123456789012:function:read',
                  End: true,
                },
              },
            },
            End: true,
          },
        },
      });
      observer.phase('healthy');
      await machine.run(
        { items: [1, 2] },
        {
          context: { Execution: { Name: 'exec-1' } },
          overrides: {
            taskResourceLocalHandlers: {
              Read: async () => {
                await client.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' }));
                observer.line('{"level":"INFO"}');
                return {};
              },
            },
          },
        },
      ).result;
      await client.send(new GetObjectCommand({ Bucket: 'b', Key: 'outside' }));
    } finally {
      observer.restore();
      client.destroy();
    }
    expect(base.send).toBe(originalSend);
    expect(observer.executions).toHaveLength(1);
    const [execution] = observer.executions;
    expect(execution).toMatchObject({ name: 'exec-1', phase: 'healthy' });
    expect(
      execution?.invocations.map((i) => [
        i.state,
        i.ok,
        i.calls.map((c) => `${c.service} ${c.command} ${c.status}`),
        i.lines.length,
      ]),
    ).toEqual([
      ['Read', true, ['S3 GetObject 200'], 1],
      ['Read', true, ['S3 GetObject 200'], 1],
    ]);
    expect(Object.fromEntries(observer.unattributed)).toEqual({ 'S3 GetObject': 1 });
  });
});
