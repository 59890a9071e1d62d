/**
 * How AWS meters what the cost bench observed: billed durations, DynamoDB request units, the
 * size of the log events Step Functions and Lambda write. Pure: no I/O, no clock.
 */

// ---------------------------------------------------------------------------------------------
// Lambda and Step Functions Express
// ---------------------------------------------------------------------------------------------

/** Lambda bills the handler's duration rounded up to the next millisecond (at least 1 ms). */
export function lambdaBilledMs(durationMs: number): number {
  return Math.max(1, Math.ceil(durationMs - 1e-9));
}

/** Express bills the execution's duration rounded up to the next 100 ms (at least 100 ms). */
export function expressBilledMs(durationMs: number): number {
  return Math.max(100, Math.ceil(durationMs / 100 - 1e-9) * 100);
}

/**
 * Express memory, billed in 64 MB steps: "50 MB + state machine definition size + execution data
 * size × number of Parallel or Map steps" (the Step Functions pricing page, examples 3 and 4).
 */
export function expressBilledMb(
  definitionBytes: number,
  dataBytes: number,
  mapOrParallelSteps: number,
): number {
  const mb = 50 + (definitionBytes + dataBytes * Math.max(1, mapOrParallelSteps)) / (1024 * 1024);
  return Math.ceil(mb / 64) * 64;
}

// ---------------------------------------------------------------------------------------------
// DynamoDB
// ---------------------------------------------------------------------------------------------

/**
 * DynamoDB item size: the UTF-8 bytes of every attribute name plus its value (strings: UTF-8
 * bytes; numbers: about 1 byte per 2 significant digits + 1; binary: bytes; booleans and null: 1;
 * lists and maps: 3 + their elements + 1 per element). Takes a marshalled item (`{ S: '…' }`) or a
 * plain object (as the DocumentClient's input is).
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
 */
export function dynamoItemBytes(item: Readonly<Record<string, unknown>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += Buffer.byteLength(name) + valueBytes(value);
  return bytes;
}

const MARSHALLED = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS']);

function valueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint') return numberBytes(String(value));
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + valueBytes(v), 0);
  if (value instanceof Set) return [...value].reduce((sum: number, v) => sum + valueBytes(v), 0);
  const entries = Object.entries(value as Record<string, unknown>);
  const [only] = entries;
  if (entries.length === 1 && only !== undefined && MARSHALLED.has(only[0])) {
    const [type, inner] = only;
    if (type === 'N') return numberBytes(String(inner));
    if (type === 'M') return 3 + dynamoItemBytes(inner as Record<string, unknown>) + entries.length;
    if (type === 'L') return 3 + (inner as unknown[]).reduce((sum: number, v) => sum + 1 + valueBytes(v), 0);
    if (type === 'NS') return (inner as string[]).reduce((sum, n) => sum + numberBytes(n), 0);
    if (type === 'SS' || type === 'BS')
      return (inner as unknown[]).reduce((s: number, v) => s + valueBytes(v), 0);
    return valueBytes(inner);
  }
  return 3 + dynamoItemBytes(value as Record<string, unknown>) + entries.length;
}

function numberBytes(text: string): number {
  const digits = text.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/**
 * Write request units: 1 per KB (rounded up) of the item written, at least 1. A conditional
 * write that fails its condition consumes them too.
 */
export function dynamoWriteUnits(itemBytes: number): number {
  return Math.max(1, Math.ceil(itemBytes / 1024));
}

/**
 * Read request units: 1 per 4 KB (rounded up) read with strong consistency, half that when
 * eventually consistent; at least one unit (half a unit eventually consistent).
 */
export function dynamoReadUnits(itemBytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(itemBytes / 4096));
  return consistent ? units : units / 2;
}

// ---------------------------------------------------------------------------------------------
// Step Functions execution log (CloudWatch Logs)
// ---------------------------------------------------------------------------------------------

/** A state machine's logging configuration, as the template sets it. */
export interface ExecutionLogConfig {
  readonly level: 'ALL' | 'ERROR' | 'FATAL' | 'OFF';
  readonly includeExecutionData: boolean;
}

/** What CloudWatch Logs counts per log event on top of its message (the PutLogEvents batch rule). */
export const LOG_EVENT_OVERHEAD_BYTES = 26;

/** A local engine history event (aws-local-stepfunctions' event log). */
export interface EngineEvent {
  readonly type: string;
  readonly state?: {
    readonly name?: string;
    readonly type?: string;
    readonly input?: unknown;
    readonly output?: unknown;
  };
  readonly Error?: string;
  readonly Cause?: string;
  readonly index?: number;
  readonly parentState?: { readonly name?: string };
}

/** How a Task state's Resource is logged: a Lambda ARN, or a service integration (`sns:publish`). */
export type TaskKind = { readonly lambda: string } | { readonly integration: string };

/** Example ARNs of the same length as the deployed ones (the stack name is `hls-failover`). */
const EXECUTION_ARN = `arn:aws:states:us-east-1:123456789012:express:hls-failover-StateMachine2E01A3A5-AbCdEfGhIjKl:${'0'.repeat(36)}:${'0'.repeat(36)}`;
const ROLE_ARN = 'arn:aws:iam::123456789012:role/hls-failover-StateMachineRoleB840431D-AbCdEfGhIjKl';
const TIMESTAMP = '1764554400000';

