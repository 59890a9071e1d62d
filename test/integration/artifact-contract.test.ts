/**
 * The contract between the synthesized template and its bundles (`cdk.out/`, what `cdk deploy`
 * uploads): the error names the state machine catches are the names the minified bundles really
 * throw, every Task's function exists with the handler the template names, and every environment
 * variable a handler reads is set by the template. The sources cannot show these: minification,
 * bundling and synthesis happen after them.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TemplateResource } from '../../local/cloudformation';
import { synthesizedStateMachine, taskStates } from '../../local/engine';
import { type LambdaHost, lambdaFunctionsOf, startLambdaHost } from '../../local/lambda-host';
import { listen } from '../../local/listen';
import { LOCAL_ACCOUNT, loadLocalStack } from '../../local/runtime';

const { stack, resolve } = loadLocalStack('live', 'hls-failover');
const { definition } = synthesizedStateMachine(stack, resolve);
const functions = lambdaFunctionsOf(stack, resolve);
const tasks = taskStates(definition);

/** Error names the definition matches, without the service's own (States.*, Lambda.*, SNS.*). */
function caughtNames(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const n of node) caughtNames(n, into);
  else if (node !== null && typeof node === 'object') {
    const errorEquals = (node as { ErrorEquals?: unknown }).ErrorEquals;
    if (Array.isArray(errorEquals))
      for (const name of errorEquals as string[]) if (!/^(States|Lambda|SNS)\./.test(name)) into.add(name);
    for (const v of Object.values(node)) caughtNames(v, into);
  }
  return into;
}

/** What the scripted S3 endpoint answers: status, S3 error code or object body. */
type S3Answer = { status: number; code?: string; body?: string };
/** What the scripted DynamoDB endpoint answers: status and JSON body. */
type DynamoDbAnswer = { status: number; body: unknown };
/** One way to make a Task's bundle throw an error name: the S3 and DynamoDB answers and the input. */
interface Scenario {
  readonly task: string;
  readonly input: unknown;
  readonly s3: (req: IncomingMessage) => S3Answer;
  /** By operation (`GetItem`, `PutItem`, …); by default an empty table that takes every write. */
  readonly dynamodb?: (operation: string) => DynamoDbAnswer;
}

/** An empty table: no item to read, every write taken. */
const emptyTable = (operation: string): DynamoDbAnswer => ({
  status: 200,
  body: operation === 'Scan' ? { Items: [] } : {},
});

const KEY = 'ch1/primary/720p.m3u8';
const noSuchKey: S3Answer = { status: 404, code: 'NoSuchKey' };
const SCENARIOS: Readonly<Record<string, Scenario>> = {
  PlaylistInvalid: {
    task: 'ValidatePlaylist',
    input: { bucket: 'live', key: KEY },
    s3: (req) =>
      new URL(req.url ?? '/', 'http://s3').pathname === `/live/${KEY}`
        ? { status: 200, body: '#EXTM3U\n#EXTINF:abc,\nseg.ts\n' }
        : noSuchKey,
  },
  StorageUnavailable: {
    task: 'ValidatePlaylist',
    input: { bucket: 'live', key: KEY },
    s3: () => ({ status: 503, code: 'SlowDown' }),
  },
  StateContention: {
    task: 'RecordInvalidPlaylist',
    input: {
      bucket: 'live',
      key: KEY,
      error: { Error: 'PlaylistInvalid', Cause: 'line 2 extinf-invalid: x' },
    },
    // No state yet, and every conditional write loses to "another execution".
    s3: () => noSuchKey,
    dynamodb: (operation) =>
      operation === 'PutItem'
        ? {
            status: 400,
            body: {
              __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
              message: 'The conditional request failed',
            },
          }
        : emptyTable(operation),
  },
};

