/**
 * Observes what the workflow does, in this process, for the cost bench: every AWS SDK call (the
 * shared base `Client.prototype.send` of the SDK v3, which every service client inherits), every
 * execution the engine runs (aws-local-stepfunctions' `StateMachine.prototype.run`), every Task
 * invocation and its duration (the engine's local Task handlers), and each line a handler prints.
 * An AsyncLocalStorage context ties each call and line to the execution and the invocation that
 * made it; calls made outside any execution (the encoders' ingest through the origin, the bench's
 * own) are not the workflow's and stay unattributed.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
// Loaded before observeWorkflow requires aws-local-stepfunctions: the engine installs the polyfill it needs.
import '../../local/engine';

export interface SdkCall {
  /** The client's service id: S3, DynamoDB, SNS, … */
  readonly service: string;
  /** The command without "Command": GetObject, PutItem, … */
  readonly command: string;
  /** HTTP status (200 on success; the error's status, or 0 when none). */
  readonly status: number;
  readonly errorName?: string;
  /** When the call started (performance.now()), and how long it took locally. */
  readonly startMs: number;
  readonly ms: number;
  readonly input: Readonly<Record<string, unknown>>;
  readonly output?: Readonly<Record<string, unknown>>;
}

export interface TaskInvocation {
  readonly state: string;
  readonly ms: number;
  readonly ok: boolean;
  readonly calls: readonly SdkCall[];
  /** Lines the handler printed (log lines and metric lines). */
  readonly lines: readonly string[];
}

export interface ObservedExecution {
  /** The engine's execution name (ExecutionRecord.name). */
  readonly name: string;
  readonly input: unknown;
  /** The bench's phase when the execution started. */
  readonly phase: string;
  readonly invocations: TaskInvocation[];
  /** SDK calls made by the engine outside a Task handler (none today). */
  readonly calls: SdkCall[];
}

interface Context {
  readonly execution: ObservedExecution;
  readonly invocation?: { calls: SdkCall[]; lines: string[] };
}

export interface Observer {
  readonly executions: ObservedExecution[];
  /** SDK calls outside any execution (ingest, the bench), counted by service and command. */
  readonly unattributed: Map<string, number>;
  /** Sets the phase the next executions are counted in. */
  phase(name: string): void;
  /** Attributes a line a handler printed to the running invocation (runtime option functionOutput). */
  line(text: string): void;
  restore(): void;
}

type Send = (
  this: { config?: { serviceId?: unknown } },
  command: unknown,
  ...rest: unknown[]
) => Promise<unknown>;
type Run = (this: unknown, input: unknown, options?: RunOptions) => unknown;
interface RunOptions {
  context?: { Execution?: { Name?: string } };
  overrides?: { taskResourceLocalHandlers?: Record<string, (input: unknown) => Promise<unknown>> };
}

/** The base client prototypes that own `send`, from every SDK client package installed. */
function baseClientPrototypes(): { send: Send }[] {
  const clients: unknown[] = [S3Client, SNSClient];
  for (const pkg of ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-sfn']) {
    try {
      const mod = require(pkg) as Record<string, unknown>;
      for (const value of Object.values(mod))
        if (typeof value === 'function' && /Client$/.test(value.name)) clients.push(value);
    } catch {
      // not installed: nothing of it to observe
    }
  }
  const found = new Set<{ send: Send }>();
  for (const client of clients) {
    let proto = (client as { prototype: object }).prototype;
    while (proto !== null && proto !== Object.prototype) {
      if (Object.hasOwn(proto, 'send') && proto.constructor.name === 'Client')
        found.add(proto as { send: Send });
      proto = Object.getPrototypeOf(proto) as object;
    }
  }
  return [...found];
}

/**
 * Starts observing. DynamoDB requests get `ReturnConsumedCapacity: 'TOTAL'` (when they set
 * nothing) so the capacity the server reports can be priced.
 */
