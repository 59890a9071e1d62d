/**
 * The local Lambda service: every `AWS::Lambda::Function` of the synthesized template runs from
 * its bundled asset in `cdk.out/` (what `cdk deploy` uploads), each invocation in a worker thread
 * with the template's handler, environment variables, memory and timeout, and credentials that
 * name the function's role (so the local S3 endpoint can check the role's policies).
 *
 * As on Lambda: a warm worker serves the next invocation (one invocation per worker at a time;
 * another worker starts when an invocation has waited for a busy one, up to a bound); a thrown
 * error is reported as `{errorType: error.name, errorMessage, trace}` (aws-lambda-nodejs-runtime-interface-client,
 * `formatError`); a timeout ends the worker and reports `Sandbox.Timedout`. Each function's
 * stdout and stderr go to `<logDir>/<function name>.log` (its CloudWatch log group), except
 * embedded-metric-format lines, which go to the metrics sink.
 *
 * Logging follows the template's `LoggingConfig` as Lambda's advanced logging controls do: with
 * `LogFormat: JSON`, `console` methods print Lambda's JSON object (timestamp, level, requestId,
 * message) while other stdout lines stay as written; an application line whose `level` is below
 * `ApplicationLogLevel` is dropped (a line without one is INFO: EMF lines too, so an
 * `ApplicationLogLevel` above INFO loses the metrics, as on AWS); the START/END/REPORT lines are
 * INFO system logs, written only when `SystemLogLevel` lets INFO through (as JSON `platform.*`
 * records in JSON format).
 *
 * Memory is approximate: `MemorySize` caps the worker's V8 heap (`resourceLimits`), not the
 * process; CPU scales with nothing.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { localAccessKeyId } from './aws-request';
import { resourcesOfType, type SynthesizedStack } from './cloudformation';

/** One Lambda function as the template defines it, resolved for the local account. */
export interface LambdaFunctionConfig {
  readonly logicalId: string;
  readonly functionName: string;
  readonly functionArn: string;
  /** The bundle folder (`cdk.out/asset.<hash>`). */
  readonly assetDir: string;
  /** `<module>.<export>`, e.g. `index.handler`. */
  readonly handler: string;
  readonly runtime: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  /** Logical ID of the function's execution role. */
  readonly role: string;
  readonly logGroupName: string;
  /** The template's `LoggingConfig`, as far as logging is emulated. @default Text format, no filtering */
  readonly logging?: LambdaLogging;
}

/** What `LoggingConfig` says about the format and levels of a function's logs. */
export interface LambdaLogging {
  readonly format: 'Text' | 'JSON';
  /** Only with JSON. @default INFO */
  readonly applicationLogLevel?: string;
  /** Only with JSON. @default INFO */
  readonly systemLogLevel?: string;
}

/** Lambda's log levels, least severe first. */
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;

/** Whether a line of `level` passes a function's threshold (an unknown or missing level is INFO). */
export function passesLogLevel(level: unknown, threshold: string | undefined): boolean {
  const rank = (l: unknown, fallback: number) => {
    const i = LOG_LEVELS.indexOf(String(l).toUpperCase() as (typeof LOG_LEVELS)[number]);
    return i < 0 ? fallback : i;
  };
  const info = LOG_LEVELS.indexOf('INFO');
  return rank(level, info) >= rank(threshold, info);
}

/** The logical ID an `Fn::GetAtt [X, Arn]` (or `Ref`) names. */
export function logicalIdOf(value: unknown, what: string): string {
  const v = value as { 'Fn::GetAtt'?: unknown[]; Ref?: unknown } | undefined;
  const id = v?.['Fn::GetAtt']?.[0] ?? v?.Ref;
  if (typeof id !== 'string') throw new Error(`${what} is not a reference to a resource of the template`);
  return id;
}

