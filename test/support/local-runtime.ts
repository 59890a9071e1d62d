/**
 * The local runtime as the integration and status page tests start it: a fresh temp data dir,
 * bucket `live`, free ports, a watchdog that does not fire on its own (tests call
 * `runtime.watchdog()`), nothing printed, every call checked against the template's IAM policies;
 * with helpers that write and read through it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSettings } from '../../functions/config';
import { splicedFrom } from '../../functions/hls';
import {
  iamAuthorizer,
  type LocalRuntime,
  type LocalRuntimeOptions,
  startLocalRuntime,
} from '../../local/runtime';
import { fixture, mediaPlaylist } from './playlists';

export interface TestRuntime extends LocalRuntime {
  /** A request to the origin, e.g. `origin('ch1/index.m3u8')`. */
  origin(path: string, init?: RequestInit): Promise<Response>;
  /** PUTs `body` through the origin, as an encoder does, and expects 201. */
  ingest(path: string, body: string): Promise<void>;
  /** The target duration of the playlists `upload` writes, in seconds, and the encoders' cadence. */
  readonly targetDuration: number;
  /**
   * Ingests one encoder's 720p and 360p media playlists (target duration `targetDuration`) at once,
   * whose last segment is n: media sequence n − 3, four segments.
   */
  upload(channel: string, encoder: string, n: number, endlist?: boolean): Promise<void>;
  /** `upload` for both encoders at once, as lock-step encoders write the same segment. */
  uploadBoth(channel: string, n: number, endlist?: boolean): Promise<void>;
  /**
   * The encoders (both by default) write their masters and segments 10 and 11; resolves when the
   * runtime is idle, with the encoders' cadence (one tick per target duration) from there.
   */
  startChannel(channel: string, encoders?: readonly string[]): Promise<() => Promise<void>>;
  /**
   * The encoder whose segments the playlist at `path` lists when the workflow spliced it
   * (functions/hls/splice.ts); undefined for an encoder's own playlist or a missing one.
   */
  splicedFrom(path: string): Promise<string | undefined>;
  /** A request to the JSON API: its status and parsed body. */
  api<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }>;
}

/**
 * An encoder's wall-clock cadence: each call resolves `periodMs` after the previous tick (the
 * first after the call to `cadence`), however long the caller took in between. A test that slept
 * a period after each upload would fall behind by the upload's own time, a stall under load.
 */
export function cadence(periodMs: number): () => Promise<void> {
  let next = Date.now();
  return () => {
    next += periodMs;
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
  };
}

/**
 * Starts a runtime with these settings (the defaults for the rest) and runtime options. Close it
 * with `close()`. `targetDuration` (seconds, default 1) is the test encoders': a test that times
 * the workflow against a budget of target durations takes 2 s, as live encoders do, so that a
 * loaded machine's queueing (up to ~2 s seen in CI) is not, at 1 s, as long as a stall threshold.
 */
export async function startTestRuntime(
  settings: Record<string, unknown> = {},
  options: Partial<LocalRuntimeOptions> = {},
  { targetDuration = 1 }: { readonly targetDuration?: number } = {},
): Promise<TestRuntime> {
  const runtime = await startLocalRuntime({
    ...options,
    dataDir: mkdtempSync(join(tmpdir(), 'hlsf-runtime-')),
    bucket: 'live',
    settings: parseSettings(settings),
    s3Port: 0,
    originPort: 0,
    watchdogSeconds: 3600,
    print: () => undefined,
    createAuthorizer: iamAuthorizer,
    ...options,
  });
  const origin = (path: string, init?: RequestInit) => fetch(`${runtime.endpoints.origin}/${path}`, init);
  const ingest = async (path: string, body: string) => {
    const res = await origin(path, { method: 'PUT', body });
    expect(res.status).toBe(201);
  };
  /** The segments each encoder folder has (both renditions list `seg_<n>.ts` of the folder). */
  const written = new Set<string>();
  const upload = async (channel: string, encoder: string, n: number, endlist = false) => {
    // The segments first, as an encoder writes them (a splice copies them from the healthy folder).
    const segments = [n - 3, n - 2, n - 1, n]
      .map((m) => `${channel}/${encoder}/seg_${m}.ts`)
      .filter((key) => !written.has(key));
    await Promise.all(segments.map((key) => ingest(key, `segment ${key}`)));
    for (const key of segments) written.add(key);
    // At once, as an encoder writes its renditions: under load, one after another would put
    // whole seconds between them, more than the lag grace at TD 1 s.
    const body = mediaPlaylist({
      sequence: n - 3,
      count: 4,
      targetDuration,
      duration: targetDuration,
      endlist,
    });
    await Promise.all(['720p.m3u8', '360p.m3u8'].map((r) => ingest(`${channel}/${encoder}/${r}`, body)));
  };
  const uploadBoth = async (channel: string, n: number, endlist = false) => {
    await Promise.all(['primary', 'failover'].map((e) => upload(channel, e, n, endlist)));
  };
  const startChannel = async (channel: string, encoders: readonly string[] = ['primary', 'failover']) => {
    for (const e of encoders) await ingest(`${channel}/${e}/master.m3u8`, fixture('master-simple.m3u8'));
    for (let n = 10; n <= 11; n++) await Promise.all(encoders.map((e) => upload(channel, e, n)));
    const tick = cadence(targetDuration * 1000);
    await runtime.idle();
    return tick;
  };
  const splicedFromPath = async (path: string) => {
    const res = await origin(path);
    return res.status === 200 ? splicedFrom(await res.text()) : undefined;
  };
  const api = async <T>(path: string, init?: RequestInit) => {
    const res = await fetch(`${runtime.endpoints.api}/${path}`, init);
    return { status: res.status, body: (await res.json()) as T };
  };
  return Object.assign(runtime, {
    targetDuration,
    origin,
    ingest,
    upload,
    uploadBoth,
    startChannel,
    splicedFrom: splicedFromPath,
    api,
  });
}
