/**
 * The local Lambda host (local/lambda-host.ts) on small hand-written bundles: what a handler
 * sees, and how an invocation ends as Lambda reports it to Step Functions.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localAccessKeyId } from '../../local/aws-request';
import {
  type LambdaFunctionConfig,
  LambdaFunctionError,
  type LambdaHost,
  startLambdaHost,
} from '../../local/lambda-host';

const BUNDLE = `
let invocations = 0;
class PlaylistInvalidError extends Error {
  constructor(message) { super(message); this.name = 'PlaylistInvalid'; }
}
exports.handler = async (event, context) => {
  invocations++;
  if (event.throw) throw new PlaylistInvalidError('line 3 extinf-invalid: bad duration');
  if (event.sleepMs) await new Promise((resolve) => setTimeout(resolve, event.sleepMs));
  if (event.print) {
    process.stdout.write(JSON.stringify({ _aws: { Timestamp: 1, CloudWatchMetrics: [] }, X: 1 }) + '\\n');
    console.log('a log line');
    process.stdout.write(JSON.stringify({ level: 'DEBUG', message: 'a debug line' }) + '\\n');
    process.stdout.write(JSON.stringify({ level: 'WARN', message: 'a warning' }) + '\\n');
  }
  return {
    invocations,
    env: Object.fromEntries(['AWS_REGION', 'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_ACCESS_KEY_ID', 'AWS_ENDPOINT_URL_S3', 'SETTING', 'AWS_LAMBDA_LOG_FORMAT', 'AWS_LAMBDA_LOG_LEVEL'].map((n) => [n, process.env[n]])),
    remainingMs: context.getRemainingTimeInMillis(),
    functionName: context.functionName,
  };
};
`;

function fixtureFunction(dir: string, overrides: Partial<LambdaFunctionConfig> = {}): LambdaFunctionConfig {
  const assetDir = join(dir, 'asset.fixture');
  mkdirSync(assetDir, { recursive: true });
  writeFileSync(join(assetDir, 'index.js'), BUNDLE);
  return {
    logicalId: 'FixtureFunction1234',
    functionName: 'hls-failover-FixtureFunction1234',
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:hls-failover-FixtureFunction1234',
    assetDir,
    handler: 'index.handler',
    runtime: 'nodejs24.x',
    environment: { SETTING: 'from the template' },
    memorySize: 256,
    timeoutSeconds: 1,
    role: 'FixtureRoleABCD',
    logGroupName: '/aws/lambda/hls-failover-FixtureFunction1234',
    ...overrides,
  };
}

describe('local Lambda host', () => {
  let dir: string;
  let host: LambdaHost;
  let metrics: string[];
  const start = (config: LambdaFunctionConfig) => {
    host = startLambdaHost({
      functions: [config],
      region: 'us-east-1',
      serviceEnvironment: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' },
      emitMetricLine: (line) => metrics.push(line),
      logDir: join(dir, 'logs'),
    });
    return host;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hlsf-lambda-'));
    metrics = [];
  });
  afterEach(async () => {
    await host.close();
  });

  it("runs the template's handler with its environment, Lambda's reserved variables and the role's access key", async () => {
    const config = fixtureFunction(dir);
    await start(config).ready;
    const result = (await host.invoke(config.functionArn, {})) as Record<string, unknown>;
    expect(result).toMatchObject({
      functionName: config.functionName,
      env: {
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: config.functionName,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        AWS_ACCESS_KEY_ID: localAccessKeyId('FixtureRoleABCD'),
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1',
        SETTING: 'from the template',
      },
    });
    expect(result.remainingMs).toBeGreaterThan(0);
    expect(result.remainingMs).toBeLessThanOrEqual(1000);
  });

  it('keeps a warm worker across invocations, as Lambda reuses an execution environment', async () => {
    const config = fixtureFunction(dir);
    start(config);
    const first = (await host.invoke(config.logicalId, {})) as { invocations: number };
    const second = (await host.invoke(config.logicalId, {})) as { invocations: number };
    expect([first.invocations, second.invocations]).toEqual([1, 2]);
  });

  it('reports a thrown error as Lambda does: errorType is error.name, the Cause is the JSON payload', async () => {
    const config = fixtureFunction(dir);
    start(config);
    const failure = await host.invoke(config.logicalId, { throw: true }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(LambdaFunctionError);
    expect((failure as Error).name).toBe('PlaylistInvalid');
    expect(JSON.parse((failure as Error).message)).toMatchObject({
      errorType: 'PlaylistInvalid',
      errorMessage: 'line 3 extinf-invalid: bad duration',
    });
  });

  it('ends an invocation past the Timeout as Sandbox.Timedout; the next one gets a fresh worker', async () => {
    const config = fixtureFunction(dir);
    start(config);
    const failure = await host.invoke(config.logicalId, { sleepMs: 5000 }).catch((e: unknown) => e);
    expect((failure as Error).name).toBe('Sandbox.Timedout');
    expect(JSON.parse((failure as Error).message).errorMessage).toMatch(/Task timed out after 1\.00 seconds/);
    expect(((await host.invoke(config.logicalId, {})) as { invocations: number }).invocations).toBe(1);
  });

  it('sends embedded-metric-format lines to the metrics sink and the rest to the function log file', async () => {
    const config = fixtureFunction(dir);
    start(config);
    await host.invoke(config.logicalId, { print: true });
    await host.close();
    expect(metrics.map((l) => JSON.parse(l).X)).toEqual([1]);
    const log = readFileSync(join(dir, 'logs', `${config.functionName}.log`), 'utf8');
    // Text format (no LoggingConfig): every line as printed, no level filtering.
    expect(log).toMatch(
      /START RequestId: [0-9a-f-]+ Version: \$LATEST\na log line\n\{"level":"DEBUG".*\n\{"level":"WARN".*\nEND RequestId/,
    );
    expect(log).not.toContain('_aws');
  });

  describe('logs as the template’s LoggingConfig says (Lambda’s advanced logging controls)', () => {
    const jsonLines = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const logOf = async (config: LambdaFunctionConfig, event: unknown) => {
      start(config);
      const result = (await host.invoke(config.logicalId, event)) as { env: Record<string, string> };
      await host.close();
      return { result, log: readFileSync(join(dir, 'logs', `${config.functionName}.log`), 'utf8') };
    };

    it('JSON at system level WARN and application level INFO: no START/END/REPORT, console lines as Lambda’s JSON, EMF kept raw, DEBUG dropped', async () => {
      const config = fixtureFunction(dir, {
        logging: { format: 'JSON', systemLogLevel: 'WARN', applicationLogLevel: 'INFO' },
      });
      const { result, log } = await logOf(config, { print: true });
      expect(result.env).toMatchObject({ AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: 'INFO' });
      expect(metrics.map((l) => JSON.parse(l).X)).toEqual([1]);
      const lines = jsonLines(log);
      expect(lines).toEqual([
        {
          timestamp: expect.any(String),
          level: 'INFO',
          requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          message: 'a log line',
        },
        { level: 'WARN', message: 'a warning' },
      ]);
    });

    it('JSON at system level INFO: the platform records, as JSON', async () => {
      const config = fixtureFunction(dir, { logging: { format: 'JSON', systemLogLevel: 'INFO' } });
      const { log } = await logOf(config, {});
      expect(jsonLines(log).map((l) => l.type)).toEqual([
        'platform.start',
        'platform.runtimeDone',
        'platform.report',
      ]);
    });

    it('an application level above INFO drops the EMF lines too (they carry no level: INFO), as on AWS', async () => {
      const config = fixtureFunction(dir, { logging: { format: 'JSON', applicationLogLevel: 'WARN' } });
      const { log } = await logOf(config, { print: true });
      expect(metrics).toEqual([]);
      expect(jsonLines(log).filter((l) => l.type === undefined)).toEqual([
        { level: 'WARN', message: 'a warning' },
      ]);
    });
  });

  it('fails as Runtime.HandlerNotFound when the bundle does not export the handler the template names', async () => {
    const config = fixtureFunction(dir, { handler: 'index.missing' });
    start(config);
    const failure = await host.invoke(config.logicalId, {}).catch((e: unknown) => e);
    expect((failure as Error).name).toBe('Runtime.HandlerNotFound');
  });
});