/** Every Lambda function of a synthesized stack, with its intrinsics resolved. */
export function lambdaFunctionsOf(
  stack: SynthesizedStack,
  resolve: (value: unknown) => unknown,
): LambdaFunctionConfig[] {
  return resourcesOfType(stack.template, 'AWS::Lambda::Function').map((logicalId) => {
    const properties = stack.template.Resources[logicalId]?.Properties ?? {};
    const functionArn = String(resolve({ 'Fn::GetAtt': [logicalId, 'Arn'] }));
    const functionName = functionArn.slice(functionArn.lastIndexOf(':') + 1);
    const logging = properties.LoggingConfig as
      | { LogGroup?: unknown; LogFormat?: string; ApplicationLogLevel?: string; SystemLogLevel?: string }
      | undefined;
    const variables = (properties.Environment as { Variables?: unknown } | undefined)?.Variables ?? {};
    return {
      logicalId,
      functionName,
      functionArn,
      assetDir: stack.assetPath(logicalId),
      handler: String(properties.Handler ?? 'index.handler'),
      runtime: String(properties.Runtime ?? 'nodejs24.x'),
      environment: Object.fromEntries(
        Object.entries(resolve(variables) as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
      ),
      // Lambda's defaults when the template gives none.
      memorySize: Number(properties.MemorySize ?? 128),
      timeoutSeconds: Number(properties.Timeout ?? 3),
      role: logicalIdOf(properties.Role, `${logicalId}.Role`),
      logGroupName:
        logging?.LogGroup === undefined ? `/aws/lambda/${functionName}` : String(resolve(logging.LogGroup)),
      logging:
        logging?.LogFormat === 'JSON'
          ? {
              format: 'JSON',
              ...(logging.ApplicationLogLevel === undefined
                ? {}
                : { applicationLogLevel: logging.ApplicationLogLevel }),
              ...(logging.SystemLogLevel === undefined ? {} : { systemLogLevel: logging.SystemLogLevel }),
            }
          : { format: 'Text' },
    };
  });
}

/** What Lambda returns for a failed invocation (the function error payload). */
export interface LambdaErrorPayload {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: readonly string[];
}

/**
 * A failed invocation as Step Functions sees it: `name` is the payload's `errorType` (the Error
 * that `ErrorEquals` matches) and `message` the payload as JSON (the Cause AWS gives for a Task
 * whose Resource is a function ARN).
 */
export class LambdaFunctionError extends Error {
  readonly payload: LambdaErrorPayload;
  constructor(payload: LambdaErrorPayload) {
    super(JSON.stringify(payload));
    this.name = payload.errorType;
    this.payload = payload;
  }
}

export interface LambdaHostOptions {
  readonly functions: readonly LambdaFunctionConfig[];
  readonly region: string;
  /** Environment variables every function gets besides the template's (e.g. `AWS_ENDPOINT_URL_S3`). */
  readonly serviceEnvironment?: Readonly<Record<string, string>>;
  /** Receives every embedded-metric-format line a function writes. */
  readonly emitMetricLine: (line: string) => void;
  /** Where each function's log file goes. */
  readonly logDir: string;
  /**
   * Workers per function at most (Lambda's concurrency, bounded for one machine: beyond it an
   * invocation waits for a warm worker). Another worker starts only when an invocation has waited
   * for a busy one. @default 2
   *
   * One worker is not enough: a CheckCounterpartFreshness invocation that waits out the
   * counterpart's lag grace holds its worker for up to a second, and every other event of the
   * channel would queue behind it. More are not better on a small machine: each cold start costs
   * about a second of CPU, and each worker compiles the bundle's hot code again (measured: four
   * workers per function made the first executions 5 to 9 s long on 2 loaded cores).
   */
  readonly maxWorkersPerFunction?: number;
  /**
   * Starts one worker per function now (its init phase, as provisioned concurrency does), so the
   * first invocation does not wait for a cold start. @default true
   */
  readonly prewarm?: boolean;
}

export interface LambdaHost {
  /** Resolves when the prewarmed workers have finished their init phase. */
  readonly ready: Promise<void>;
  /** Invokes a function by logical ID, ARN or name; rejects with {@link LambdaFunctionError}. */
  invoke(functionId: string, event: unknown): Promise<unknown>;
  /** The function an ARN, name or logical ID names, if any. */
  find(functionId: string): LambdaFunctionConfig | undefined;
  close(): Promise<void>;
}

/**
 * Runs inside each worker: loads the bundle once (the init phase) and serves invocations. Plain
 * JavaScript evaluated by the worker, so it runs the same under tsx, ts-jest and compiled dist.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { join } = require('node:path');
const formatError = (error) =>
  error instanceof Error
    ? { errorType: String(error.name), errorMessage: String(error.message), trace: String(error.stack ?? '').split('\\n') }
    : { errorType: typeof error, errorMessage: String(error), trace: [] };
const dot = workerData.handler.lastIndexOf('.');
const moduleName = workerData.handler.slice(0, dot);
const exportName = workerData.handler.slice(dot + 1);
// Output travels on the same port as results, so it is in the log (and the metrics sink) before
// the invocation ends; the worker's own stdout stream would deliver it later, unordered.
for (const [stream, name] of [[process.stdout, 'stdout'], [process.stderr, 'stderr']])
  stream.write = (chunk, encoding, callback) => {
    parentPort.postMessage({ output: String(chunk), stream: name });
    (typeof encoding === 'function' ? encoding : callback)?.();
    return true;
  };
// Lambda's JSON log format: console methods print one JSON object per call (what the Node.js
// runtime does); process.stdout.write is left alone.
let requestId;
if (process.env.AWS_LAMBDA_LOG_FORMAT === 'JSON') {
  const { format } = require('node:util');
  for (const [method, level] of [['log', 'INFO'], ['info', 'INFO'], ['warn', 'WARN'], ['error', 'ERROR'], ['debug', 'DEBUG'], ['trace', 'TRACE']])
    console[method] = (...args) =>
      process.stdout.write(JSON.stringify({ timestamp: new Date().toISOString(), level, requestId, message: format(...args) }) + '\\n');
}
let handler;
let initError;
if (/--enable-source-maps/.test(process.env.NODE_OPTIONS ?? '')) process.setSourceMapsEnabled(true);
try {
  handler = require(join(workerData.assetDir, moduleName))[exportName];
  if (typeof handler !== 'function')
    initError = { errorType: 'Runtime.HandlerNotFound', errorMessage: workerData.handler + ' is undefined or not exported', trace: [] };
} catch (error) {
  initError = error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(moduleName)
    ? { errorType: 'Runtime.ImportModuleError', errorMessage: 'Error: Cannot find module ' + moduleName, trace: [] }
    : formatError(error);
}
parentPort.postMessage({ initialized: true });
process.on('unhandledRejection', (reason) => {
  const e = formatError(reason);
  process.stderr.write('Unhandled Promise Rejection ' + e.errorType + ': ' + e.errorMessage + '\\n');
  parentPort.postMessage({ crashed: { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: e.errorType + ': ' + e.errorMessage, trace: e.trace } });
});
parentPort.on('message', async ({ id, context }) => {
  const event = JSON.parse(context.event);
  if (initError !== undefined) return parentPort.postMessage({ id, error: initError });
  const deadline = Date.now() + context.timeoutMs;
  requestId = id;
  try {
    const result = await handler(event, {
      ...context.fields,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    });
    parentPort.postMessage({ id, result: JSON.stringify(result ?? null) });
  } catch (error) {
    parentPort.postMessage({ id, error: formatError(error) });
  }
});
`;

interface Pending {
  readonly id: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Slot {
  readonly worker: Worker;
  /** Resolves when the worker has loaded the bundle (its init phase). */
  readonly initialized: Promise<void>;
  pending: Pending | undefined;
  dead: boolean;
}

