/**
 * The local pipeline bench (issue #4, "Numbers"): a real local runtime in this process (s3rver
 * behind the conditional-write layer, the ASL on aws-local-stepfunctions, the same handlers, the
 * HTTP origin), fed by live encoders on their own thread that ingest through the origin's PUT.
 *
 * Two phases, each on a fresh runtime:
 *
 * 1. Ratio (one event at a time, paced in real time): the time per event (object event seen →
 *    execution finished) against the storage round trips that event made: S3 (playlists) and
 *    DynamoDB (the workflow's records, dynalite locally). The runtime's clients are observed
 *    in-process (the send of S3Client and DynamoDBClient is wrapped for the bench), so each
 *    event's calls are known exactly (operation, key, size, condition); the same calls are then
 *    replayed one after another through the runtime's own clients against the same endpoints
 *    (reads on the same keys; writes of the same size and kind of condition to scratch keys),
 *    interleaved with the events. ratio = median event time / median replay time: what the engine
 *    and the handlers add over their unavoidable storage I/O.
 *
 * 2. Load (real time): N channels × R renditions × 2 encoders writing every segment period, with
 *    segments. Reports events/s sustained, p50/p99 time per event, failed executions, alerts,
 *    the backlog (events seen but not finished) over time, and whether the pipeline keeps up.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import {
  type AttributeValue,
  DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { parseSettings, type Settings } from '../functions/config';
import { STATE_TABLE_PARTITION_KEY, STATE_TABLE_SORT_KEY } from '../functions/dynamodb-store';
import { parseEncoderKey, workflowObjectOf } from '../functions/keys';
import type { ExecutionRecord } from '../local/engine';
import { type LocalRuntime, localDynamoDbClient, startLocalRuntime } from '../local/runtime';

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

export const TARGET_RATIO = 1.25;
export const TARGET_CHANNELS = 20;

export interface PipelineSettings {
  readonly renditions: number;
  readonly periodMs: number;
  /** Segments in each live playlist (sliding window). */
  readonly windowSegments: number;
  /** Bytes of one segment per rendition (0 = the encoders do not write segments). */
  readonly segmentBytes: readonly number[];
  /** Ratio phase: events measured (after warm-up events). */
  readonly ratioEvents: number;
  readonly ratioWarmupEvents: number;
  /** Load phase: channel counts to try, in order. */
  readonly channelSteps: readonly number[];
  readonly warmupMs: number;
  readonly loadWindowMs: number;
  /** Delay of a channel's second encoder after its first (lock-step pairs). */
  readonly pairOffsetMs: number;
}

/** A 5-rendition ladder (0.4 / 0.8 / 1.6 / 3 / 5 Mb/s), as bytes of one 2 s segment. */
const LADDER_KBPS = [400, 800, 1600, 3000, 5000];
export function segmentBytesFor(periodMs: number, renditions: number, scale = 1): number[] {
  return Array.from({ length: renditions }, (_, r) =>
    Math.round(((LADDER_KBPS[r % LADDER_KBPS.length] as number) * 1000 * (periodMs / 1000) * scale) / 8),
  );
}

export const FULL_PIPELINE: PipelineSettings = {
  renditions: 5,
  periodMs: 2000,
  windowSegments: 6,
  segmentBytes: segmentBytesFor(2000, 5),
  ratioEvents: 60,
  ratioWarmupEvents: 10,
  channelSteps: [5, 10, 20],
  warmupMs: 4000,
  loadWindowMs: 20_000,
  pairOffsetMs: 20,
};

export const QUICK_PIPELINE: PipelineSettings = {
  ...FULL_PIPELINE,
  ratioEvents: 16,
  ratioWarmupEvents: 4,
  channelSteps: [2],
  warmupMs: 2000,
  loadWindowMs: 6000,
};

// ---------------------------------------------------------------------------------------------
// Observing the storage calls (S3 and DynamoDB)
// ---------------------------------------------------------------------------------------------

/** The storage services the bench observes and replays. */
export type StorageService = 'S3' | 'DynamoDB';

/**
 * The condition of a write: S3's If-Match / If-None-Match, DynamoDB's ConditionExpression on the
 * item's absence (`attribute_not_exists`) or on anything else (the store compares its version).
 */
export type WriteConditionKind = 'if-match' | 'if-none-match' | 'if-absent' | 'if-version';

export interface StorageCall {
  readonly service: StorageService;
  readonly client: object;
  /** GetObject, PutObject, GetItem, PutItem, Query, … */
  readonly op: string;
  /** S3: the object key (or the list prefix). DynamoDB: "group name" of the item, or the group queried. */
  readonly key: string;
  /**
   * S3: body bytes sent (PUT) or received (GET, from Content-Length). DynamoDB: the item's size
   * (attribute names and values) written (PutItem) or read (GetItem, Query: all items).
   */
  readonly bytes: number;
  readonly condition: WriteConditionKind | undefined;
  /** HTTP status: 200, or the error's (412 for a failed S3 condition, 400 for DynamoDB's). */
  readonly status: number;
  /** The error's name, when the call failed (e.g. ConditionalCheckFailedException). */
  readonly error?: string;
  /**
   * DynamoDB only: the command's input, as sent, which the replay repeats. (Not kept for S3: a PUT's
   * input holds its body, and the load phase writes megabytes of segments a second.)
   */
  readonly input?: Readonly<Record<string, unknown>>;
  /** performance.now() at the call and its duration (until the SDK resolved: headers, for GET). */
  readonly start: number;
  readonly ms: number;
}

type Send = (this: object, command: unknown, ...rest: unknown[]) => Promise<unknown>;
type Item = Record<string, AttributeValue>;

/** An item's size as DynamoDB counts it: attribute names and values (strings, numbers, binaries). */
function itemBytes(item: Item | undefined): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item ?? {})) {
    bytes += Buffer.byteLength(name);
    if (value.S !== undefined) bytes += Buffer.byteLength(value.S);
    else if (value.N !== undefined) bytes += value.N.length;
    else if (value.B !== undefined) bytes += value.B.length;
  }
  return bytes;
}