/**
 * The log events Step Functions writes for one execution, from the local engine's history: the
 * AWS event types (ExecutionStarted, TaskStateEntered, LambdaFunctionScheduled/Started/Succeeded,
 * TaskScheduled/Started/Succeeded for service integrations, ChoiceStateEntered/Exited,
 * MapStateEntered/Started, MapIterationStarted/Succeeded, MapStateSucceeded/Exited, …,
 * ExecutionSucceeded/Failed), each as the JSON object CloudWatch receives (id, type, details,
 * previous_event_id, event_timestamp, execution_arn, redrive_count), input and output as JSON
 * strings inside it when execution data is included. ALL logs every event, ERROR the failure
 * events, FATAL the execution's failure, OFF none.
 */
export function executionLogEvents(
  history: readonly EngineEvent[],
  config: ExecutionLogConfig,
  taskKind: (stateName: string) => TaskKind | undefined,
): { readonly events: number; readonly bytes: number; readonly types: Readonly<Record<string, number>> } {
  const withData = config.includeExecutionData;
  const data = (field: 'input' | 'output', value: unknown) =>
    withData
      ? {
          [field]: JSON.stringify(value ?? {}),
          [`${field}Details`]: { truncated: false },
        }
      : {};
  const aws: { type: string; details: Record<string, unknown> }[] = [];
  const push = (type: string, details: Record<string, unknown> = {}) => aws.push({ type, details });
  for (const e of history) {
    const name = e.state?.name ?? '';
    const stateType = e.state?.type ?? 'Task';
    const kind = stateType === 'Task' ? taskKind(name) : undefined;
    switch (e.type) {
      case 'ExecutionStarted':
        push('ExecutionStarted', {
          ...data('input', e.state?.input ?? (e as { input?: unknown }).input),
          roleArn: ROLE_ARN,
        });
        break;
      case 'ExecutionSucceeded':
        push('ExecutionSucceeded', data('output', (e as { output?: unknown }).output));
        break;
      case 'ExecutionFailed':
        push('ExecutionFailed', { error: e.Error ?? '', cause: e.Cause ?? '' });
        break;
      case 'ExecutionAborted':
      case 'ExecutionTimeout':
        push(e.type === 'ExecutionTimeout' ? 'ExecutionTimedOut' : 'ExecutionAborted');
        break;
      case 'StateEntered':
        push(`${stateType}StateEntered`, { name, ...data('input', e.state?.input) });
        if (stateType === 'Map') push('MapStateStarted', { length: 0 });
        if (kind !== undefined) scheduled(kind, e.state?.input, push, data);
        break;
      case 'StateRetried':
        if (kind !== undefined) scheduled(kind, e.state?.input, push, data);
        break;
      case 'StateExited':
        if (kind !== undefined) {
          if ('lambda' in kind) push('LambdaFunctionSucceeded', data('output', e.state?.output));
          else
            push('TaskSucceeded', {
              resourceType: kind.integration.split(':')[0],
              resource: kind.integration.split(':')[1],
              ...data('output', e.state?.output),
            });
        }
        if (stateType === 'Map') push('MapStateSucceeded');
        push(`${stateType}StateExited`, { name, ...data('output', e.state?.output) });
        break;
      case 'StateFailed':
        if (kind !== undefined)
          push('lambda' in kind ? 'LambdaFunctionFailed' : 'TaskFailed', {
            error: e.Error ?? '',
            cause: e.Cause ?? '',
          });
        else if (stateType === 'Map') push('MapStateFailed');
        break;
      case 'MapIterationStarted':
        push('MapIterationStarted', { index: e.index ?? 0, name: e.parentState?.name ?? '' });
        break;
      case 'MapIterationSucceeded':
        push('MapIterationSucceeded', { index: e.index ?? 0, name: e.parentState?.name ?? '' });
        break;
      case 'MapIterationFailed':
        push('MapIterationFailed', { index: e.index ?? 0, name: e.parentState?.name ?? '' });
        break;
      default:
        break; // StateCaught, Parallel branch events: no event of their own in the AWS history
    }
  }
  const kept = aws.filter((event) => logged(event.type, config.level));
  const types: Record<string, number> = {};
  let bytes = 0;
  kept.forEach((event, i) => {
    types[event.type] = (types[event.type] ?? 0) + 1;
    bytes +=
      Buffer.byteLength(
        JSON.stringify({
          id: String(i + 1),
          type: event.type,
          details: event.details,
          previous_event_id: String(i),
          event_timestamp: TIMESTAMP,
          execution_arn: EXECUTION_ARN,
          redrive_count: '0',
        }),
      ) + LOG_EVENT_OVERHEAD_BYTES;
  });
  return { events: kept.length, bytes, types };
}