/** Starts the local Lambda service for these functions (workers start on first invocation). */
export function startLambdaHost(options: LambdaHostOptions): LambdaHost {
  const max = options.maxWorkersPerFunction ?? 2;
  mkdirSync(options.logDir, { recursive: true });
  const pools = new Map<string, FunctionPool>();
  const warming: Promise<void>[] = [];
  for (const config of options.functions) {
    const pool = new FunctionPool(config, options, max);
    if (options.prewarm ?? true) warming.push(pool.prewarm());
    pools.set(config.logicalId, pool);
  }
  const find = (functionId: string) =>
    options.functions.find((f) => [f.logicalId, f.functionArn, f.functionName].includes(functionId));
  return {
    ready: Promise.all(warming).then(() => undefined),
    find,
    invoke: (functionId, event) => {
      const config = find(functionId);
      if (config === undefined)
        return Promise.reject(
          new LambdaFunctionError({
            errorType: 'ResourceNotFoundException',
            errorMessage: `Function not found: ${functionId}`,
            trace: [],
          }),
        );
      return (pools.get(config.logicalId) as FunctionPool).invoke(event);
    },
    close: async () => {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
    },
  };
}

/** How long an invocation waits for a busy worker before another one starts. */
const COLD_START_AFTER_MS = 200;

class FunctionPool {
  private readonly idle: Slot[] = [];
  private readonly all = new Set<Slot>();
  private readonly waiting: { resolve: (slot: Slot) => void; reject: (error: Error) => void }[] = [];
  private readonly log: WriteStream;
  private readonly environment: Record<string, string>;

