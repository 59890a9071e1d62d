/**
 * Memory of each workflow Lambda, measured on its bundle (what `cdk deploy` uploads): every function
 * of the synthesized stack runs in a Node process of its own (bench/lambda-memory-child.cjs) with
 * the V8 heap capped as the local Lambda host caps it (`--max-old-space-size` = the MemorySize
 * tried), reaching a local S3 endpoint. A driver plays the workflow's path through them (as the ASL
 * passes data: ValidatePlaylist → CheckCounterpartFreshness → MergeIndex / WithdrawStalePlaylists →
 * PublishHealthMetrics; a rejected playlist → RecordInvalidPlaylist; the watchdog's run and its
 * per-channel check) for a channel of 2 renditions × 2 encoders: a warm-up at a normal size, a
 * stall (withdrawal, alert), then every playlist at the largest size the settings allow
 * (`maxPlaylistChars`), updated, stalled and rejected.
 *
 * Per function: the peak RSS of its process (Lambda's "Max Memory Used": the whole process, which
 * is what MemorySize limits), the largest heap in use after an invocation, and the CPU time of its
 * slowest invocation. With `--caps 64,96,128` it runs the whole scenario under each heap cap and
 * says which caps every function survived (an out-of-memory process fails its invocation).
 *
 *   npx tsx bench/lambda-memory.ts [--caps 128,256] [--segments 50000] [--json]
 *
 * Needs `cdk.out/` (npm run synth).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseSettings } from '../functions/config';
import type { ChannelActions, HealthOutput } from '../functions/handlers/check-freshness';
import { WORKFLOW_FUNCTIONS, type WorkflowFunction } from '../functions/workflow';
import { localAccessKeyId } from '../local/aws-request';
import { type LambdaFunctionConfig, lambdaFunctionsOf } from '../local/lambda-host';
import { LOCAL_ACCOUNT, loadLocalStack } from '../local/runtime';
import { startS3Endpoint } from '../local/s3-endpoint';

const BUCKET = 'live';
const CHANNEL = 'ch1';
const ENCODERS = ['primary', 'failover'] as const;
const RENDITIONS = ['720p.m3u8', '360p.m3u8'] as const;
/** Target duration of the scenario's playlists, s (short, so a stall takes seconds of real time). */
const TD = 1;

/** What one function did over the scenario. */
export interface FunctionMemory {
  readonly function: WorkflowFunction;
  readonly capMb: number;
  readonly invocations: number;
  /** Invocations that failed other than as the scenario expects (out of memory, a crash). */
  readonly failures: readonly string[];
  readonly peakRssMb: number;
  readonly peakHeapUsedMb: number;
  /** Of the slowest invocation, ms. */
  readonly maxCpuMs: number;
  readonly maxWallMs: number;
}

interface Reply {
  readonly id?: number;
  readonly ready?: boolean;
  readonly result?: unknown;
  readonly error?: { name: string; message: string };
  readonly ms?: number;
  readonly cpuMs?: number;
  readonly heapUsed: number;
  readonly maxRssKb: number;
}

/** A media playlist whose size is `segments` segments, starting at `sequence` (TD 1 s). */
function mediaPlaylist(segments: number, sequence: number): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${TD}`,
    `#EXT-X-MEDIA-SEQUENCE:${sequence}`,
  ];
  for (let i = 0; i < segments; i++) lines.push('#EXTINF:1.000,', `seg_${sequence + i}.ts`);
  return `${lines.join('\n')}\n`;
}

const MASTER = [
  '#EXTM3U',
  '#EXT-X-VERSION:3',
  '#EXT-X-STREAM-INF:BANDWIDTH=2800000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"',
  '720p.m3u8',
  '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"',
  '360p.m3u8',
  '',
].join('\n');

/** One bundle in its own process, invoked over IPC. */
class BundleProcess {
  private readonly child: ChildProcess;
  private next = 0;
  private readonly pending = new Map<number, (reply: Reply) => void>();
  readonly ready: Promise<Reply>;
  exited: string | undefined;
  peakRssKb = 0;
  peakHeapUsed = 0;
  maxCpuMs = 0;
  maxWallMs = 0;
  invocations = 0;
  readonly failures: string[] = [];

