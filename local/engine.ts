/**
 * The local engine: the same ASL file as AWS, filled by the same substitution function, executed
 * by aws-local-stepfunctions, with every Task bound to the same handler code (by state name).
 */
import { readFileSync } from 'node:fs';
import type { Alert } from '../functions/alerts';
import { createCheckFreshness } from '../functions/handlers/check-freshness';
import type { HandlerDeps } from '../functions/handlers/deps';
import { createMergeIndex } from '../functions/handlers/merge-index';
import { createPublishMetrics } from '../functions/handlers/publish-metrics';
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

export interface LocalWorkflowOptions {
  readonly deps: HandlerDeps;
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

/** Names of every Task state, Map processors included (the engine binds handlers by state name). */
function taskStateNames(node: unknown): string[] {
  if (node === null || typeof node !== 'object') return [];
  const states = (node as { States?: Record<string, unknown> }).States ?? {};
  return Object.entries(states).flatMap(([name, state]) => {
    const s = state as { Type?: string; ItemProcessor?: unknown; Branches?: unknown[] };
    return [
      ...(s.Type === 'Task' ? [name] : []),
      ...taskStateNames(s.ItemProcessor),
      ...(s.Branches ?? []).flatMap(taskStateNames),
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

/** ARNs for the local run: they only have to be well-formed; every Task runs in-process. */
const LOCAL_ARN = (name: string) => `arn:aws:lambda:local:000000000000:function:hls-failover-${name}`;
/** Local executions' ARNs (`<this>:<name>`), shaped like an Express execution ARN. */
export const LOCAL_EXECUTION_ARN = 'arn:aws:states:local:000000000000:express:hls-failover';
/** The local state machine's ARN (`$$.StateMachine.Id`). */
const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:local:000000000000:stateMachine:hls-failover';

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
  const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
  const metrics = createPublishMetrics(deps);
  const watchdog = createWatchdog(deps);
  const handlers: Record<string, TaskHandler> = {
    ValidatePlaylist: createValidatePlaylist(deps) as TaskHandler,
    CheckCounterpartFreshness: createCheckFreshness(deps) as TaskHandler,
    Watchdog: watchdog as TaskHandler,
    CheckChannel: watchdog as TaskHandler,
    MergeIndex: createMergeIndex(deps) as TaskHandler,
    WithdrawStalePlaylists: createWithdrawPlaylists(deps) as TaskHandler,
    PublishHealthMetrics: metrics as TaskHandler,
    RecordInvalidPlaylist: createRecordInvalidPlaylist(deps) as TaskHandler,
    RecordWorkflowFailure: metrics as TaskHandler,
    PublishAlert: (async (input: {
      Subject: string;
      Message: string;
      MessageAttributes: Alert['attributes'];
    }) => {
      await options.publishAlert({
        subject: input.Subject,
        message: input.Message,
        attributes: input.MessageAttributes,
      });
      return { MessageId: `local-${Date.now()}` };
    }) as TaskHandler,
    StartChannelCheck: (async (input: { Input: unknown }) => {
      options.startExecution(input.Input);
      return { ExecutionArn: `${LOCAL_EXECUTION_ARN}:started`, StartDate: new Date().toISOString() };
    }) as TaskHandler,
  };
  for (const name of taskStateNames(definition))
    if (handlers[name] === undefined)
      throw new Error(`local engine: Task state ${name} has no local handler (bind it in local/engine.ts)`);
  let counter = 0;

  /** Runs one execution to its end; never throws for a failed execution (that is a record). */
  async function run(input: unknown): Promise<ExecutionRecord> {
    const name = `local-${Date.now()}-${++counter}`;
    const startedAt = Date.now();
    const execution = machine.run(input, {
      // The context object AWS gives ($$.Execution.Id is the execution ARN; the audit record keeps it).
      context: {
        Execution: { Id: `${LOCAL_EXECUTION_ARN}:${name}`, Name: name },
        StateMachine: { Id: LOCAL_STATE_MACHINE_ARN, Name: 'hls-failover' },
      },
      overrides: {
        taskResourceLocalHandlers: handlers as never,
        ...(options.fastRetries
          ? { retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((s) => [s, 10])) }
          : {}),
      },
    });
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
    const overQuota = payloadOverQuota(events);
    if (overQuota !== undefined)
      outcome = { status: 'FAILED', error: 'States.DataLimitExceeded', cause: overQuota };
    return { name, input, ...outcome, startedAt, durationMs: Date.now() - startedAt, events };
  }

  return { run };
}
