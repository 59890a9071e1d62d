/**
 * The local engine: a state machine definition executed by aws-local-stepfunctions, every Task
 * bound by its Resource (a function ARN, `lambda:invoke`, `sns:publish`, `states:startExecution`),
 * never by state name. Two ways to build it:
 *
 * - {@link createArtifactWorkflow}: what `cdk deploy` uploads, from `cdk.out/`: the definition asset
 *   the template names, its DefinitionSubstitutions resolved for the local account, each function
 *   ARN bound to that function's bundle on the local Lambda host, and every call the state machine
 *   makes checked against its role (an {@link Authorizer}).
 * - {@link createLocalWorkflow}: from the sources (the fast inner loop, and unit tests over a fake
 *   S3): the ASL file with local ARNs, each bound to the handler code in-process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Alert } from '../functions/alerts';
import { createCheckFreshness } from '../functions/handlers/check-freshness';
import type { HandlerDeps } from '../functions/handlers/deps';
import { createMarkAlertsSent } from '../functions/handlers/mark-alerts-sent';
import { createMergeIndex } from '../functions/handlers/merge-index';
import { createPublishMetrics } from '../functions/handlers/publish-metrics';
import { createPublishPlaylists } from '../functions/handlers/publish-playlists';
import { createRecordInvalidPlaylist } from '../functions/handlers/record-invalid-playlist';
import { createValidatePlaylist } from '../functions/handlers/validate-playlist';
import { createWatchdog } from '../functions/handlers/watchdog';
import { createWithdrawPlaylists } from '../functions/handlers/withdraw-playlists';
import {
  buildSubstitutions,
  STATE_MACHINE_FILE,
  substitute,
  WORKFLOW_FUNCTIONS,
  type WorkflowFunction,
} from '../functions/workflow';
import { AccessDeniedError, type Authorizer } from './aws-request';
import type { SynthesizedStack } from './cloudformation';
import { type LambdaHost, logicalIdOf } from './lambda-host';
import { installPromiseWithResolvers } from './polyfills';

installPromiseWithResolvers();
// Loaded after the polyfill is in place.
const { StateMachine } = require('aws-local-stepfunctions') as {
  StateMachine: new (
    definition: unknown,
    options: unknown,
  ) => {
    run(
      input: unknown,
      options: unknown,
    ): { result: Promise<unknown>; eventLogs: AsyncGenerator<unknown>; abort: () => void };
  };
};
type TaskHandler = (input: never) => Promise<unknown>;

export interface ExecutionRecord {
  readonly name: string;
  readonly input: unknown;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  readonly startedAt: number;
  readonly durationMs: number;
  /** The execution's event history (state entered / exited / retried / caught / failed). */
  readonly events: readonly unknown[];
}

/** What the workflow's service integrations reach, whichever way the engine is built. */
export interface WorkflowServices {
  /** Receives what NotifyOnCall publishes (the local stand-in for SNS). */
  readonly publishAlert: (alert: Alert) => Promise<void>;
  /** Faster retries locally (ms between attempts instead of seconds). @default false */
  readonly fastRetries?: boolean;
  /**
   * Starts another execution of this state machine (the watchdog's per-channel checks) without
   * waiting for it, as `states:startExecution` does.
   */
  readonly startExecution: (input: unknown) => void;
}

export interface LocalWorkflowOptions extends WorkflowServices {
  readonly deps: HandlerDeps;
}

export interface TaskState {
  readonly Resource: string;
  readonly Parameters?: Record<string, unknown>;
}

/** Every Task state by name, Map processors and Parallel branches included. */
export function taskStates(node: unknown): [string, TaskState][] {
  if (node === null || typeof node !== 'object') return [];
  const states = (node as { States?: Record<string, unknown> }).States ?? {};
  return Object.entries(states).flatMap(([name, state]) => {
    const s = state as { Type?: string; ItemProcessor?: unknown; Branches?: unknown[] };
    return [
      ...(s.Type === 'Task' ? [[name, s as unknown as TaskState] as [string, TaskState]] : []),
      ...taskStates(s.ItemProcessor),
      ...(s.Branches ?? []).flatMap(taskStates),
    ];
  });
}

/** Step Functions' quota on a state's input or output (UTF-8 JSON), enforced here as on AWS. */
const MAX_STATE_PAYLOAD_BYTES = 256 * 1024;

/**
 * The first state input or output in an execution's event history over the quota. On AWS the
 * execution then fails with States.DataLimitExceeded, which no Catch (not even States.ALL) takes.
 */