  constructor(
    readonly name: WorkflowFunction,
    config: LambdaFunctionConfig,
    capMb: number,
    s3Url: string,
  ) {
    this.child = fork(join(__dirname, 'lambda-memory-child.cjs'), [config.assetDir, config.handler], {
      execArgv: [`--max-old-space-size=${capMb}`],
      // The handlers' log and metric lines are not measured.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: {
        ...config.environment,
        NODE_OPTIONS: '',
        PATH: process.env.PATH ?? '',
        AWS_REGION: LOCAL_ACCOUNT.region,
        AWS_ACCESS_KEY_ID: localAccessKeyId(config.role),
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_ENDPOINT_URL_S3: s3Url,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(capMb),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
    let stderr = '';
    this.child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    this.ready = new Promise((resolve) => {
      this.child.on('message', (reply: Reply) => {
        this.observe(reply);
        if (reply.ready) return resolve(reply);
        const settle = reply.id === undefined ? undefined : this.pending.get(reply.id);
        if (reply.id !== undefined) this.pending.delete(reply.id);
        settle?.(reply);
      });
    });
    this.child.on('exit', (code, signal) => {
      this.exited = `exited (${signal ?? code}): ${/heap out of memory|Allocation failed/.test(stderr) ? 'heap out of memory' : stderr.trim().split('\n').at(-1)}`;
      for (const settle of this.pending.values())
        settle({ error: { name: 'Runtime.ExitError', message: this.exited }, heapUsed: 0, maxRssKb: 0 });
      this.pending.clear();
    });
  }

  private observe(reply: Reply): void {
    this.peakRssKb = Math.max(this.peakRssKb, reply.maxRssKb);
    this.peakHeapUsed = Math.max(this.peakHeapUsed, reply.heapUsed);
    if (reply.ready) return;
    this.maxCpuMs = Math.max(this.maxCpuMs, reply.cpuMs ?? 0);
    this.maxWallMs = Math.max(this.maxWallMs, reply.ms ?? 0);
  }

  /** Invokes the handler; resolves with its result, rejects with its error (name and message). */
  async invoke(event: unknown, expectError?: string): Promise<unknown> {
    this.invocations++;
    if (this.exited !== undefined) {
      this.failures.push(this.exited);
      throw new Error(this.exited);
    }
    const id = this.next++;
    const reply = await new Promise<Reply>((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ id, event });
    });
    if (reply.error !== undefined) {
      if (reply.error.name !== expectError)
        this.failures.push(`${reply.error.name}: ${reply.error.message.slice(0, 200)}`);
      throw Object.assign(new Error(reply.error.message), { name: reply.error.name });
    }
    return reply.result;
  }

  close(): void {
    if (this.exited === undefined) this.child.kill();
  }
}

