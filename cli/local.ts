import { accessSync, constants, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Demo, startDemo } from '../local/demo';
import { DEFAULT_SINK_MAX_BYTES } from '../local/json-lines-sink';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../local/request-guards';
import { iamAuthorizer, type LocalRuntime, startLocalRuntime } from '../local/runtime';
import { assemblyFor, ensureSynthesized, STACK_ID } from '../local/synthesize';
import { WEBHOOK_DEFAULTS, type WebhookOptions } from '../local/webhook';
import { type CliIo, UsageError } from './io';
import { readSettingsFile } from './local-data';
import { parsePositiveInteger } from './validate';

export const LOCAL_HELP = `Usage: hls-failover local [options]      (npm start)

Runs the whole workflow on this machine, no AWS account: an embedded S3-compatible endpoint
(s3rver, honouring If-Match / If-None-Match), S3 events filtered by the same rule pattern as on
AWS, and what cdk deploy uploads: the synthesized state machine definition on
aws-local-stepfunctions, each Lambda from its bundle in cdk.out/ (worker threads, at most 2
per function, with the template's handler, environment, memory and timeout), every call checked
against the template's IAM policies; an HTTP
origin with PUT/DELETE ingest, JSON-lines sinks for alerts, metrics and executions, each
function's log in <data dir>/logs/, and the watchdog. When cdk.out/ is missing or older than the
sources, it runs \`npm run synth\` first (about a minute).

Options:
  --data-dir <dir>          where objects and sinks live (default .hls-failover)
  --bucket <name>           bucket name (default live)
  --s3-port <port>          S3 endpoint port; 0 picks a free one (default 4569)
  --origin-port <port>      HTTP origin port; 0 picks a free one (default 8080)
  --status-port <port>      status page and JSON API port; 0 picks a free one (default 8081)
  --config <file>           JSON file of settings (the README's configuration table)
  --watchdog-seconds <n>    watchdog period (default 5)
  --webhook <url>           also POST every alert as JSON to this URL, once per incident and kind:
                            a 2xx answer delivers it; no answer in time, a connection error,
                            5xx, 408 or 429 is retried after 1, 2, 4 ... s; a failure prints
                            WEBHOOK FAILED and shows on the status page (<data dir>/webhook.jsonl)
  --webhook-timeout <s>     how long one webhook attempt may take, 1 to 60 (default 5)
  --webhook-attempts <n>    webhook attempts per alert, the first included, 1 to 10 (default 4)
  --max-upload-mb <n>       largest object a PUT may store, in MiB (default 64); a larger one gets
                            413 and nothing is written. An upload over 1 MiB streams to disk
  --sink-max-mb <n>         rotate executions.jsonl, alerts.jsonl and metrics.jsonl before one grows
                            past this many MiB (default 64), keeping <name>.1 to <name>.3
  --stop-timeout <s>        how long Ctrl+C / SIGTERM waits for running executions (default 30)
  --demo                    also run two lock-step demo encoders on channel "demo" (npm run demo);
                            control them with "hls-failover demo <stall|kill|stop|resume> <encoder>"
  --demo-source <s>         ffmpeg (default when on PATH) or pre-made (segments shipped in the repo)
  --from-sources            run the ASL file and the handlers from the TypeScript sources, in-process,
                            instead of the synthesized artifact: a faster inner loop that skips synth
                            (also HLS_FAILOVER_FROM_SOURCES=1)
  --json                    print the endpoints as one JSON line instead of words
  -h, --help                show this help

Encoders push HLS into the origin, e.g.
  ffmpeg ... -f hls -method PUT http://127.0.0.1:8080/<channel>/primary/index.m3u8
and players load http://127.0.0.1:8080/<channel>/index.m3u8. Stop with Ctrl+C (SIGINT/SIGTERM):
running executions finish before the data dir is closed, for at most --stop-timeout seconds
(further Ctrl+C while stopping are ignored; the process then exits 1 naming what it abandoned).
`;

/** Default --stop-timeout: how long a stop waits for running executions. */
const DEFAULT_STOP_TIMEOUT_SECONDS = 30;

function port(value: string | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new UsageError(`${option} takes a port from 0 to 65535 (got "${value}")`);
  return Number(value);
}