function payloadOverQuota(events: readonly unknown[]): string | undefined {
  for (const event of events) {
    const { type, state } = event as {
      type?: string;
      state?: { name?: string; input?: unknown; output?: unknown };
    };
    for (const [what, value] of [
      ['input', state?.input],
      ['output', state?.output],
    ] as const) {
      if (value === undefined) continue;
      const bytes = Buffer.byteLength(JSON.stringify(value));
      if (bytes > MAX_STATE_PAYLOAD_BYTES)
        return `${type ?? 'event'} ${state?.name ?? '?'}: the state's ${what} is ${bytes} bytes, over the ${MAX_STATE_PAYLOAD_BYTES}-byte quota`;
    }
  }
  return undefined;
}

/** ARNs for a run from the sources: they only have to be well-formed; every Task runs in-process. */
const LOCAL_ARN = (name: string) => `arn:aws:lambda:local:000000000000:function:hls-failover-${name}`;
/** Local executions' ARNs (`<this>:<name>`), shaped like an Express execution ARN. */
export const LOCAL_EXECUTION_ARN = 'arn:aws:states:local:000000000000:express:hls-failover';
/** The local state machine's ARN (`$$.StateMachine.Id`). */
const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:local:000000000000:stateMachine:hls-failover';

const SNS_PUBLISH = 'arn:aws:states:::sns:publish';
const START_EXECUTION = 'arn:aws:states:::states:startExecution';
const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';

/** A Task the state machine's role may not call: failed as Step Functions reports the service's error. */
class TaskAccessDenied extends Error {
  constructor(name: string, denial: AccessDeniedError) {
    super(denial.message);
    this.name = name;
  }
}

/**
 * The service integrations (SNS publish, start execution); `authorize` checks each call against
 * the state machine's role first.
 */
function serviceIntegrations(
  services: WorkflowServices,
  stateMachineArn: string,
  executionArn: string,
  authorize: (action: string, resource: string, errorName: string) => void,
): Record<string, TaskHandler> {
  return {
    [SNS_PUBLISH]: (async (input: {
      TopicArn: string;
      Subject: string;
      Message: string;
      MessageAttributes: Alert['attributes'];
    }) => {
      // Approximation: the name Step Functions gives SNS's 403 (SNS.<exception>).
      authorize('sns:Publish', input.TopicArn, 'SNS.AuthorizationErrorException');
      await services.publishAlert({
        subject: input.Subject,
        message: input.Message,
        attributes: input.MessageAttributes,
      });
      return { MessageId: `local-${Date.now()}` };
    }) as TaskHandler,
    [START_EXECUTION]: (async (input: { StateMachineArn: string; Input: unknown }) => {
      // Approximation: the name Step Functions gives the service's AccessDeniedException.
      authorize('states:StartExecution', input.StateMachineArn, 'StepFunctions.AccessDeniedException');
      if (input.StateMachineArn !== stateMachineArn)
        throw new Error(`the local engine runs only ${stateMachineArn}, not ${input.StateMachineArn}`);
      services.startExecution(input.Input);
      return { ExecutionArn: `${executionArn}:started`, StartDate: new Date().toISOString() };
    }) as TaskHandler,
  };
}

/** The workflow run from the sources: the ASL file with local ARNs, the handlers in-process. */
export function createLocalWorkflow(options: LocalWorkflowOptions) {
  const { deps } = options;
  const arns = Object.fromEntries(Object.keys(WORKFLOW_FUNCTIONS).map((f) => [f, LOCAL_ARN(f)])) as Record<
    WorkflowFunction,
    string
  >;
  const definition = JSON.parse(
    substitute(
      readFileSync(STATE_MACHINE_FILE, 'utf8'),
      buildSubstitutions(arns, 'arn:aws:sns:local:000000000000:hls-failover-alerts'),
    ),
  );
  const handlers: Record<WorkflowFunction, TaskHandler> = {
    validatePlaylist: createValidatePlaylist(deps) as TaskHandler,
    checkFreshness: createCheckFreshness(deps) as TaskHandler,
    watchdog: createWatchdog(deps) as TaskHandler,
    mergeIndex: createMergeIndex(deps) as TaskHandler,
    withdrawPlaylists: createWithdrawPlaylists(deps) as TaskHandler,
    publishPlaylists: createPublishPlaylists(deps) as TaskHandler,
    publishMetrics: createPublishMetrics(deps) as TaskHandler,
    recordInvalidPlaylist: createRecordInvalidPlaylist(deps) as TaskHandler,
    markAlertsSent: createMarkAlertsSent(deps) as TaskHandler,
  };
  const byArn: Record<string, TaskHandler> = {
    ...Object.fromEntries(Object.entries(handlers).map(([f, h]) => [arns[f as WorkflowFunction], h])),
    ...serviceIntegrations(options, LOCAL_STATE_MACHINE_ARN, LOCAL_EXECUTION_ARN, () => undefined),
  };
  return createWorkflowEngine(definition, {
    stateMachineArn: LOCAL_STATE_MACHINE_ARN,
    executionArn: LOCAL_EXECUTION_ARN,
    bind: (resource) => byArn[resource],
    fastRetries: options.fastRetries ?? false,
  });
}