  constructor(
    private readonly config: LambdaFunctionConfig,
    private readonly options: LambdaHostOptions,
    private readonly max: number,
  ) {
    this.log = createWriteStream(join(options.logDir, `${config.functionName}.log`), { flags: 'a' });
    const { region } = options;
    this.environment = {
      // What the Lambda runtime environment sets (reserved variables), then the template's.
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_EXECUTION_ENV: `AWS_Lambda_${config.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: config.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(config.memorySize),
      AWS_LAMBDA_LOG_GROUP_NAME: config.logGroupName,
      ...(config.logging?.format === 'JSON'
        ? {
            AWS_LAMBDA_LOG_FORMAT: 'JSON',
            AWS_LAMBDA_LOG_LEVEL: config.logging.applicationLogLevel ?? 'INFO',
          }
        : {}),
      AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${randomUUID().replace(/-/g, '')}`,
      AWS_ACCESS_KEY_ID: localAccessKeyId(config.role),
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SESSION_TOKEN: 'local',
      LAMBDA_TASK_ROOT: config.assetDir,
      _HANDLER: config.handler,
      LANG: 'en_US.UTF-8',
      ...(process.env.PATH === undefined ? {} : { PATH: process.env.PATH }),
      ...options.serviceEnvironment,
      ...config.environment,
    };
  }