/** The on-call webhook's options from the command line; undefined without --webhook. */
export function webhookOptions(values: {
  webhook?: string | undefined;
  'webhook-timeout'?: string | undefined;
  'webhook-attempts'?: string | undefined;
}): WebhookOptions | undefined {
  const { webhook: url, 'webhook-timeout': timeout, 'webhook-attempts': attempts } = values;
  if (url === undefined) {
    if (timeout !== undefined || attempts !== undefined)
      throw new UsageError('--webhook-timeout and --webhook-attempts need --webhook');
    return undefined;
  }
  if (!/^https?:\/\//.test(url)) throw new UsageError('--webhook takes an http(s) URL');
  const bounded = (value: string, option: string, max: number) => {
    const n = parsePositiveInteger(value, option);
    if (n > max) throw new UsageError(`${option} takes at most ${max} (got ${n})`);
    return n;
  };
  return {
    url,
    ...(timeout === undefined ? {} : { timeoutMs: bounded(timeout, '--webhook-timeout', 60) * 1000 }),
    ...(attempts === undefined ? {} : { attempts: bounded(attempts, '--webhook-attempts', 10) }),
  };
}

/** Runs until SIGINT/SIGTERM (or `stop` resolves); returns the exit code. */
export async function localCommand(args: string[], io: CliIo, stop?: Promise<void>): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string' },
      bucket: { type: 'string' },
      's3-port': { type: 'string' },
      'origin-port': { type: 'string' },
      'status-port': { type: 'string' },
      config: { type: 'string' },
      'watchdog-seconds': { type: 'string' },
      webhook: { type: 'string' },
      'webhook-timeout': { type: 'string' },
      'webhook-attempts': { type: 'string' },
      'max-upload-mb': { type: 'string' },
      'stop-timeout': { type: 'string' },
      'sink-max-mb': { type: 'string' },
      demo: { type: 'boolean' },
      'from-sources': { type: 'boolean' },
      'demo-source': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(LOCAL_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const bucket = values.bucket ?? 'live';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new UsageError(`--bucket "${bucket}" is not a valid S3 bucket name`);
  const dataDir = resolve(values['data-dir'] ?? '.hls-failover');
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, constants.W_OK);
  } catch (e) {
    throw new UsageError(`data dir ${dataDir} is not writable: ${(e as Error).message}`);
  }
  const settings = readSettingsFile(values.config);
  const watchdogSeconds =
    values['watchdog-seconds'] === undefined
      ? 5
      : parsePositiveInteger(values['watchdog-seconds'], '--watchdog-seconds');
  const webhook = webhookOptions(values);
  const maxUploadBytes =
    values['max-upload-mb'] === undefined
      ? DEFAULT_MAX_UPLOAD_BYTES
      : parsePositiveInteger(values['max-upload-mb'], '--max-upload-mb') * 1024 * 1024;
  const sinkMaxBytes =
    values['sink-max-mb'] === undefined
      ? DEFAULT_SINK_MAX_BYTES
      : parsePositiveInteger(values['sink-max-mb'], '--sink-max-mb') * 1024 * 1024;
  const stopTimeoutSeconds =
    values['stop-timeout'] === undefined
      ? DEFAULT_STOP_TIMEOUT_SECONDS
      : parsePositiveInteger(values['stop-timeout'], '--stop-timeout');
  const demoSource = values['demo-source'];
  if (demoSource !== undefined && demoSource !== 'ffmpeg' && demoSource !== 'pre-made')
    throw new UsageError(`--demo-source takes ffmpeg or pre-made (got "${demoSource}")`);
  if (demoSource !== undefined && !values.demo) throw new UsageError('--demo-source needs --demo');

  const fromSources = values['from-sources'] === true || process.env.HLS_FAILOVER_FROM_SOURCES === '1';
  if (!fromSources)
    await ensureSynthesized(STACK_ID, (line) => io.err(`${line}\n`), assemblyFor(settings.publishing));
  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
      fromSources,
      dataDir,
      bucket,
      settings,
      s3Port: port(values['s3-port'], 4569, '--s3-port'),
      originPort: port(values['origin-port'], 8080, '--origin-port'),
      statusPort: port(values['status-port'], 8081, '--status-port'),
      watchdogSeconds,
      ...(webhook === undefined ? {} : { webhook }),
      maxUploadBytes,
      sinkMaxBytes,
      print: (line) => io.out(`${line}\n`),
      createAuthorizer: iamAuthorizer,
    });
  } catch (e) {
    const error = e as NodeJS.ErrnoException & { port?: number };
    if (error.code === 'EADDRINUSE')
      throw new UsageError(
        `port ${error.port ?? ''} is in use; pick another with --s3-port / --origin-port / --status-port (0 picks a free one)`,
      );
    throw e;
  }
  const { endpoints } = runtime;
  let demo: Demo | undefined;
  if (values.demo) {
    try {
      demo = await startDemo({
        originUrl: endpoints.origin,
        encoders: settings.encoders as [string, string],
        ...(demoSource === 'pre-made' ? { ffmpegPath: false as const } : {}),
        print: (line) => io.out(`${line}\n`),
      });
    } catch (e) {
      await runtime.close();
      throw new UsageError(`the demo did not start: ${(e as Error).message}`);
    }
    runtime.attachDemo(demo);
  }
  if (values.json) {
    io.out(
      `${JSON.stringify({ s3Endpoint: endpoints.s3, bucket, originUrl: endpoints.origin, statusUrl: endpoints.status, apiUrl: endpoints.api, dataDir, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, ...(demo === undefined ? {} : { demo: { channel: demo.channel, source: demo.source, playUrl: `${endpoints.origin}/${demo.channel}/index.m3u8` } }) })}\n`,
    );
  } else {
    io.out(
      [
        'hls-failover local runtime is up',
        `  S3 endpoint  ${endpoints.s3}  (bucket "${bucket}", path-style, credentials S3RVER / S3RVER)`,
        `  origin       ${endpoints.origin}  (ingest: PUT ${endpoints.origin}/<channel>/primary/...; play ${endpoints.origin}/<channel>/index.m3u8)`,
        `  status page  ${endpoints.status}  (JSON API ${endpoints.api}/status)`,
        `  data dir     ${dataDir}  (alerts.jsonl, metrics.jsonl, executions.jsonl${webhook === undefined ? '' : ', webhook.jsonl'}${fromSources ? '' : ', logs/<function>.log'})`,
        ...(webhook === undefined
          ? []
          : [
              `  webhook      ${webhook.url}  (${(webhook.timeoutMs ?? WEBHOOK_DEFAULTS.timeoutMs) / 1000} s per attempt, ${webhook.attempts ?? WEBHOOK_DEFAULTS.attempts} attempts, once per incident)`,
            ]),
        `  running      ${fromSources ? 'the TypeScript sources (--from-sources)' : 'the synthesized stack in cdk.out/ (what cdk deploy uploads)'}`,
        `  watchdog     every ${watchdogSeconds} s`,
        ...(demo === undefined
          ? []
          : [
              `  demo         two ${demo.source === 'ffmpeg' ? 'ffmpeg' : 'pre-made segment'} encoders on channel "${demo.channel}": play ${endpoints.origin}/${demo.channel}/index.m3u8 or open the status page`,
              `               try: npx hls-failover demo kill primary --api ${endpoints.api}   (then: demo resume primary)`,
            ]),
        'Press Ctrl+C to stop.',
        '',
      ].join('\n'),
    );
  }
  if (runtime.replayed > 0)
    io.out(
      `replaying ${runtime.replayed} acknowledged write(s) a previous run did not process (killed first)\n`,
    );
  // Ctrl+C reaches this process twice (from the terminal, and relayed by tsx under npm start), and
  // an operator may press it again: every signal after the first is acknowledged, never fatal, so
  // running executions finish (bounded by --stop-timeout).
  let stopping = false;
  const requested = new Promise<void>((done) => {
    const onSignal = () => {
      if (stopping) io.err(`still stopping: ${runtime.running} execution(s) running\n`);
      stopping = true;
      done();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    void stop?.then(onSignal);
  });
  await requested;
  io.err(
    `stopping: waiting for ${runtime.running} running execution(s), at most ${stopTimeoutSeconds} s...\n`,
  );
  const closed = (async () => {
    await demo?.close();
    await runtime.close();
    return true;
  })();
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    closed,
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), stopTimeoutSeconds * 1000);
    }),
  ]);
  clearTimeout(timer);
  if (!inTime) {
    io.err(
      `gave up after ${stopTimeoutSeconds} s: ${runtime.running} execution(s) still running were abandoned\n`,
    );
    // Their sockets (e.g. a webhook that never answers) would keep the process alive.
    process.exit(1);
  }
  io.err('stopped.\n');
  return 0;
}