export interface ArtifactWorkflowOptions extends WorkflowServices {
  readonly stack: SynthesizedStack;
  /** The template's intrinsics, resolved for the local account (createResolver). */
  readonly resolve: (value: unknown) => unknown;
  /** Runs the template's functions from their bundles. */
  readonly lambda: LambdaHost;
  /** Checks each call the state machine makes against its role; none when absent. */
  readonly authorizer?: Authorizer;
}

/**
 * The workflow as `cdk deploy` ships it: the template's only state machine, its definition asset
 * with the substitutions resolved, each function ARN bound to its bundle on the Lambda host.
 */
export function createArtifactWorkflow(options: ArtifactWorkflowOptions) {
  const { lambda, authorizer } = options;
  const { definition, role, stateMachineArn } = synthesizedStateMachine(options.stack, options.resolve);
  const executionArn = stateMachineArn.replace(':stateMachine:', ':express:');
  const authorize = (action: string, target: string, errorName: string) => {
    try {
      authorizer?.({ role, action, resource: target });
    } catch (error) {
      if (error instanceof AccessDeniedError) throw new TaskAccessDenied(errorName, error);
      throw error;
    }
  };
  const invoke = async (functionArn: string, payload: unknown) => {
    // Step Functions reports Lambda's AccessDeniedException as a Lambda service exception.
    authorize('lambda:InvokeFunction', functionArn, 'Lambda.AWSLambdaException');
    return lambda.invoke(functionArn, payload);
  };
  const integrations: Record<string, TaskHandler> = {
    ...serviceIntegrations(options, stateMachineArn, executionArn, authorize),
    [LAMBDA_INVOKE]: (async (input: { FunctionName: string; Payload?: unknown }) => ({
      Payload: await invoke(input.FunctionName, input.Payload ?? {}),
      StatusCode: 200,
    })) as TaskHandler,
  };
  return createWorkflowEngine(definition, {
    stateMachineArn,
    executionArn,
    bind: (resource) =>
      integrations[resource] ??
      (lambda.find(resource) === undefined
        ? undefined
        : (((input) => invoke(resource, input)) as TaskHandler)),
    fastRetries: options.fastRetries ?? false,
  });
}

/**
 * The template's state machine (there is one) as deployed: its definition with the
 * DefinitionSubstitutions resolved, its role's logical ID and its ARN.
 */
export function synthesizedStateMachine(stack: SynthesizedStack, resolve: (value: unknown) => unknown) {
  const machines = Object.entries(stack.template.Resources).filter(
    ([, r]) => r.Type === 'AWS::StepFunctions::StateMachine',
  );
  const [only] = machines;
  if (only === undefined || machines.length > 1)
    throw new Error(`the synthesized template has ${machines.length} state machines, not one`);
  const [id, resource] = only;
  const properties = resource.Properties ?? {};
  const substitutions = resolve(properties.DefinitionSubstitutions ?? {}) as Record<string, string>;
  return {
    definition: JSON.parse(substitute(definitionText(stack, properties), substitutions)) as unknown,
    role: logicalIdOf(properties.RoleArn, `${id}.RoleArn`),
    stateMachineArn: String(resolve({ Ref: id })),
  };
}

/** The definition a state machine resource deploys: its DefinitionString, or its definition asset. */
export function definitionText(stack: SynthesizedStack, properties: Record<string, unknown>): string {
  if (typeof properties.DefinitionString === 'string') return properties.DefinitionString;
  const key = (properties.DefinitionS3Location as { Key?: unknown } | undefined)?.Key;
  if (typeof key !== 'string')
    throw new Error('the state machine has neither a DefinitionString nor a DefinitionS3Location key');
  return readFileSync(join(stack.directory, `asset.${key}`), 'utf8');
}

/**
 * A fault a test injects into the next execution that reaches a Task (issue 16 §1: the execution
 * that owns a transition dies after its state write). `fail`: the Task fails with
 * {@link INJECTED_FAULT} (its Retry does not name it; its Catch, if any, takes it), as a Lambda
 * that crashes does. `die`: the execution stops there, before the Task runs, as when the runtime
 * is killed or the execution times out; its record is FAILED with {@link EXECUTION_DIED}.
 */