  async invoke(event: unknown): Promise<unknown> {
    const slot = await this.acquire();
    const id = randomUUID();
    const started = Date.now();
    const timeoutMs = this.config.timeoutSeconds * 1000;
    this.platform('start', { requestId: id, version: '$LATEST' }, `START RequestId: ${id} Version: $LATEST`);
    try {
      return await new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.kill(slot, {
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${id} Error: Task timed out after ${this.config.timeoutSeconds.toFixed(2)} seconds`,
            trace: [],
          });
        }, timeoutMs);
        slot.pending = { id, resolve, reject, timer };
        const { config } = this;
        slot.worker.postMessage({
          id,
          context: {
            event: JSON.stringify(event ?? null),
            timeoutMs,
            fields: {
              awsRequestId: id,
              functionName: config.functionName,
              functionVersion: '$LATEST',
              invokedFunctionArn: config.functionArn,
              memoryLimitInMB: String(config.memorySize),
              logGroupName: config.logGroupName,
              logStreamName: this.environment.AWS_LAMBDA_LOG_STREAM_NAME,
            },
          },
        });
      });
    } finally {
      const durationMs = Date.now() - started;
      this.platform('runtimeDone', { requestId: id }, `END RequestId: ${id}`);
      this.platform(
        'report',
        { requestId: id, metrics: { durationMs, memorySizeMB: this.config.memorySize } },
        `REPORT RequestId: ${id}\tDuration: ${durationMs} ms\tMemory Size: ${this.config.memorySize} MB`,
      );
      this.release(slot);
    }
  }

  /** A system (platform) log line, INFO level: text, or Lambda's JSON `platform.*` record; none under a higher SystemLogLevel. */
  private platform(type: string, record: Record<string, unknown>, text: string): void {
    const logging = this.config.logging;
    if (logging?.format !== 'JSON') {
      this.log.write(`${text}\n`);
      return;
    }
    if (!passesLogLevel('INFO', logging.systemLogLevel)) return;
    this.log.write(
      `${JSON.stringify({ time: new Date().toISOString(), type: `platform.${type}`, record })}\n`,
    );
  }

  /** Whether an application log line passes the function's ApplicationLogLevel (JSON format only). */
  private passes(text: string): boolean {
    const logging = this.config.logging;
    if (logging?.format !== 'JSON' || !text.startsWith('{')) return true;
    try {
      return passesLogLevel((JSON.parse(text) as { level?: unknown }).level, logging.applicationLogLevel);
    } catch {
      return true;
    }
  }

  /** Starts one worker (provisioned concurrency of 1); resolves when its init phase is done. */
  prewarm(): Promise<void> {
    return this.all.size === 0 ? this.start().initialized : Promise.resolve();
  }

  /**
   * A worker for the next invocation: a warm idle one, else whichever is free first. A new worker
   * (while under the bound) starts only when the invocation has waited {@link COLD_START_AFTER_MS}:
   * most invocations take less than a cold start (about half a second of CPU here), and a burst
   * of cold starts would slow every invocation in flight on a small machine.
   */
  private acquire(): Promise<Slot> {
    const warm = this.idle.pop();
    if (warm !== undefined) return Promise.resolve(warm);
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      this.waiting.push(waiter);
      const timer = setTimeout(() => {
        if (this.waiting.includes(waiter) && this.all.size < this.max) this.start();
      }, COLD_START_AFTER_MS);
      timer.unref();
    });
  }

  /** Spawns a worker that joins the pool (or serves a waiting invocation) once initialized. */
  private start(): Slot {
    const slot = this.spawn();
    void slot.initialized.then(() => {
      if (!slot.dead) return this.release(slot);
      // Died in its init phase (out of memory, a crash): fail what waits rather than respawn forever.
      this.all.delete(slot);
      if (this.all.size === 0)
        for (const waiter of this.waiting.splice(0))
          waiter.reject(
            new LambdaFunctionError({
              errorType: 'Runtime.ExitError',
              errorMessage: `${this.config.functionName}: the runtime exited during its init phase`,
              trace: [],
            }),
          );
    });
    return slot;
  }

  private release(slot: Slot): void {
    if (slot.dead) {
      this.all.delete(slot);
      if (this.waiting.length > 0 && this.all.size < this.max) this.start();
      return;
    }
    const next = this.waiting.shift();
    if (next !== undefined) next.resolve(slot);
    else this.idle.push(slot);
  }

  private spawn(): Slot {
    const { config } = this;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { assetDir: config.assetDir, handler: config.handler },
      env: this.environment,
      stdout: true,
      stderr: true,
      // Approximate: the heap of one thread, not a process's memory.
      resourceLimits: { maxOldGenerationSizeMb: config.memorySize },
    });
    let initialized!: () => void;
    const slot: Slot = {
      worker,
      initialized: new Promise<void>((resolve) => {
        initialized = resolve;
      }),
      pending: undefined,
      dead: false,
    };
    worker.once('exit', () => initialized());
    this.all.add(slot);
    const line = (text: string, stdout: boolean) => {
      if (!this.passes(text)) return;
      if (stdout && isEmfLine(text)) this.options.emitMetricLine(text);
      else if (!this.log.writableEnded) this.log.write(`${text}\n`);
    };
    const partial = { stdout: '', stderr: '' };
    const output = (text: string, stream: 'stdout' | 'stderr') => {
      const lines = (partial[stream] + text).split('\n');
      partial[stream] = lines.pop() ?? '';
      for (const l of lines) line(l, stream === 'stdout');
    };
    // Whatever bypasses process.stdout.write (none of our code does) still reaches the log.
    createInterface({ input: worker.stdout }).on('line', (l) => line(l, true));
    createInterface({ input: worker.stderr }).on('line', (l) => line(l, false));
    worker.on(
      'message',
      (message: {
        id?: string;
        result?: string;
        error?: LambdaErrorPayload;
        crashed?: LambdaErrorPayload;
        initialized?: boolean;
        output?: string;
        stream?: 'stdout' | 'stderr';
      }) => {
        if (message.output !== undefined) return output(message.output, message.stream ?? 'stdout');
        if (message.initialized) return initialized();
        if (message.crashed !== undefined) return this.kill(slot, message.crashed);
        const pending = slot.pending;
        if (pending === undefined || pending.id !== message.id) return;
        clearTimeout(pending.timer);
        slot.pending = undefined;
        if (message.error !== undefined) pending.reject(new LambdaFunctionError(message.error));
        else pending.resolve(JSON.parse(message.result ?? 'null'));
      },
    );
    worker.on('error', (error: Error & { code?: string }) =>
      this.kill(slot, {
        errorType: error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'Runtime.OutOfMemory' : 'Runtime.ExitError',
        errorMessage: `RequestId: ${slot.pending?.id ?? '-'} Error: Runtime exited with error: ${error.message}`,
        trace: [],
      }),
    );
    worker.on('exit', (code) =>
      this.kill(slot, {
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${slot.pending?.id ?? '-'} Error: Runtime exited with error: exit status ${code}`,
        trace: [],
      }),
    );
    return slot;
  }

  /** Ends a worker (timeout, crash) and fails its invocation, if any, with `payload`. */
  private kill(slot: Slot, payload: LambdaErrorPayload): void {
    const pending = slot.pending;
    slot.pending = undefined;
    if (!slot.dead) {
      slot.dead = true;
      const i = this.idle.indexOf(slot);
      if (i >= 0) {
        this.idle.splice(i, 1);
        this.all.delete(slot);
      }
      void slot.worker.terminate();
    }
    if (pending !== undefined) {
      clearTimeout(pending.timer);
      this.log.write(`${payload.errorMessage}\n`);
      pending.reject(new LambdaFunctionError(payload));
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.all].map((slot) => slot.worker.terminate()));
    this.all.clear();
    this.idle.length = 0;
    await new Promise<void>((resolve) => this.log.end(resolve));
  }
}

/** A CloudWatch embedded-metric-format line: a JSON object with an `_aws` metadata member. */
function isEmfLine(line: string): boolean {
  if (!line.startsWith('{') || !line.includes('"_aws"')) return false;
  try {
    return typeof (JSON.parse(line) as { _aws?: unknown })._aws === 'object';
  } catch {
    return false;
  }
}