/** Runs the scenario with every function under `capMb`; returns what each did. */
export async function measure(capMb: number, largeSegments: number): Promise<FunctionMemory[]> {
  const { stack, resolve } = loadLocalStack(BUCKET, 'hls-failover');
  const configs = lambdaFunctionsOf(stack, resolve);
  const dir = mkdtempSync(join(tmpdir(), 'hlsf-memory-'));
  const endpoint = await startS3Endpoint({ directory: join(dir, 's3'), bucket: BUCKET, port: 0 });
  const s3 = new S3Client({
    region: LOCAL_ACCOUNT.region,
    endpoint: endpoint.url,
    forcePathStyle: true,
    credentials: endpoint.credentials,
  });
  const fns = {} as Record<WorkflowFunction, BundleProcess>;
  for (const name of Object.keys(WORKFLOW_FUNCTIONS) as WorkflowFunction[]) {
    const pascal = name.charAt(0).toUpperCase() + name.slice(1);
    const config = configs.find((c) => c.logicalId.startsWith(pascal));
    if (config === undefined) throw new Error(`no function for ${name} in cdk.out/: run npm run synth`);
    fns[name] = new BundleProcess(name, config, capMb, endpoint.url);
  }
  try {
    await Promise.all(Object.values(fns).map((f) => f.ready));
    const put = (key: string, body: string) =>
      s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: key,
          Body: body,
          ContentType: 'application/vnd.apple.mpegurl',
        }),
      );
    let execution = 0;
    /** One execution for an S3 event on `key`, as the ASL runs it (errors of the scenario are expected). */
    const event = async (key: string) => {
      const started = new Date().toISOString();
      const executionId = `arn:aws:states:us-east-1:000000000000:express:hls-failover:m${execution++}`;
      const detail = { bucket: { name: BUCKET }, object: { key } };
      let playlist: { action?: string };
      try {
        playlist = (await fns.validatePlaylist.invoke(
          { bucket: BUCKET, key, object: detail.object, eventTime: started },
          'PlaylistInvalid',
        )) as { action?: string };
      } catch (error) {
        if ((error as Error).name !== 'PlaylistInvalid') return;
        const failure = { Error: 'PlaylistInvalid', Cause: (error as Error).message };
        const health = await fns.recordInvalidPlaylist.invoke({ bucket: BUCKET, key, error: failure });
        await fns.publishMetrics
          .invoke({
            metrics: (health as HealthOutput).metrics,
            audit: { executionId, startedAt: started, data: { detail, health, error: failure } },
          })
          .catch(() => undefined);
        return;
      }
      if (playlist.action === 'skip') return;
      const health = (await fns.checkFreshness.invoke({ playlist }).catch(() => undefined)) as
        | HealthOutput
        | undefined;
      if (health === undefined) return;
      await actions(health, { detail, playlist }, executionId, started);
    };
    const actions = async (health: HealthOutput, data: object, executionId: string, started: string) => {
      const done: object[] = [];
      for (const channel of health.channels as ChannelActions[]) {
        const out: Record<string, unknown> = { ...channel };
        if (channel.mergeNeeded) out.index = await fns.mergeIndex.invoke(channel).catch(() => undefined);
        if (channel.withdraw.length > 0)
          out.withdrawal = await fns.withdrawPlaylists.invoke(channel).catch(() => undefined);
        done.push(out);
      }
      await fns.publishMetrics
        .invoke({
          metrics: health.metrics,
          audit: { executionId, startedAt: started, data: { ...data, health, actions: done } },
        })
        .catch(() => undefined);
    };
    const watchdog = async () => {
      const started = new Date().toISOString();
      const listed = (await fns.watchdog.invoke({ bucket: BUCKET }).catch(() => undefined)) as
        | (HealthOutput & { channelsToCheck?: string[] })
        | undefined;
      for (const channel of listed?.channelsToCheck ?? []) {
        const health = (await fns.watchdog.invoke({ bucket: BUCKET, channel }).catch(() => undefined)) as
          | HealthOutput
          | undefined;
        if (health !== undefined)
          await actions(health, { source: 'hls-failover.watchdog' }, `arn:watchdog:${execution++}`, started);
      }
    };
    /** Both encoders (or one) write every rendition at `sequence`, each upload handled as its event. */
    const round = async (segments: number, sequence: number, encoders: readonly string[] = ENCODERS) => {
      for (const encoder of encoders)
        for (const r of RENDITIONS) {
          const key = `${CHANNEL}/${encoder}/${r}`;
          await put(key, mediaPlaylist(segments, sequence));
          await event(key);
        }
    };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    for (const encoder of ENCODERS) {
      await put(`${CHANNEL}/${encoder}/master.m3u8`, MASTER);
      await event(`${CHANNEL}/${encoder}/master.m3u8`);
    }
    // Normal: a 6-segment window, live, then the primary stalls and comes back.
    let sequence = 100;
    for (; sequence < 104; sequence++) {
      await round(6, sequence);
      await sleep(TD * 1000);
    }
    for (let i = 0; i < 3; i++, sequence++) {
      await round(6, sequence, ['failover']);
      await sleep(TD * 1000);
    }
    await watchdog();
    for (let i = 0; i < 4; i++, sequence++) {
      await round(6, sequence);
      await sleep(TD * 1000);
    }
    // Largest: every playlist at the size the settings allow, then a stall, a watchdog run and a
    // rejected playlist of that size.
    for (let i = 0; i < 3; i++, sequence++) {
      await round(largeSegments, sequence);
      await sleep(TD * 1000);
    }
    for (let i = 0; i < 3; i++, sequence++) {
      await round(largeSegments, sequence, ['failover']);
      await sleep(TD * 1000);
    }
    await watchdog();
    const invalid = mediaPlaylist(largeSegments, sequence).replace('#EXTINF:1.000,', '#EXTINF:x,');
    await put(`${CHANNEL}/failover/720p.m3u8`, invalid);
    await event(`${CHANNEL}/failover/720p.m3u8`);
    await round(largeSegments, sequence + 1);
  } finally {
    for (const f of Object.values(fns)) f.close();
    s3.destroy();
    await endpoint.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  return Object.values(fns).map((f) => ({
    function: f.name,
    capMb,
    invocations: f.invocations,
    failures: [...new Set(f.failures)],
    peakRssMb: mb(f.peakRssKb * 1024),
    peakHeapUsedMb: mb(f.peakHeapUsed),
    maxCpuMs: Math.round(f.maxCpuMs),
    maxWallMs: Math.round(f.maxWallMs),
  }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      caps: { type: 'string', default: '128,256' },
      segments: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const settings = parseSettings({});
  // The largest media playlist the settings accept: maxPlaylistChars over this format's ~28 chars a segment.
  const segments =
    values.segments === undefined
      ? Math.floor(
          (settings.maxPlaylistChars - 100) /
            mediaPlaylist(1, 100_000).split('\n').slice(4).join('\n').length,
        )
      : Number(values.segments);
  const chars = mediaPlaylist(segments, 100_000).length;
  const results: FunctionMemory[] = [];
  for (const cap of (values.caps ?? '').split(',').map(Number)) {
    process.stderr.write(`heap cap ${cap} MB, largest playlists ${segments} segments (${chars} chars)…\n`);
    results.push(...(await measure(cap, segments)));
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ segments, chars, results }, null, 2)}\n`);
    return;
  }
  const rows = results.map((r) => [
    r.function,
    String(r.capMb),
    String(r.invocations),
    String(r.peakRssMb),
    String(r.peakHeapUsedMb),
    String(r.maxCpuMs),
    String(r.maxWallMs),
    r.failures.length === 0 ? 'ok' : r.failures.join('; '),
  ]);
  const header = [
    'function',
    'cap MB',
    'invocations',
    'peak RSS MB',
    'peak heap MB',
    'max CPU ms',
    'max wall ms',
    'result',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const r of [header, ...rows])
    process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}\n`);
  process.stdout.write(
    `largest playlists: ${segments} segments, ${chars} characters (maxPlaylistChars ${settings.maxPlaylistChars})\n`,
  );
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