export interface InjectedFault {
  /** The Task state's name, e.g. `WithdrawStalePlaylists`, `PublishAlert`. */
  readonly task: string;
  readonly mode: 'fail' | 'die';
}

/** The error an injected `fail` raises. */
export const INJECTED_FAULT = 'InjectedFault';
/** The error recorded for an execution that an injected `die` stopped. */
export const EXECUTION_DIED = 'ExecutionDied';

interface EngineOptions {
  readonly stateMachineArn: string;
  /** `$$.Execution.Id` is `<this>:<execution name>`. */
  readonly executionArn: string;
  /** The local implementation of a Task's Resource, if there is one. */
  readonly bind: (resource: string) => TaskHandler | undefined;
  readonly fastRetries: boolean;
}

function createWorkflowEngine(definition: unknown, options: EngineOptions) {
  const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
  const handlers: Record<string, TaskHandler> = {};
  for (const [name, state] of taskStates(definition)) {
    const handler = options.bind(state.Resource);
    if (handler === undefined)
      throw new Error(
        `local engine: Task state ${name} calls ${state.Resource}, which has no local implementation (bind it in local/engine.ts)`,
      );
    handlers[name] = handler;
  }
  const stateMachineName = options.stateMachineArn.slice(options.stateMachineArn.lastIndexOf(':') + 1);
  let counter = 0;
  const faults: InjectedFault[] = [];

  /** The handlers of one execution, with the pending faults armed; `die` calls `stop`. */
  function armed(stop: (task: string) => void): Record<string, TaskHandler> {
    if (faults.length === 0) return handlers;
    return Object.fromEntries(
      Object.entries(handlers).map(([task, handler]) => [
        task,
        ((input: never) => {
          const at = faults.findIndex((f) => f.task === task);
          if (at < 0) return handler(input);
          const [fault] = faults.splice(at, 1);
          if (fault?.mode === 'fail') {
            const error = new Error(`fault injected into ${task}`);
            error.name = INJECTED_FAULT;
            return Promise.reject(error);
          }
          stop(task);
          // A process that died answers nothing: the Task never settles.
          return new Promise<never>(() => undefined);
        }) as TaskHandler,
      ]),
    );
  }

  /** Runs one execution to its end; never throws for a failed execution (that is a record). */
  async function run(input: unknown): Promise<ExecutionRecord> {
    const name = `local-${Date.now()}-${++counter}`;
    const startedAt = Date.now();
    let died: string | undefined;
    let abort: () => void = () => undefined;
    const taskHandlers = armed((task) => {
      died = task;
      abort();
    });
    const execution = machine.run(input, {
      // The context object AWS gives ($$.Execution.Id is the execution ARN; the audit record keeps it).
      context: {
        Execution: { Id: `${options.executionArn}:${name}`, Name: name },
        StateMachine: { Id: options.stateMachineArn, Name: stateMachineName },
      },
      overrides: {
        taskResourceLocalHandlers: taskHandlers as never,
        ...(options.fastRetries
          ? { retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((s) => [s, 10])) }
          : {}),
      },
    });
    abort = execution.abort;
    const events: unknown[] = [];
    const collecting = (async () => {
      for await (const event of execution.eventLogs) events.push(event);
    })();
    let outcome: Pick<ExecutionRecord, 'status' | 'output' | 'error' | 'cause'>;
    try {
      const output = await execution.result;
      await collecting;
      outcome = { status: 'SUCCEEDED', output };
    } catch (error) {
      await collecting.catch(() => undefined);
      // The engine wraps the failure; the ExecutionFailed event has the Fail state's Error and Cause.
      const failed = events.findLast((e) => (e as { type?: string }).type === 'ExecutionFailed') as
        | { Error?: string; Cause?: string }
        | undefined;
      outcome = {
        status: 'FAILED',
        error: failed?.Error ?? (error as Error).name,
        cause: failed?.Cause ?? String((error as Error).message),
      };
    }
    if (died !== undefined)
      outcome = { status: 'FAILED', error: EXECUTION_DIED, cause: `fault injected: died before ${died}` };
    const overQuota = payloadOverQuota(events);
    if (overQuota !== undefined)
      outcome = { status: 'FAILED', error: 'States.DataLimitExceeded', cause: overQuota };
    return { name, input, ...outcome, startedAt, durationMs: Date.now() - startedAt, events };
  }

  /** Arms a fault for the next execution that reaches `fault.task` (once). */
  const injectFault = (fault: InjectedFault) => {
    if (!(fault.task in handlers)) throw new Error(`local engine: no Task state named ${fault.task}`);
    faults.push(fault);
  };

  return { run, injectFault };
}