export function observeWorkflow(): Observer {
  const storage = new AsyncLocalStorage<Context>();
  const executions: ObservedExecution[] = [];
  const unattributed = new Map<string, number>();
  let phase = 'setup';
  const restores: (() => void)[] = [];

  for (const proto of baseClientPrototypes()) {
    const original = proto.send;
    proto.send = async function (
      this: { config?: { serviceId?: unknown } },
      command: unknown,
      ...rest: unknown[]
    ) {
      const context = storage.getStore();
      const service = String(this.config?.serviceId ?? 'Unknown');
      const commandName = ((command as object).constructor?.name ?? 'Unknown').replace(/Command$/, '');
      if (context === undefined) {
        const key = `${service} ${commandName}`;
        unattributed.set(key, (unattributed.get(key) ?? 0) + 1);
        return original.call(this, command, ...rest);
      }
      const input = ((command as { input?: Record<string, unknown> }).input ?? {}) as Record<string, unknown>;
      if (service === 'DynamoDB' && input.ReturnConsumedCapacity === undefined)
        input.ReturnConsumedCapacity = 'TOTAL';
      const sink = context.invocation?.calls ?? context.execution.calls;
      const start = performance.now();
      try {
        const output = (await original.call(this, command, ...rest)) as Record<string, unknown>;
        sink.push({
          service,
          command: commandName,
          status: 200,
          startMs: start,
          ms: performance.now() - start,
          input,
          output,
        });
        return output;
      } catch (error) {
        const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
        sink.push({
          service,
          command: commandName,
          status: e.$metadata?.httpStatusCode ?? 0,
          ...(e.name === undefined ? {} : { errorName: e.name }),
          startMs: start,
          ms: performance.now() - start,
          input,
        });
        throw error;
      }
    };
    restores.push(() => {
      proto.send = original;
    });
  }

  const { StateMachine } = require('aws-local-stepfunctions') as {
    StateMachine: { prototype: { run: Run } };
  };
  const originalRun = StateMachine.prototype.run;
  // Map iterations and Parallel branches run as nested machines given their execution's handlers
  // (already wrapped): part of that execution, not executions of their own.
  const wrappedHandlers = new WeakSet<object>();
  StateMachine.prototype.run = function (this: unknown, input: unknown, options: RunOptions = {}) {
    const given = Object.values(options.overrides?.taskResourceLocalHandlers ?? {});
    if (given.some((h) => wrappedHandlers.has(h))) return originalRun.call(this, input, options);
    const execution: ObservedExecution = {
      name: options.context?.Execution?.Name ?? `unnamed-${executions.length}`,
      input,
      phase,
      invocations: [],
      calls: [],
    };
    executions.push(execution);
    const handlers = options.overrides?.taskResourceLocalHandlers ?? {};
    const wrapped = Object.fromEntries(
      Object.entries(handlers).map(([state, handler]) => [
        state,
        (taskInput: unknown) => {
          const invocation = { calls: [] as SdkCall[], lines: [] as string[] };
          return storage.run({ execution, invocation }, async () => {
            const start = performance.now();
            let ok = false;
            try {
              const result = await handler(taskInput);
              ok = true;
              return result;
            } finally {
              execution.invocations.push({ state, ms: performance.now() - start, ok, ...invocation });
            }
          });
        },
      ]),
    );
    const runOptions = {
      ...options,
      overrides: { ...options.overrides, taskResourceLocalHandlers: wrapped },
    };
    for (const handler of Object.values(wrapped)) wrappedHandlers.add(handler);
    return storage.run({ execution }, () => originalRun.call(this, input, runOptions));
  };
  restores.push(() => {
    StateMachine.prototype.run = originalRun;
  });

  return {
    executions,
    unattributed,
    phase: (name) => {
      phase = name;
    },
    line: (text) => {
      const context = storage.getStore();
      if (context?.invocation !== undefined) context.invocation.lines.push(text);
    },
    restore: () => {
      for (const restore of restores.reverse()) restore();
    },
  };
}
