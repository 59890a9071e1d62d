/**
 * A full or read-only data dir is reported and the runtime keeps serving (issue 16 §4): a write the
 * disk refuses answers the client 507 (full) or 503 (read-only, failing) with the reason, leaves no
 * object, temporary file or torn JSON line; reads go on; the status API shows a `storage` entry
 * and one LOCAL STORAGE FAILING alert goes out (sinks, webhook), then one WRITABLE AGAIN notice.
 *
 * The disk's refusals are injected (`storageFault`, local/storage-health.ts): a small tmpfs needs
 * root, and root (as in CI containers) writes through `chmod`. The one `chmod` test uses it only
 * when not root, and the injection otherwise.
 */
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Alert } from '../../functions/alerts';
import type { StorageErrorCode, StorageStatus } from '../../local/storage-health';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { mediaPlaylist } from '../support/playlists';
import { webhookEndpoint } from '../support/webhook-endpoint';

jest.setTimeout(60_000);

/** Every file name under `dir`, recursively. */
const filesUnder = (dir: string) => readdirSync(dir, { recursive: true }).map(String);

let runtime: TestRuntime;
/** The fault every write under `faultUnder` meets now. */
let fault: StorageErrorCode | undefined;
let faultUnder = '';
let webhook: Awaited<ReturnType<typeof webhookEndpoint>>;
/** The subjects of the alerts the webhook received. */
const webhookSubjects = () => webhook.received.map((alert) => (alert as Alert).subject);

beforeAll(async () => {
  webhook = await webhookEndpoint([200]);
  runtime = await startTestRuntime(
    {},
    {
      fromSources: true,
      webhook: { url: webhook.url, retryDelayMs: 10 },
      storageFault: (path) => (fault !== undefined && path.startsWith(faultUnder) ? fault : undefined),
    },
  );
  await runtime.ingest('ch1/primary/720p.m3u8', mediaPlaylist());
});
afterAll(async () => {
  await runtime.close();
  await webhook.close();
});
beforeEach(() => {
  // The bucket's part of the data dir refuses writes; the sinks take the alerts.
  faultUnder = join(runtime.endpoints.dataDir, 's3');
});
afterEach(async () => {
  // Writes work again: the next one clears the storage entry.
  fault = undefined;
  await runtime.ingest('ch1/primary/720p.m3u8', mediaPlaylist());
  await runtime.idle();
  expect((await storageStatus()).state).toBe('ok');
});

const subjects = () => runtime.alerts.map((a) => a.subject);
const storageStatus = async () => (await runtime.api<{ storage: StorageStatus }>('status')).body.storage;

/** What a refused upload must leave: the old object served, no new one, no temporary file, reads answering. */
async function expectNothingWrittenAndReadsServed(key: string): Promise<void> {
  expect((await runtime.origin(key)).status).toBe(404);
  expect(filesUnder(runtime.endpoints.dataDir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  const read = await runtime.origin('ch1/primary/720p.m3u8');
  expect(read.status).toBe(200);
  expect(await read.text()).toBe(mediaPlaylist());
  expect((await runtime.api('status')).status).toBe(200);
}

it.each([
  ['full (ENOSPC)', 507, 'ENOSPC', /data dir is full \(ENOSPC at /],
  ['read-only (EROFS)', 503, 'EROFS', /data dir is not writable \(EROFS at /],
  ['refusing writes (EACCES)', 503, 'EACCES', /data dir is not writable \(EACCES at /],
  ['failing (EIO)', 503, 'EIO', /data dir failed \(EIO at /],
] as const)(
  'a %s data dir: an origin upload gets %s with the reason, stores nothing, and reads go on',
  async (_name, status, code, reason) => {
    fault = code;
    const key = `ch1/primary/360p-${code}.m3u8`;
    const res = await runtime.origin(key, { method: 'PUT', body: mediaPlaylist() });
    expect(res.status).toBe(status);
    expect(await res.text()).toMatch(reason);
    await expectNothingWrittenAndReadsServed(key);
  },
);

it('a full data dir: an S3 PutObject gets 507 InsufficientStorage with the reason, and stores nothing', async () => {
  fault = 'ENOSPC';
  const key = 'ch1/primary/s3-put.m3u8';
  const res = await fetch(`${runtime.endpoints.s3}/live/${key}`, { method: 'PUT', body: mediaPlaylist() });
  expect(res.status).toBe(507);
  const body = await res.text();
  expect(body).toContain('<Code>InsufficientStorage</Code>');
  expect(body).toMatch(/data dir is full \(ENOSPC at /);
  await expectNothingWrittenAndReadsServed(key);
});

it('a read-only data dir made with chmod (injected when running as root, whom chmod does not stop) gets 503', async () => {
  const folder = join(runtime.endpoints.dataDir, 's3', 'live', 'ch1', 'primary');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) fault = 'EACCES';
  else chmodSync(folder, 0o555);
  try {
    const res = await runtime.origin('ch1/primary/chmod.m3u8', { method: 'PUT', body: mediaPlaylist() });
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/data dir is not writable \(EACCES at /);
  } finally {
    chmodSync(folder, 0o755);
  }
  await expectNothingWrittenAndReadsServed('ch1/primary/chmod.m3u8');
});

it('reports the failure on the status API and alerts once (sinks, webhook), then once when writes work again', async () => {
  const before = { alerts: runtime.alerts.length, webhook: webhook.received.length };
  fault = 'ENOSPC';
  for (const n of [1, 2, 3])
    expect((await runtime.origin(`ch1/primary/${n}.m3u8`, { method: 'PUT', body: 'x' })).status).toBe(507);
  const failing = await storageStatus();
  expect(failing).toMatchObject({
    state: 'failing',
    dataDir: runtime.endpoints.dataDir,
    error: { code: 'ENOSPC' },
    path: expect.stringContaining(join('ch1', 'primary')),
    failures: 3,
  });
  expect(Date.parse(failing.since ?? '')).toBeLessThanOrEqual(Date.now());
  expect((await runtime.api<StorageStatus>('storage')).body.state).toBe('failing');

  fault = undefined;
  await runtime.ingest('ch1/primary/720p.m3u8', mediaPlaylist());
  await runtime.idle();

  expect(await storageStatus()).toMatchObject({ state: 'ok', recoveredAt: expect.any(String) });
  const raised = subjects().slice(before.alerts);
  expect(raised).toEqual([
    '[hls-failover] local runtime: LOCAL STORAGE FAILING (ENOSPC)',
    '[hls-failover] local runtime: LOCAL STORAGE WRITABLE AGAIN (ENOSPC)',
  ]);
  expect(webhookSubjects().slice(before.webhook)).toEqual(raised);
  const logged = readFileSync(join(runtime.endpoints.dataDir, 'alerts.jsonl'), 'utf8');
  expect(logged).toContain('LOCAL STORAGE FAILING');
});

it('a sink the disk refuses: the execution still runs, the runtime goes on, and the file holds only whole lines', async () => {
  const executions = join(runtime.endpoints.dataDir, 'executions.jsonl');
  faultUnder = executions;
  fault = 'ENOSPC';
  const before = runtime.executions.length;
  await runtime.ingest('ch1/failover/720p.m3u8', mediaPlaylist());
  await runtime.idle();
  expect(runtime.executions.length).toBe(before + 1);
  expect(await storageStatus()).toMatchObject({ state: 'failing', path: executions });
  fault = undefined;
  await runtime.ingest('ch1/failover/720p.m3u8', mediaPlaylist({ sequence: 1 }));
  await runtime.idle();
  const lines = readFileSync(executions, 'utf8').split('\n').slice(0, -1);
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
});