function s3Facts(input: Record<string, unknown>, op: string, output: unknown) {
  const body = input.Body;
  const sent =
    typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.length : 0;
  const received = (output as { ContentLength?: number } | undefined)?.ContentLength ?? 0;
  return {
    key: String(input.Key ?? input.Prefix ?? ''),
    bytes: op === 'PutObject' ? sent : received,
    condition:
      input.IfMatch !== undefined
        ? ('if-match' as const)
        : input.IfNoneMatch !== undefined
          ? ('if-none-match' as const)
          : undefined,
  };
}

function dynamoDbFacts(input: Record<string, unknown>, op: string, output: unknown) {
  const item = (input.Item ?? input.Key) as Item | undefined;
  const values = Object.values((input.ExpressionAttributeValues ?? {}) as Item);
  const key =
    item !== undefined
      ? `${item[STATE_TABLE_PARTITION_KEY]?.S ?? ''} ${item[STATE_TABLE_SORT_KEY]?.S ?? ''}`
      : String(values[0]?.S ?? '');
  const out = output as { Item?: Item; Items?: Item[] } | undefined;
  const expression = input.ConditionExpression;
  return {
    input,
    key,
    bytes:
      op === 'PutItem'
        ? itemBytes(input.Item as Item)
        : itemBytes(out?.Item) + (out?.Items ?? []).reduce((sum, i) => sum + itemBytes(i), 0),
    condition:
      typeof expression !== 'string'
        ? undefined
        : /^attribute_not_exists\(/.test(expression.trim())
          ? ('if-absent' as const)
          : ('if-version' as const),
  };
}

/**
 * Wraps the `send` of S3Client and DynamoDBClient for as long as the bench runs: every call of
 * every such client in this process is recorded. One wrapper call costs well under a
 * microsecond; the runtime is unchanged.
 */
export function observeStorageCalls(): { readonly calls: StorageCall[]; restore(): void } {
  const calls: StorageCall[] = [];
  const restores: (() => void)[] = [];
  const services: [StorageService, { prototype: object }][] = [
    ['S3', S3Client],
    ['DynamoDB', DynamoDBClient],
  ];
  for (const [service, client] of services) {
    const proto = client.prototype as { send: Send };
    const original = proto.send;
    // send is inherited (the SDK's base Client): restoring deletes the wrapper rather than
    // shadowing the base's send, which the cost bench wraps later in the same run.
    const inherited = !Object.hasOwn(proto, 'send');
    const facts = service === 'S3' ? s3Facts : dynamoDbFacts;
    proto.send = async function (this: object, command: unknown, ...rest: unknown[]) {
      const input = (command as { input?: Record<string, unknown> }).input ?? {};
      const op = ((command as object).constructor?.name ?? 'Unknown').replace(/Command$/, '');
      const start = performance.now();
      const record = (status: number, output: unknown, error?: string) =>
        calls.push({
          service,
          client: this,
          op,
          ...facts(input, op, output),
          status,
          ...(error === undefined ? {} : { error }),
          start,
          ms: performance.now() - start,
        });
      try {
        const out = await original.call(this, command, ...rest);
        record(200, out);
        return out;
      } catch (error) {
        const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
        record(e.$metadata?.httpStatusCode ?? 0, undefined, e.name ?? 'Error');
        throw error;
      }
    };
    restores.push(() => {
      if (inherited) delete (proto as { send?: Send }).send;
      else proto.send = original;
    });
  }
  return {
    calls,
    restore: () => {
      for (const restore of restores.reverse()) restore();
    },
  };
}

/** The runtime's own clients (undefined until found): the workflow's calls are theirs. */
interface RuntimeClients {
  readonly s3: S3Client | undefined;
  readonly dynamodb: DynamoDBClient | undefined;
}

/** The item operations of the record store (not the endpoint's table set-up). */
const RECORD_OPS = new Set(['GetItem', 'PutItem', 'Query', 'Scan']);

/** A call the workflow made (not an encoder's ingest through the origin, not the bench's own client). */
function isWorkflowCall(call: StorageCall, runtime: RuntimeClients, encoders: readonly string[]): boolean {
  if (call.service === 'DynamoDB')
    return RECORD_OPS.has(call.op) && (runtime.dynamodb === undefined || call.client === runtime.dynamodb);
  if (runtime.s3 !== undefined && call.client !== runtime.s3) return false;
  // The handlers never PUT under an encoder folder (they delete there, or copy: splices and segments).
  const ingest =
    (call.op === 'PutObject' || call.op === 'DeleteObject') &&
    parseEncoderKey(call.key, encoders) !== undefined &&
    call.condition === undefined &&
    !(call.op === 'DeleteObject' && call.key.endsWith('.m3u8'));
  return !ingest;
}

/** e.g. "1× GET + 1× PUT if-match + 2× GetItem + 1× PutItem if-version + 1× Query". */
function describeCalls(calls: readonly StorageCall[]): string {
  const counts = new Map<string, number>();
  for (const c of calls) {
    const op =
      c.service === 'S3'
        ? c.op
            .replace(/Object$/, '')
            .replace('ListObjectsV2', 'List')
            .toUpperCase()
        : c.op;
    const name = `${op}${c.condition ? ` ${c.condition}` : ''}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([name, n]) => `${n}× ${name}`).join(' + ');
}

/** A figure for each service, e.g. round trips: { S3: 2, DynamoDB: 4 }. */
function perService(figure: (service: StorageService) => number): Record<StorageService, number> {
  return { S3: figure('S3'), DynamoDB: figure('DynamoDB') };
}

/** e.g. "2 S3 + 4 DynamoDB". */
export function describeByService(counts: Readonly<Record<StorageService, number>>): string {
  const n = (v: number) => String(Math.round(v * 10) / 10);
  return `${n(counts.S3)} S3 + ${n(counts.DynamoDB)} DynamoDB`;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round3 = (n: number) => Math.round(n * 1000) / 1000;

function mediaPlaylist(sequence: number, settings: PipelineSettings): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${Math.ceil(settings.periodMs / 1000)}`,
    `#EXT-X-MEDIA-SEQUENCE:${sequence}`,
  ];
  for (let n = sequence; n < sequence + settings.windowSegments; n++)
    lines.push(`#EXTINF:${(settings.periodMs / 1000).toFixed(3)},`, `seg_${n}.ts`);
  return `${lines.join('\n')}\n`;
}

function masterPlaylist(settings: PipelineSettings): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (let r = 0; r < settings.renditions; r++) {
    const bandwidth = Math.max(
      64_000,
      Math.round(((settings.segmentBytes[r] ?? 0) * 8) / (settings.periodMs / 1000)),
    );
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${bandwidth},CODECS="avc1.4d401f,mp4a.40.2"`, `r${r}.m3u8`);
  }
  return `${lines.join('\n')}\n`;
}

interface BenchRuntime {
  readonly runtime: LocalRuntime;
  readonly settings: Settings;
  readonly dataDir: string;
  readonly printed: string[];
  /** The handlers' S3 and DynamoDB clients (the S3 one wrote a channel's index; the origin has its own). */
  clients(): RuntimeClients;
  dispose(): Promise<void>;
}

async function startBenchRuntime(calls: readonly StorageCall[]): Promise<BenchRuntime> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hlsf-bench-'));
  const settings = parseSettings({});
  const printed: string[] = [];
  const before = calls.length;
  const runtime = await startLocalRuntime({
    dataDir,
    bucket: 'live',
    settings,
    s3Port: 0,
    originPort: 0,
    watchdogSeconds: 24 * 3600,
    print: (line) => printed.push(line),
    // The calls are counted by wrapping this process's S3 and DynamoDB clients; the artifact's
    // handlers run in worker threads with their own clients, which this count cannot see.
    fromSources: true,
  });
  return {
    runtime,
    settings,
    dataDir,
    printed,
    // The handlers share the runtime's one S3 client (the one that writes a channel's index; only
    // the workflow may, and the origin has its own) and its one DynamoDB client (the endpoint's
    // table set-up has its own, for table operations only); the bench's clients are made later.
    clients: () => {
      const since = calls.slice(before);
      return {
        s3: since.find(
          (c) =>
            c.service === 'S3' &&
            c.op === 'PutObject' &&
            workflowObjectOf(c.key, settings.encoders, settings.statePrefix) !== undefined,
        )?.client as S3Client | undefined,
        dynamodb: since.find((c) => c.service === 'DynamoDB' && RECORD_OPS.has(c.op))?.client as
          | DynamoDBClient
          | undefined,
      };
    },
    dispose: async () => {
      await runtime.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function newS3Client(runtime: LocalRuntime): S3Client {
  return new S3Client({
    endpoint: runtime.endpoints.s3,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}

async function ingest(runtime: LocalRuntime, path: string, body: string | Buffer): Promise<void> {
  const res = await fetch(`${runtime.endpoints.origin}/${path}`, { method: 'PUT', body });
  await res.arrayBuffer();
  if (res.status !== 201) throw new Error(`ingest PUT ${path}: HTTP ${res.status}`);
}

function failuresOf(executions: readonly ExecutionRecord[]): string[] {
  return executions
    .filter((e) => e.status !== 'SUCCEEDED')
    .map((e) => `${e.error}: ${(e.cause ?? '').slice(0, 200)}`);
}

/** What ValidatePlaylist decided: 'process', or 'skip: <reason>'. */
function outcomeOf(e: ExecutionRecord): string {
  const playlist = (e.output as { playlist?: { action?: string; reason?: string } } | undefined)?.playlist;
  if (playlist === undefined) return e.status === 'SUCCEEDED' ? 'other' : 'failed';
  return playlist.action === 'skip' ? `skip: ${playlist.reason}` : 'process';
}

// ---------------------------------------------------------------------------------------------
// Phase 1: the ratio
// ---------------------------------------------------------------------------------------------

export interface RatioResult {
  readonly events: number;
  readonly eventMs: { readonly p50: number; readonly p99: number; readonly mean: number };
  /** S3 and DynamoDB round trips per event (mean). */
  readonly roundTripsPerEvent: number;
  /** The same, by service (mean per event), e.g. { S3: 2, DynamoDB: 4 }. */
  readonly roundTripsByService: Readonly<Record<StorageService, number>>;
  /** A typical event's calls, e.g. "1× GET + 1× PUT if-match + 2× GetItem + 1× PutItem if-version + 1× Query" */
  readonly roundTrips: string;
  /**
   * The same calls replayed serially through the runtime's S3 and DynamoDB clients against the
   * same endpoints; by service: p50 of each service's share of a replay.
   */
  readonly replayMs: { readonly p50: number; readonly p99: number; readonly mean: number };
  readonly replayMsByService: Readonly<Record<StorageService, number>>;
  readonly msPerRoundTrip: number;
  readonly ratio: number;
  readonly ratioRange: readonly [number, number];
  /** p50 of the sum of the event's own S3 calls as the handlers saw them (SDK send; GET bodies excluded). */
  readonly inSituS3Ms: number;
  /** p50 of the sum of the event's own DynamoDB calls as the handlers saw them. */
  readonly inSituDynamoDbMs: number;
  readonly target: number;
  readonly pass: boolean;
  readonly failed: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

/** Where the replay sends its calls, and the scratch keys it has written so far. */
interface ReplayTarget {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly dynamodb: DynamoDBClient;
  /** S3 scratch keys start with this; their ETags, for If-Match writes. */
  readonly scratchPrefix: string;
  readonly etags: Map<string, string>;
  readonly items: DynamoDbScratch;
}

/** The replay's DynamoDB scratch items: groups no workflow reads, and the version of each. */
export interface DynamoDbScratch {
  /** Scratch groups start with this (not a record kind's prefix, so no Scan of the workflow's matches). */
  readonly groupPrefix: string;
  readonly versions: Map<string, number>;
  /** Create-only writes so far: each gets an item name of its own, so that its condition holds. */
  created: number;
}

/**
 * The PutItem the replay sends for the n-th call of an event: the same item (body, version, its
 * name in the group) under a scratch group, with the same kind of condition, which holds as the
 * workflow's did. A version-conditioned write compares the scratch item's last version (the
 * first one creates it); a create-only write gets a name never used before.
 */
export function scratchPutItem(call: StorageCall, n: number, scratch: DynamoDbScratch): PutItemCommandInput {
  const input = (call.input ?? {}) as unknown as PutItemCommandInput;
  const item = input.Item ?? {};
  const group = `${scratch.groupPrefix}${n}`;
  const name =
    call.condition === 'if-absent'
      ? `${item[STATE_TABLE_SORT_KEY]?.S ?? ''}#${++scratch.created}`
      : (item[STATE_TABLE_SORT_KEY]?.S ?? '');
  const slot = `${group} ${name}`;
  const last = call.condition === 'if-version' ? scratch.versions.get(slot) : undefined;
  const version = (last ?? 0) + 1;
  if (call.condition === 'if-version') scratch.versions.set(slot, version);
  return {
    TableName: input.TableName,
    Item: {
      ...item,
      [STATE_TABLE_PARTITION_KEY]: { S: group },
      [STATE_TABLE_SORT_KEY]: { S: name },
      ...(item.version === undefined ? {} : { version: { N: String(version) } }),
    },
    ...(call.condition === undefined
      ? {}
      : last === undefined
        ? {
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': STATE_TABLE_PARTITION_KEY },
          }
        : {
            ConditionExpression: '#version = :read',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':read': { N: String(last) } },
          }),
  };
}

