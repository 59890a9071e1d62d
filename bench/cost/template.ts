/**
 * The configuration the cost bench prices, read from the synthesized template (`cdk.out/`): what
 * ships is what is priced. Memory and architecture per function, each function's logging and
 * tracing, the state machine's log level, execution data and tracing, which Task runs which
 * function (from the definition asset and its substitutions), the watchdog schedule, alarms,
 * dashboards and any DynamoDB table's billing mode.
 */
import { createResolver, loadSynthesizedStack, type Template } from '../../local/cloudformation';
import { definitionText, taskStates } from '../../local/engine';
import { STACK_ID } from '../../local/synthesize';
import type { ExecutionLogConfig, FunctionLogConfig, TaskKind } from './billing';

export interface PricedFunction {
  readonly logicalId: string;
  readonly memoryMb: number;
  readonly arch: 'arm64' | 'x86_64';
  readonly log: FunctionLogConfig;
  readonly traced: boolean;
  readonly logRetentionDays: number | undefined;
}

export interface PricedTask {
  /** The function a Task runs (a Lambda ARN, or lambda:invoke's FunctionName). */
  readonly function?: PricedFunction;
  /** How Step Functions logs the Task. */
  readonly kind: TaskKind;
}

export interface PricedConfiguration {
  readonly functions: readonly PricedFunction[];
  /** Every Task state of the definition by name (Map processors included). */
  readonly tasks: Readonly<Record<string, PricedTask>>;
  readonly stateMachine: {
    readonly type: string;
    readonly log: ExecutionLogConfig;
    readonly logRetentionDays: number | undefined;
    readonly traced: boolean;
    readonly definitionBytes: number;
  };
  readonly watchdogRateMinutes: number | undefined;
  readonly alarms: number;
  readonly compositeAlarms: number;
  readonly dashboards: number;
  readonly dynamoTables: readonly { readonly logicalId: string; readonly billingMode: string }[];
  /** One line per setting priced, for the report. */
  readonly summary: readonly string[];
}

const LOCAL = { region: 'us-east-1', accountId: '123456789012', partition: 'aws', stackName: 'hls-failover' };