function scheduled(
  kind: TaskKind,
  input: unknown,
  push: (type: string, details?: Record<string, unknown>) => void,
  data: (field: 'input' | 'output', value: unknown) => Record<string, unknown>,
): void {
  if ('lambda' in kind) {
    push('LambdaFunctionScheduled', { resource: kind.lambda, ...data('input', input) });
    push('LambdaFunctionStarted');
  } else {
    const [resourceType, resource] = kind.integration.split(':');
    const parameters = data('input', input).input;
    push('TaskScheduled', {
      resourceType,
      resource,
      region: 'us-east-1',
      ...(parameters === undefined ? {} : { parameters }),
    });
    push('TaskStarted', { resourceType, resource });
  }
}

/** Which event types a log level keeps (Step Functions, "Log levels"). */
export function logged(type: string, level: ExecutionLogConfig['level']): boolean {
  if (level === 'ALL') return true;
  if (level === 'OFF') return false;
  const executionFailure = ['ExecutionFailed', 'ExecutionAborted', 'ExecutionTimedOut'].includes(type);
  if (level === 'FATAL') return executionFailure;
  return executionFailure || /(Failed|TimedOut|Aborted)$/.test(type);
}

// ---------------------------------------------------------------------------------------------
// Lambda function logs
// ---------------------------------------------------------------------------------------------

/** A function's logging configuration, as the template sets it (LoggingConfig). */
export interface FunctionLogConfig {
  readonly format: 'Text' | 'JSON';
  /** JSON format only: lines of the application below this level are dropped. */
  readonly applicationLogLevel?: string;
  /** JSON format only: the platform's START/REPORT records below this level are dropped. */
  readonly systemLogLevel?: string;
}

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const REQUEST_ID = '00000000-0000-0000-0000-000000000000';

/**
 * Bytes of the platform's own lines for one invocation. Text format: START, END and REPORT (with
 * the X-Ray trace line when tracing is active). JSON format: platform.start, platform.runtimeDone
 * and platform.report records, INFO level, so none at a system log level of WARN or above.
 */
export function platformLogBytes(config: FunctionLogConfig, memoryMb: number, traced: boolean): number {
  if (config.format === 'JSON') {
    if (levelIndex(config.systemLogLevel ?? 'INFO') > levelIndex('INFO')) return 0;
    const time = '2026-12-01T00:00:00.000Z';
    const records = [
      { time, type: 'platform.start', record: { requestId: REQUEST_ID, version: '$LATEST' } },
      {
        time,
        type: 'platform.runtimeDone',
        record: {
          requestId: REQUEST_ID,
          status: 'success',
          metrics: { durationMs: 12.345, producedBytes: 0 },
        },
      },
      {
        time,
        type: 'platform.report',
        record: {
          requestId: REQUEST_ID,
          metrics: { durationMs: 12.345, billedDurationMs: 13, memorySizeMB: memoryMb, maxMemoryUsedMB: 90 },
          ...(traced
            ? {
                tracing: {
                  spanId: '0000000000000000',
                  type: 'X-Amzn-Trace-Id',
                  value: `Root=1-00000000-${'0'.repeat(24)};Parent=0000000000000000;Sampled=1`,
                },
              }
            : {}),
          status: 'success',
        },
      },
    ];
    return records.reduce(
      (sum, r) => sum + Buffer.byteLength(JSON.stringify(r)) + LOG_EVENT_OVERHEAD_BYTES,
      0,
    );
  }
  const lines = [
    `START RequestId: ${REQUEST_ID} Version: $LATEST\n`,
    `END RequestId: ${REQUEST_ID}\n`,
    `REPORT RequestId: ${REQUEST_ID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: ${memoryMb} MB\tMax Memory Used: 90 MB\t\n` +
      (traced
        ? `XRAY TraceId: 1-00000000-${'0'.repeat(24)}\tSegmentId: 0000000000000000\tSampled: true\t\n`
        : ''),
  ];
  return lines.reduce((sum, l) => sum + Buffer.byteLength(l) + LOG_EVENT_OVERHEAD_BYTES, 0);
}

/**
 * Whether an application line reaches the log group: always in Text format; in JSON format when
 * its `level` field is at or above the application log level (lines without a level are kept).
 */
export function applicationLineLogged(line: string, config: FunctionLogConfig): boolean {
  if (config.format !== 'JSON' || config.applicationLogLevel === undefined) return true;
  const level = /"level"\s*:\s*"([A-Za-z]+)"/.exec(line)?.[1]?.toUpperCase();
  return level === undefined || levelIndex(level) >= levelIndex(config.applicationLogLevel);
}

function levelIndex(level: string): number {
  return Math.max(0, LEVELS.indexOf(level.toUpperCase()));
}

// ---------------------------------------------------------------------------------------------
// X-Ray
// ---------------------------------------------------------------------------------------------

/**
 * Traces recorded in an hour under a sampling rule with a reservoir (requests per second traced
 * first) and a rate (share of the rest), for requests spread evenly over the hour.
 */
export function tracesPerHour(requestsPerHour: number, reservoirPerSecond: number, rate: number): number {
  const reservoir = Math.min(requestsPerHour, reservoirPerSecond * 3600);
  return reservoir + (requestsPerHour - reservoir) * rate;
}