async function replayS3(target: ReplayTarget, call: StorageCall, n: number): Promise<void> {
  const { s3: client, bucket, scratchPrefix } = target;
  if (call.op === 'GetObject') {
    const out = await client
      .send(new GetObjectCommand({ Bucket: bucket, Key: call.key }))
      .catch(() => undefined);
    await out?.Body?.transformToString();
  } else if (call.op === 'PutObject') {
    const key = `${scratchPrefix}${n}`;
    const etag = target.etags.get(key);
    const out = await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: 'x'.repeat(call.bytes),
        ContentType: 'application/json',
        ...(call.condition === 'if-match' && etag !== undefined ? { IfMatch: etag } : {}),
      }),
    );
    target.etags.set(key, out.ETag ?? '');
  } else if (call.op === 'DeleteObject') {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${scratchPrefix}missing` }));
  } else if (call.op === 'CopyObject') {
    // A copy inside the bucket (a splice, a segment): the bytes never leave S3, so one small source.
    const source = `${scratchPrefix}copy-source`;
    if (!target.etags.has(source)) {
      const out = await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: source, Body: 'x', ContentType: 'application/json' }),
      );
      target.etags.set(source, out.ETag ?? '');
    }
    await client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: `${scratchPrefix}${n}`,
        CopySource: `${bucket}/${source}`,
      }),
    );
  } else if (call.op === 'ListObjectsV2') {
    await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: call.key }));
  } else throw new Error(`replay: no replay for S3 ${call.op}`);
}

async function replayDynamoDb(target: ReplayTarget, call: StorageCall, n: number): Promise<void> {
  const client = target.dynamodb;
  // Reads are repeated as the handlers sent them: same table, keys, consistency and expressions.
  if (call.op === 'GetItem')
    await client.send(new GetItemCommand(call.input as unknown as GetItemCommandInput));
  else if (call.op === 'Query')
    await client.send(new QueryCommand(call.input as unknown as QueryCommandInput));
  else if (call.op === 'Scan') await client.send(new ScanCommand(call.input as unknown as ScanCommandInput));
  else if (call.op === 'PutItem')
    await client.send(new PutItemCommand(scratchPutItem(call, n, target.items)));
  else throw new Error(`replay: no replay for DynamoDB ${call.op}`);
}

/** Replays an event's calls one after another: the total time, and each service's share. */
async function replay(
  target: ReplayTarget,
  calls: readonly StorageCall[],
): Promise<{ readonly ms: number; readonly byService: Record<StorageService, number> }> {
  const byService = perService(() => 0);
  const start = performance.now();
  let n = 0;
  for (const call of calls) {
    n++;
    const callStart = performance.now();
    if (call.service === 'S3') await replayS3(target, call, n);
    else await replayDynamoDb(target, call, n);
    byService[call.service] += performance.now() - callStart;
  }
  return { ms: performance.now() - start, byService };
}

export async function measureRatio(
  settings: PipelineSettings,
  observed: { readonly calls: StorageCall[] },
): Promise<RatioResult> {
  const bench = await startBenchRuntime(observed.calls);
  const { runtime } = bench;
  const encoders = bench.settings.encoders;
  const own: { destroy(): void }[] = [];
  try {
    const channel = 'ratio';
    const sequence = new Map<string, number>();
    const playlistPath = (e: string, r: number) => `${channel}/${e}/r${r}.m3u8`;
    for (const e of encoders) {
      await ingest(runtime, `${channel}/${e}/master.m3u8`, masterPlaylist(settings));
      for (let r = 0; r < settings.renditions; r++) {
        sequence.set(playlistPath(e, r), 1000);
        await ingest(runtime, playlistPath(e, r), mediaPlaylist(1000, settings));
      }
    }
    await runtime.idle();
    const seeded = runtime.executions.length;
    const runtimeClients = bench.clients();
    // The replay goes through the runtime's own clients (same configuration, same sockets) when
    // they can be found; the runtime's clients are not IAM-checked, nor are these.
    const ownClient = <T extends { destroy(): void }>(client: T) => {
      own.push(client);
      return client;
    };
    const target: ReplayTarget = {
      s3: runtimeClients.s3 ?? ownClient(newS3Client(runtime)),
      bucket: runtime.endpoints.bucket,
      dynamodb:
        runtimeClients.dynamodb ??
        ownClient(
          localDynamoDbClient({
            url: runtime.endpoints.dynamodb,
            credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          }),
        ),
      scratchPrefix: `${bench.settings.statePrefix}bench-replay/`,
      etags: new Map(),
      items: { groupPrefix: 'bench-replay/', versions: new Map(), created: 0 },
    };

    let seenAt = 0;
    let seenKey = '';
    const unsubscribe = runtime.onObjectEvent((event) => {
      if (event.kind === 'created' && event.key === seenKey) seenAt = performance.now();
    });
    const eventMs: number[] = [];
    const replays: { readonly ms: number; readonly byService: Record<StorageService, number> }[] = [];
    const perEventCalls: StorageCall[][] = [];
    let previousCalls: StorageCall[] | undefined;
    // Real time: every playlist advances once per period, one event at a time.
    const paceMs = settings.periodMs / (encoders.length * settings.renditions);
    const total = settings.ratioWarmupEvents + settings.ratioEvents;
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      await sleep(t0 + i * paceMs - performance.now());
      const e = encoders[i % encoders.length] as string;
      const r = Math.floor(i / encoders.length) % settings.renditions;
      const path = playlistPath(e, r);
      const seq = (sequence.get(path) as number) + 1;
      sequence.set(path, seq);
      if ((settings.segmentBytes[r] ?? 0) > 0)
        await ingest(
          runtime,
          `${channel}/${e}/r${r}/seg_${seq + settings.windowSegments - 1}.ts`,
          Buffer.alloc(settings.segmentBytes[r] as number, 0x47),
        );
      const measured = i >= settings.ratioWarmupEvents;
      const replayFirst = measured && i % 2 === 1 && previousCalls !== undefined;
      let replayed = replayFirst ? await replay(target, previousCalls as StorageCall[]) : undefined;

      seenKey = path;
      seenAt = 0;
      const callsBefore = observed.calls.length;
      await ingest(runtime, path, mediaPlaylist(seq, settings));
      await runtime.idle();
      const end = performance.now();
      if (seenAt === 0) throw new Error(`ratio: no object event for ${path}`);
      const calls = observed.calls
        .slice(callsBefore)
        .filter((c) => c.start >= seenAt && isWorkflowCall(c, runtimeClients, encoders));
      replayed ??= await replay(target, calls);
      previousCalls = calls;
      if (!measured) continue;
      eventMs.push(end - seenAt);
      replays.push(replayed);
      perEventCalls.push(calls);
    }
    unsubscribe();
    await runtime.idle();

    const executions = runtime.executions.slice(seeded);
    const outcomes: Record<string, number> = {};
    for (const e of executions) outcomes[outcomeOf(e)] = (outcomes[outcomeOf(e)] ?? 0) + 1;
    const roundTrips = perEventCalls.map((c) => c.length);
    const replayMs = replays.map((r) => r.ms);
    const p50Event = percentile(eventMs, 50);
    const p50Replay = percentile(replayMs, 50);
    const ratios = eventMs.map((ms, i) => ms / (replayMs[i] as number));
    const ratio = p50Event / p50Replay;
    const typical = perEventCalls.find((c) => c.length === percentile(roundTrips, 50)) ?? [];
    const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const inSitu = (service: StorageService) =>
      round3(
        percentile(
          perEventCalls.map((calls) => calls.reduce((sum, c) => sum + (c.service === service ? c.ms : 0), 0)),
          50,
        ),
      );
    return {
      events: eventMs.length,
      eventMs: { p50: round3(p50Event), p99: round3(percentile(eventMs, 99)), mean: round3(mean(eventMs)) },
      roundTripsPerEvent: round3(mean(roundTrips)),
      roundTripsByService: perService((service) =>
        round3(mean(perEventCalls.map((calls) => calls.filter((c) => c.service === service).length))),
      ),
      roundTrips: describeCalls(typical),
      replayMs: {
        p50: round3(p50Replay),
        p99: round3(percentile(replayMs, 99)),
        mean: round3(mean(replayMs)),
      },
      replayMsByService: perService((service) =>
        round3(
          percentile(
            replays.map((r) => r.byService[service]),
            50,
          ),
        ),
      ),
      msPerRoundTrip: round3(mean(replayMs) / mean(roundTrips)),
      ratio: round3(ratio),
      ratioRange: [round3(percentile(ratios, 10)), round3(percentile(ratios, 90))],
      inSituS3Ms: inSitu('S3'),
      inSituDynamoDbMs: inSitu('DynamoDB'),
      target: TARGET_RATIO,
      pass: ratio <= TARGET_RATIO && failuresOf(executions).length === 0,
      failed: failuresOf(executions).length,
      outcomes,
    };
  } finally {
    for (const client of own) client.destroy();
    await bench.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Phase 2: load in real time
// ---------------------------------------------------------------------------------------------

/** One storage service's calls in a load window. */
export interface StorageLoad {
  /** Workflow calls per finished execution (retries after a failed condition included). */
  readonly callsPerEvent: number;
  /** All calls per second of the runtime's client of the service (S3: ingest through the origin too). */
  readonly opsPerSecond: number;
  readonly workflowCallMs: { readonly p50: number; readonly p99: number };
}

export interface LoadResult {
  readonly channels: number;
  readonly renditions: number;
  readonly encoders: number;
  readonly segmentBytesPerPeriod: number;
  readonly windowSeconds: number;
  /** Playlist versions the encoders wrote per second in the window (the offered events). */
  readonly offeredPerSecond: number;
  /** Executions that finished per second in the window. */
  readonly sustainedPerSecond: number;
  readonly eventMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Encoder side: playlist PUT through the origin, ms. */
  readonly ingestPutMs: { readonly p50: number; readonly p99: number };
  readonly failed: number;
  readonly failures: readonly string[];
  readonly alerts: number;
  readonly alertSubjects: readonly string[];
  /** Events seen but not finished, sampled every 100 ms in the window. */
  readonly backlog: {
    readonly mean: number;
    readonly max: number;
    readonly firstQuarter: number;
    readonly lastQuarter: number;
  };
  /** After the encoders stopped: time until every execution had finished. */
  readonly drainMs: number;
  /** Encoder ticks that started before the previous tick's PUTs had finished. */
  readonly lateTicks: number;
  readonly ingestFailures: number;
  readonly s3: StorageLoad & {
    /** Workflow S3 writes whose If-Match / If-None-Match failed (412). */
    readonly preconditionFailed: number;
  };
  readonly dynamodb: StorageLoad & {
    /** Workflow PutItems whose condition failed (ConditionalCheckFailedException). */
    readonly conditionFailed: number;
  };
  readonly outcomes: Readonly<Record<string, number>>;
  /** Executions in the window in which the engine retried a Task, and the retried errors. */
  readonly retried: number;
  readonly retries: Readonly<Record<string, number>>;
  /** Main thread (runtime + s3rver): event-loop utilisation 0–1 and delay p99 (ms). */
  readonly eventLoop: { readonly utilization: number; readonly delayP99Ms: number };
  /** CPU time of the whole process (runtime + encoder thread) per wall second, in cores. */
  readonly cpuCores: number;
  /**
   * Per finished execution: CPU time of the whole process, and busy time of the main thread (event-loop
   * utilisation × window), in ms. Less sensitive to other load on the machine than the rates are.
   */
  readonly cpuMsPerEvent: number;
  readonly mainThreadMsPerEvent: number;
  readonly aborted: string | undefined;
  readonly keepsUp: boolean;
  readonly reasons: readonly string[];
}

interface WorkerDone {
  readonly type: 'done';
  readonly puts: readonly (readonly [number, number, number])[];
  readonly segmentPuts: number;
  readonly deletes: number;
  readonly failures: number;
  readonly lateTicks: number;
}

export async function measureLoad(
  channels: number,
  settings: PipelineSettings,
  observed: { readonly calls: StorageCall[] },
): Promise<LoadResult> {
  const bench = await startBenchRuntime(observed.calls);
  const { runtime } = bench;
  const encoders = bench.settings.encoders;
  const eventsPerPeriod = channels * settings.renditions * encoders.length;
  const worker = new Worker(join(__dirname, 'encoders.cjs'), {
    workerData: {
      origin: runtime.endpoints.origin,
      channels,
      renditions: settings.renditions,
      encoders,
      periodMs: settings.periodMs,
      windowSegments: settings.windowSegments,
      segmentBytes: settings.segmentBytes,
      pairOffsetMs: settings.pairOffsetMs,
      firstSequence: 1000,
    },
  });
  const messages: { type: string; message?: string }[] = [];
  let wake: (() => void) | undefined;
  worker.on('message', (m: { type: string }) => {
    messages.push(m);
    wake?.();
  });
  worker.on('error', (error) => {
    messages.push({ type: 'error', message: String(error) });
    wake?.();
  });
  const next = async (type: string) => {
    for (;;) {
      const found = messages.find((m) => m.type === type || m.type === 'error');
      if (found !== undefined) {
        messages.splice(messages.indexOf(found), 1);
        if (found.type === 'error') throw new Error(`encoders: ${found.message}`);
        return found;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };
  try {
    await next('ready');
    await runtime.idle();
    const runtimeClients = bench.clients();

    let seen = 0;
    const finishedAtSubscribe = runtime.executions.length;
    const unsubscribe = runtime.onObjectEvent((event) => {
      if (event.kind === 'created' && event.key.endsWith('.m3u8') && parseEncoderKey(event.key, encoders))
        seen++;
    });
    const goAt = Date.now() + 200;
    worker.postMessage({ type: 'go', at: goAt });
    const windowStart = goAt + settings.warmupMs;
    const windowEnd = windowStart + settings.loadWindowMs;
    await sleep(windowStart - Date.now());

    const alertsBefore = runtime.alerts.length;
    const callsBefore = observed.calls.length;
    const finishedBefore = runtime.executions.length;
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const backlog: number[] = [];
    let aborted: string | undefined;
    while (Date.now() < windowEnd) {
      await sleep(100);
      const inFlight = seen - (runtime.executions.length - finishedAtSubscribe);
      backlog.push(inFlight);
      if (inFlight > 3 * eventsPerPeriod) {
        aborted = `backlog of ${inFlight} events (3 periods' worth) after ${((Date.now() - windowStart) / 1000).toFixed(1)} s`;
        break;
      }
    }
    const actualEnd = Date.now();
    delay.disable();
    const elu = performance.eventLoopUtilization(elu0);
    const cpu = process.cpuUsage(cpu0);
    const windowCalls = observed.calls.slice(callsBefore);
    const finishedInWindow = runtime.executions.length - finishedBefore;
    const alertSubjects = runtime.alerts.slice(alertsBefore).map((a) => a.subject);

    worker.postMessage({ type: 'stop' });
    const done = (await next('done')) as unknown as WorkerDone;
    const stopAt = performance.now();
    unsubscribe();
    await runtime.idle();
    const drainMs = performance.now() - stopAt;

    const windowSeconds = (actualEnd - windowStart) / 1000;
    const inWindow = runtime.executions.filter(
      (e) =>
        e.startedAt >= windowStart &&
        e.startedAt < actualEnd &&
        (e.input as { source?: string }).source === 'aws.s3',
    );
    const durations = inWindow.map((e) => e.durationMs);
    const failures = failuresOf(runtime.executions);
    const outcomes: Record<string, number> = {};
    for (const e of inWindow) outcomes[outcomeOf(e)] = (outcomes[outcomeOf(e)] ?? 0) + 1;
    const retries: Record<string, number> = {};
    let retried = 0;
    for (const e of inWindow) {
      let lastError = 'unknown';
      let any = false;
      for (const v of e.events as { type?: string; Error?: string; state?: { name?: string } }[]) {
        if (v.type === 'StateFailed') lastError = v.Error ?? 'unknown';
        if (v.type !== 'StateRetried') continue;
        any = true;
        const name = `${v.state?.name}: ${lastError}`;
        retries[name] = (retries[name] ?? 0) + 1;
      }
      if (any) retried++;
    }
    const putsInWindow = done.puts.filter(([started]) => started >= windowStart && started < actualEnd);
    const workflowCalls = windowCalls.filter((c) => isWorkflowCall(c, runtimeClients, encoders));
    const callStats = (service: StorageService, client: object | undefined) => {
      const workflow = workflowCalls.filter((c) => c.service === service);
      const ms = workflow.map((c) => c.ms);
      return {
        callsPerEvent: round3(workflow.length / Math.max(1, finishedInWindow)),
        opsPerSecond: round1(windowCalls.filter((c) => c.client === client).length / windowSeconds),
        workflowCallMs: { p50: round1(percentile(ms, 50)), p99: round1(percentile(ms, 99)) },
        workflow,
      };
    };
    const { workflow: s3Calls, ...s3 } = callStats('S3', runtimeClients.s3);
    const { workflow: dynamoDbCalls, ...dynamodb } = callStats('DynamoDB', runtimeClients.dynamodb);
    const quarter = Math.max(1, Math.floor(backlog.length / 4));
    const mean = (v: readonly number[]) => (v.length === 0 ? 0 : v.reduce((a, b) => a + b, 0) / v.length);

    const offeredPerSecond = putsInWindow.length / windowSeconds;
    const sustainedPerSecond = finishedInWindow / windowSeconds;
    const p99 = percentile(durations, 99);
    const first = mean(backlog.slice(0, quarter));
    const last = mean(backlog.slice(-quarter));
    const reasons: string[] = [];
    if (aborted !== undefined) reasons.push(`aborted: ${aborted}`);
    if (failures.length > 0) reasons.push(`${failures.length} executions failed`);
    if (alertSubjects.length > 0) reasons.push(`${alertSubjects.length} alerts on healthy encoders`);
    // Window edges: a period's worth of events may be offered in the window and finish after it.
    if (finishedInWindow < 0.98 * putsInWindow.length - eventsPerPeriod)
      reasons.push(`finished ${sustainedPerSecond.toFixed(1)}/s of ${offeredPerSecond.toFixed(1)}/s offered`);
    if (!(p99 <= settings.periodMs)) reasons.push(`p99 ${Math.round(p99)} ms > one segment period`);
    if (last > first + eventsPerPeriod / 2)
      reasons.push(`backlog grew from ${first.toFixed(0)} to ${last.toFixed(0)}`);
    if (done.lateTicks > 0)
      reasons.push(`${done.lateTicks} encoder ticks late (ingest slower than real time)`);
    if (done.failures > 0) reasons.push(`${done.failures} ingest requests failed`);
    return {
      channels,
      renditions: settings.renditions,
      encoders: encoders.length,
      segmentBytesPerPeriod: settings.segmentBytes.reduce((a, b) => a + b, 0) * encoders.length * channels,
      windowSeconds: round1(windowSeconds),
      offeredPerSecond: round1(offeredPerSecond),
      sustainedPerSecond: round1(sustainedPerSecond),
      eventMs: {
        p50: Math.round(percentile(durations, 50)),
        p99: Math.round(p99),
        max: Math.round(percentile(durations, 100)),
      },
      ingestPutMs: {
        p50: round1(
          percentile(
            putsInWindow.map(([, ms]) => ms),
            50,
          ),
        ),
        p99: round1(
          percentile(
            putsInWindow.map(([, ms]) => ms),
            99,
          ),
        ),
      },
      failed: failures.length,
      failures: failures.slice(0, 5),
      alerts: alertSubjects.length,
      alertSubjects: alertSubjects.slice(0, 5),
      backlog: {
        mean: round1(mean(backlog)),
        max: Math.max(0, ...backlog),
        firstQuarter: round1(first),
        lastQuarter: round1(last),
      },
      drainMs: Math.round(drainMs),
      lateTicks: done.lateTicks,
      ingestFailures: done.failures,
      s3: { ...s3, preconditionFailed: s3Calls.filter((c) => c.status === 412).length },
      dynamodb: {
        ...dynamodb,
        conditionFailed: dynamoDbCalls.filter((c) => c.error === 'ConditionalCheckFailedException').length,
      },
      outcomes,
      retried,
      retries,
      eventLoop: { utilization: round3(elu.utilization), delayP99Ms: round1(delay.percentile(99) / 1e6) },
      cpuCores: round3((cpu.user + cpu.system) / 1e6 / windowSeconds),
      cpuMsPerEvent: round3((cpu.user + cpu.system) / 1000 / Math.max(1, finishedInWindow)),
      mainThreadMsPerEvent: round3((elu.utilization * windowSeconds * 1000) / Math.max(1, finishedInWindow)),
      aborted,
      keepsUp: reasons.length === 0,
      reasons,
    };
  } finally {
    await worker.terminate();
    await bench.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// The whole pipeline bench, and its report
// ---------------------------------------------------------------------------------------------

export interface PipelineReport {
  readonly method: string;
  readonly settings: PipelineSettings;
  readonly ratio: RatioResult;
  readonly load: readonly LoadResult[];
  /** Largest channel count that kept up in real time (0 when none did). */
  readonly maxChannelsInRealTime: number;
  readonly targets: {
    readonly ratio: { readonly target: number; readonly value: number; readonly pass: boolean };
    readonly channels: {
      readonly target: number;
      readonly tested: boolean;
      readonly pass: boolean;
    };
  };
  /** os.loadavg() (1, 5, 15 min) before and after: other work on the machine skews the numbers. */
  readonly loadAverage: { readonly before: readonly number[]; readonly after: readonly number[] };
  readonly cpus: number;
  readonly elapsedMs: number;
}

export const PIPELINE_METHOD =
  'a real local runtime in this process (s3rver behind the conditional-write layer, dynalite with the state table, ' +
  'the ASL on aws-local-stepfunctions, the same handlers, the HTTP origin); S3 and DynamoDB calls observed by ' +
  'wrapping the send of S3Client and DynamoDBClient. ' +
  'Ratio: one event at a time in real time (each playlist advances once per period, segment PUT first); ' +
  'time per event = object event seen -> every execution finished; the same S3 and DynamoDB calls replayed ' +
  "serially through the runtime's own clients against the same endpoints (S3: GET on the same keys, PUT of the " +
  'same size and condition to scratch keys; DynamoDB: GetItem and Query as sent, PutItem of the same item and ' +
  'kind of condition to a scratch group), interleaved with the events; ratio = median event time / median replay time. ' +
  'Load: encoders on a worker thread PUT segment + playlist and DELETE the old segment through the origin, every ' +
  'period, channels spread over the period; after a warm-up, a window of real time: playlist PUTs per s offered, ' +
  'executions finished per s, time per event (execution start -> end), backlog sampled every 100 ms. ' +
  'Keeps up = no failed execution, no alert, finished >= 98% of offered, p99 <= one period, backlog not growing, ' +
  'no late encoder tick, no failed ingest.';

const sumLoad = () => loadavg().map((n) => Math.round(n * 100) / 100);

export async function runPipelineBench(
  settings: PipelineSettings,
  options: { readonly bisect?: boolean; readonly progress?: ((line: string) => void) | undefined } = {},
): Promise<PipelineReport> {
  const progress = options.progress ?? (() => undefined);
  const started = performance.now();
  const before = sumLoad();
  const observed = observeStorageCalls();
  try {
    const ratio = await measureRatio(settings, observed);
    progress(
      `ratio: ${ratio.ratio.toFixed(2)}× (event p50 ${ratio.eventMs.p50.toFixed(1)} ms, ` +
        `${describeByService(ratio.roundTripsByService)} round trips ${ratio.replayMs.p50.toFixed(1)} ms)`,
    );
    observed.calls.length = 0;
    const load: LoadResult[] = [];
    const step = async (channels: number) => {
      const result = await measureLoad(channels, settings, observed);
      observed.calls.length = 0;
      load.push(result);
      progress(
        `${channels} channels: ${result.keepsUp ? 'keeps up' : `MISS (${result.reasons.join('; ')})`}, ` +
          `${result.sustainedPerSecond}/s of ${result.offeredPerSecond}/s, p50 ${result.eventMs.p50} ms, p99 ${result.eventMs.p99} ms`,
      );
    };
    for (const channels of settings.channelSteps) await step(channels);
    // Narrow down the largest channel count that keeps up, between the last pass and the first miss.
    for (let extra = 0; options.bisect && extra < 2; extra++) {
      const passed = load.filter((r) => r.keepsUp).map((r) => r.channels);
      const missed = load.filter((r) => !r.keepsUp).map((r) => r.channels);
      const low = Math.max(0, ...passed);
      const high = Math.min(...missed.filter((n) => n > low));
      if (!Number.isFinite(high) || high - low < 2) break;
      await step(Math.floor((low + high) / 2));
    }
    load.sort((a, b) => a.channels - b.channels);
    const firstMiss = Math.min(...load.filter((r) => !r.keepsUp).map((r) => r.channels));
    const maxChannelsInRealTime = Math.max(
      0,
      ...load.filter((r) => r.keepsUp && r.channels < firstMiss).map((r) => r.channels),
    );
    const atTarget = load.find((r) => r.channels === TARGET_CHANNELS);
    return {
      method: PIPELINE_METHOD,
      settings,
      ratio,
      load,
      maxChannelsInRealTime,
      targets: {
        ratio: { target: TARGET_RATIO, value: ratio.ratio, pass: ratio.pass },
        channels: {
          target: TARGET_CHANNELS,
          tested: atTarget !== undefined,
          pass: atTarget?.keepsUp ?? maxChannelsInRealTime >= TARGET_CHANNELS,
        },
      },
      loadAverage: { before, after: sumLoad() },
      cpus: availableParallelism(),
      elapsedMs: Math.round(performance.now() - started),
    };
  } finally {
    observed.restore();
  }
}

function pad(cells: readonly (readonly string[])[]): string[] {
  const widths = (cells[0] ?? []).map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells.map((row) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
      .join('  '),
  );
}

export function pipelineTable(report: PipelineReport): string {
  const { ratio, settings } = report;
  const kbps = settings.segmentBytes.map((b) => Math.round((b * 8) / settings.periodMs)).join('/');
  const header = [
    'channels',
    'events/s offered',
    'finished/s',
    'p50 ms',
    'p99 ms',
    'backlog mean/max',
    'S3 calls/event',
    '412s',
    'S3 ops/s',
    'DDB calls/event',
    'DDB cond. fails',
    'loop busy',
    'CPU ms/event',
    'ingest p99 ms',
    'failed',
    'alerts',
    'result',
  ];
  const rows = report.load.map((r) => [
    `${r.channels}×${r.renditions}×${r.encoders}`,
    r.offeredPerSecond.toFixed(1),
    r.sustainedPerSecond.toFixed(1),
    String(r.eventMs.p50),
    String(r.eventMs.p99),
    `${r.backlog.mean.toFixed(0)}/${r.backlog.max}`,
    r.s3.callsPerEvent.toFixed(1),
    String(r.s3.preconditionFailed),
    r.s3.opsPerSecond.toFixed(0),
    r.dynamodb.callsPerEvent.toFixed(1),
    String(r.dynamodb.conditionFailed),
    `${Math.round(r.eventLoop.utilization * 100)}%`,
    r.cpuMsPerEvent.toFixed(1),
    r.ingestPutMs.p99.toFixed(0),
    String(r.failed),
    String(r.alerts),
    r.keepsUp ? 'keeps up' : 'MISS',
  ]);
  const lines = [
    '',
    `local pipeline (node ${process.version}, ${report.cpus} cores, load average ${report.loadAverage.before.join(' ')} before, ${report.loadAverage.after.join(' ')} after)`,
    `method: ${report.method}`,
    '',
    `ratio: ${ratio.events} events, one at a time: time per event p50 ${ratio.eventMs.p50.toFixed(1)} ms (p99 ${ratio.eventMs.p99.toFixed(1)}); ` +
      `round trips per event ${describeByService(ratio.roundTripsByService)} (${ratio.roundTrips}); ` +
      `replayed: p50 ${ratio.replayMs.p50.toFixed(1)} ms (S3 ${ratio.replayMsByService.S3.toFixed(1)} + DynamoDB ` +
      `${ratio.replayMsByService.DynamoDB.toFixed(1)}; ${ratio.msPerRoundTrip.toFixed(2)} ms per round trip); ` +
      `in the handlers: S3 ${ratio.inSituS3Ms.toFixed(1)} + DynamoDB ${ratio.inSituDynamoDbMs.toFixed(1)} ms`,
    `ratio ${ratio.ratio.toFixed(2)}× (per-event ratios p10–p90 ${ratio.ratioRange[0].toFixed(2)}–${ratio.ratioRange[1].toFixed(2)}), target ≤ ${ratio.target}×: ${ratio.pass ? 'pass' : 'MISS'}` +
      (ratio.failed > 0 ? ` (${ratio.failed} executions failed)` : ''),
    '',
    `load: channels × ${settings.renditions} renditions × 2 encoders, ${settings.periodMs / 1000} s segments ` +
      (settings.segmentBytes.some((b) => b > 0) ? `(${kbps} kb/s)` : '(playlists only, no segments)') +
      `, ${settings.warmupMs / 1000} s warm-up + ${settings.loadWindowMs / 1000} s window each`,
    ...pad([header, ...rows]),
  ];
  for (const r of report.load)
    if (!r.keepsUp) lines.push(`  ${r.channels} channels: ${r.reasons.join('; ')}`);
  const c = report.targets.channels;
  lines.push(
    '',
    `max channels in real time: ${report.maxChannelsInRealTime} (of those tested); ` +
      `${c.target} channels: ${c.tested ? (c.pass ? 'pass' : 'MISS') : `not tested (${c.pass ? 'pass' : 'MISS'} by the steps run)`}`,
    `ratio target: ${report.targets.ratio.pass ? 'pass' : 'MISS'}; pipeline run took ${(report.elapsedMs / 1000).toFixed(1)} s`,
    '',
  );
  return lines.join('\n');
}