/** A stand-in S3 and DynamoDB endpoint that answers every request as the running scenario says. */
async function scriptedS3(): Promise<{ url: string; set(s: Scenario): void; server: Server }> {
  let scenario: Scenario | undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', (): void => {
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string') {
        const operation = target.slice(target.indexOf('.') + 1);
        const answer = (scenario?.dynamodb ?? emptyTable)(operation);
        res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify(answer.body));
        return;
      }
      const answer = scenario?.s3(req) ?? { status: 500, code: 'InternalError' };
      const headers: Record<string, string> = { 'x-amz-request-id': 'local' };
      if (answer.body !== undefined) {
        Object.assign(headers, { etag: '"e1"', 'last-modified': new Date().toUTCString() });
        res.writeHead(answer.status, headers);
        res.end(req.method === 'HEAD' ? undefined : answer.body);
        return;
      }
      res.writeHead(answer.status, { ...headers, 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${answer.code}</Code><Message>scripted</Message></Error>`,
      );
    });
  });
  const port = await listen(server, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    set: (s) => {
      scenario = s;
    },
    server,
  };
}

describe('the synthesized stack and its bundles (cdk.out)', () => {
  let s3: Awaited<ReturnType<typeof scriptedS3>>;
  let host: LambdaHost;
  beforeAll(async () => {
    s3 = await scriptedS3();
    host = startLambdaHost({
      functions,
      region: LOCAL_ACCOUNT.region,
      serviceEnvironment: { AWS_ENDPOINT_URL_S3: s3.url, AWS_ENDPOINT_URL_DYNAMODB: s3.url },
      emitMetricLine: () => undefined,
      logDir: mkdtempSync(join(tmpdir(), 'hlsf-contract-')),
      maxWorkersPerFunction: 1,
      prewarm: false,
    });
  });
  afterAll(async () => {
    await host.close();
    await new Promise((resolve) => s3.server.close(resolve));
  });

  const caught = [...caughtNames(definition)].sort();

  it('catches at least one error name of its own', () => {
    expect(caught.length).toBeGreaterThan(0);
  });

  it.each(caught)(
    '%s, caught by the state machine, is the errorType a bundle really throws',
    async (name) => {
      const scenario = SCENARIOS[name];
      if (scenario === undefined)
        throw new Error(`no scenario makes a bundle throw ${name}: add one to SCENARIOS in this file`);
      const task = tasks.find(([state]) => state === scenario.task);
      expect(task).toBeDefined();
      s3.set(scenario);
      const failure = await host
        .invoke((task as [string, { Resource: string }])[1].Resource, scenario.input)
        .then(
          (output) => ({ name: 'no error', message: JSON.stringify(output) }),
          (error: Error) => error,
        );
      expect(`${failure.name}: ${failure.message.slice(0, 300)}`).toMatch(new RegExp(`^${name}: `));
    },
  );

  it.each(tasks.filter(([, t]) => !t.Resource.startsWith('arn:aws:states:::')))(
    'Task %s: its function exists in the template and its bundle exports the handler the template names',
    (_state, task) => {
      const fn = functions.find((f) => f.functionArn === task.Resource);
      expect(fn).toBeDefined();
      const { assetDir, handler } = fn as (typeof functions)[number];
      const dot = handler.lastIndexOf('.');
      const bundle = require(join(assetDir, handler.slice(0, dot))) as Record<string, unknown>;
      expect(typeof bundle[handler.slice(dot + 1)]).toBe('function');
    },
  );

  it.each(functions.map((f) => [f.logicalId, f] as const))(
    '%s: every environment variable its bundle reads is set by the template',
    (logicalId, fn) => {
      const text = readFileSync(join(fn.assetDir, 'index.js'), 'utf8');
      // Direct reads, and the names the config module reads from process.env (its HLS_FAILOVER_ table).
      const read = new Set([
        ...[...text.matchAll(/process\.env(?:\.([A-Za-z_]\w*)|\[\s*["'`](\w+)["'`]\s*\])/g)].map(
          (m) => (m[1] ?? m[2]) as string,
        ),
        ...[...text.matchAll(/["'`](HLS_FAILOVER_[A-Z0-9_]+)["'`]/g)].map((m) => m[1] as string),
      ]);
      // Set by the Lambda runtime itself, not the template.
      const fromLambda = (name: string) =>
        /^(AWS_|LAMBDA_|_HANDLER$|_X_AMZN_TRACE_ID$|TZ$|LANG$|PATH$)/.test(name);
      const resource = stack.template.Resources[logicalId] as TemplateResource;
      const variables =
        (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
          ?.Variables ?? {};
      expect([...read].filter((name) => !fromLambda(name) && !(name in variables))).toEqual([]);
      expect(read.size).toBeGreaterThan(0);
    },
  );

  it('the local Lambda host reads each function’s logging from the template: JSON, system WARN, application INFO', () => {
    expect(new Set(functions.map((f) => JSON.stringify(f.logging)))).toEqual(
      new Set([JSON.stringify({ format: 'JSON', applicationLogLevel: 'INFO', systemLogLevel: 'WARN' })]),
    );
  });
});