/** Reads the priced configuration of the synthesized stack in `cloudAssembly`. */
export function readPricedConfiguration(cloudAssembly?: string): PricedConfiguration {
  const stack = loadSynthesizedStack(STACK_ID, cloudAssembly);
  const { template } = stack;
  const resolve = createResolver(template, LOCAL);
  const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
  const retentionOf = (logGroup: unknown) => {
    const id = (logGroup as { Ref?: string } | undefined)?.Ref;
    const days = id === undefined ? undefined : template.Resources[id]?.Properties?.RetentionInDays;
    return typeof days === 'number' ? days : undefined;
  };

  const functions = new Map<string, PricedFunction>();
  for (const [logicalId, r] of ofType('AWS::Lambda::Function')) {
    const p = r.Properties ?? {};
    const logging = (p.LoggingConfig ?? {}) as Record<string, unknown>;
    functions.set(logicalId, {
      logicalId,
      memoryMb: typeof p.MemorySize === 'number' ? p.MemorySize : 128,
      arch: (p.Architectures as string[] | undefined)?.[0] === 'arm64' ? 'arm64' : 'x86_64',
      log: {
        format: logging.LogFormat === 'JSON' ? 'JSON' : 'Text',
        ...(typeof logging.ApplicationLogLevel === 'string'
          ? { applicationLogLevel: logging.ApplicationLogLevel }
          : {}),
        ...(typeof logging.SystemLogLevel === 'string' ? { systemLogLevel: logging.SystemLogLevel } : {}),
      },
      traced: (p.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active',
      logRetentionDays: retentionOf(logging.LogGroup),
    });
  }

  const machines = ofType('AWS::StepFunctions::StateMachine');
  const [machine] = machines;
  if (machine === undefined || machines.length > 1)
    throw new Error(`the synthesized template has ${machines.length} state machines, not one`);
  const mp = machine[1].Properties ?? {};
  const text = definitionText(stack, mp);
  const substitutions = (mp.DefinitionSubstitutions ?? {}) as Record<string, unknown>;
  const logging = (mp.LoggingConfiguration ?? {}) as {
    Level?: string;
    IncludeExecutionData?: boolean;
    Destinations?: { CloudWatchLogsLogGroup?: { LogGroupArn?: { 'Fn::GetAtt'?: string[] } } }[];
  };
  const logGroupId = logging.Destinations?.[0]?.CloudWatchLogsLogGroup?.LogGroupArn?.['Fn::GetAtt']?.[0];

  /** A Resource or FunctionName as written: a `${Placeholder}` or a literal. */
  const referenced = (value: unknown): { functionId?: string; arn: string } => {
    const text = String(value);
    const placeholder = /^\$\{(\w+)\}$/.exec(text)?.[1];
    const raw = placeholder === undefined ? text : substitutions[placeholder];
    const id = (raw as { 'Fn::GetAtt'?: string[] } | undefined)?.['Fn::GetAtt']?.[0];
    if (id !== undefined && functions.has(id)) return { functionId: id, arn: String(resolve(raw)) };
    return { arn: String(typeof raw === 'string' ? raw : resolve(raw)) };
  };
  const tasks: Record<string, PricedTask> = {};
  const definition = JSON.parse(text) as unknown;
  for (const [name, state] of taskStates(definition)) {
    const resource = referenced(state.Resource);
    const integration = /^arn:[\w-]+:states:::(.+)$/
      .exec(resource.arn)?.[1]
      ?.replace(/\.(sync|waitForTaskToken)(:\d)?$/, '');
    if (integration === undefined) {
      tasks[name] = {
        ...(resource.functionId === undefined
          ? {}
          : { function: functions.get(resource.functionId) as PricedFunction }),
        kind: { lambda: resource.arn },
      };
    } else {
      const target =
        integration === 'lambda:invoke'
          ? referenced(state.Parameters?.FunctionName ?? state.Parameters?.['FunctionName.$'])
          : undefined;
      tasks[name] = {
        ...(target?.functionId === undefined
          ? {}
          : { function: functions.get(target.functionId) as PricedFunction }),
        kind: { integration },
      };
    }
  }

  const schedule = ofType('AWS::Events::Rule')
    .map(([, r]) => String(r.Properties?.ScheduleExpression ?? ''))
    .map((expression) => /^rate\((\d+) (minute|minutes|hour|hours)\)$/.exec(expression))
    .find((m) => m !== null);
  const watchdogRateMinutes =
    schedule == null ? undefined : Number(schedule[1]) * (schedule[2]?.startsWith('hour') ? 60 : 1);

  const level = (logging.Level ?? 'OFF') as ExecutionLogConfig['level'];
  const priced: Omit<PricedConfiguration, 'summary'> = {
    functions: [...functions.values()],
    tasks,
    stateMachine: {
      type: String(mp.StateMachineType ?? 'STANDARD'),
      log: { level, includeExecutionData: logging.IncludeExecutionData === true },
      logRetentionDays: logGroupId === undefined ? undefined : retentionOf({ Ref: logGroupId }),
      traced: (mp.TracingConfiguration as { Enabled?: boolean } | undefined)?.Enabled === true,
      definitionBytes: Buffer.byteLength(text),
    },
    watchdogRateMinutes,
    alarms: metricAlarms(template),
    compositeAlarms: ofType('AWS::CloudWatch::CompositeAlarm').length,
    dashboards: ofType('AWS::CloudWatch::Dashboard').length,
    dynamoTables: ofType('AWS::DynamoDB::Table')
      .concat(ofType('AWS::DynamoDB::GlobalTable'))
      .map(([logicalId, r]) => ({
        logicalId,
        billingMode: String(r.Properties?.BillingMode ?? 'PROVISIONED'),
      })),
  };
  return { ...priced, summary: describe(priced) };
}

/** Standard alarms, each priced per metric it watches (a metric-math alarm per metric in it). */
function metricAlarms(template: Template): number {
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
    .reduce((sum, r) => {
      const metrics = r.Properties?.Metrics as { MetricStat?: unknown }[] | undefined;
      return sum + (metrics === undefined ? 1 : Math.max(1, metrics.filter((m) => m.MetricStat).length));
    }, 0);
}

function describe(c: Omit<PricedConfiguration, 'summary'>): string[] {
  const fn = c.functions
    .map(
      (f) =>
        `${f.logicalId.replace(/Function[0-9A-F]{8}$/, '')} ${f.memoryMb} MB ${f.arch}${f.traced ? ' traced' : ''} log ${f.log.format}${f.log.applicationLogLevel ? `/${f.log.applicationLogLevel}` : ''}${f.log.systemLogLevel ? `/system ${f.log.systemLogLevel}` : ''}`,
    )
    .join('; ');
  return [
    `state machine: ${c.stateMachine.type}, log level ${c.stateMachine.log.level}, includeExecutionData ${c.stateMachine.log.includeExecutionData}, tracing ${c.stateMachine.traced ? 'on' : 'off'}, log retention ${c.stateMachine.logRetentionDays ?? 'never expires'} days, definition ${c.stateMachine.definitionBytes} bytes`,
    `functions: ${fn}`,
    `watchdog: ${c.watchdogRateMinutes === undefined ? 'no schedule' : `every ${c.watchdogRateMinutes} min`}; alarms: ${c.alarms} metric, ${c.compositeAlarms} composite; dashboards: ${c.dashboards}`,
    `DynamoDB tables: ${c.dynamoTables.length === 0 ? 'none' : c.dynamoTables.map((t) => `${t.logicalId} ${t.billingMode}`).join(', ')}`,
  ];
}
