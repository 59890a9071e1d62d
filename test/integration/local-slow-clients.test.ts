/**
 * Slow, frozen and impatient clients (issue 16 §4): a request that gives up waiting for a key
 * leaves the key usable; an upload that stops sending is dropped after the stall timeout and its
 * key released, the stored object untouched; a held key never delays other keys, and requests
 * piled up on it never take the sockets the other keys and the workflow need.
 */
import { type ClientRequest, request } from 'node:http';
import { CLIENT_IDLE_MS } from '../../local/s3-endpoint';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { rawRequest } from '../support/raw-http';

jest.setTimeout(60_000);

const STALL_MS = 1500;

/** A PUT that declares 1,000 bytes, sends 10 and then nothing: an encoder frozen mid-upload. */
function frozenPut(url: string): { req: ClientRequest; closedAt: Promise<number> } {
  const req = request(url, { method: 'PUT', headers: { 'content-length': 1000 } });
  const closedAt = new Promise<number>((resolve) => {
    req.on('error', () => resolve(Date.now()));
    req.on('close', () => resolve(Date.now()));
  });
  req.write(Buffer.alloc(10, 1));
  return { req, closedAt };
}

/** Resolves with the answer's status, or 'timeout' when none comes within `ms`. */
async function statusWithin(answer: Promise<{ status: number }>, ms: number): Promise<number | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([answer.then((res) => res.status), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('slow and frozen clients (real runtime, stall timeout 1.5 s)', () => {
  let runtime: TestRuntime;

  beforeAll(async () => {
    runtime = await startTestRuntime({}, { stallTimeoutMs: STALL_MS });
  });
  afterAll(() => runtime.close());

  const s3Url = (key: string) => `${runtime.endpoints.s3}/live/${key}`;

  it('a request that gives up waiting for a key does not leak its lock: the next request on that key succeeds', async () => {
    await runtime.ingest('ch1/primary/waited.ts', 'before');
    // A holder that finishes on its own time, well within the stall timeout.
    const holder = request(s3Url('ch1/primary/waited.ts'), {
      method: 'PUT',
      headers: { 'content-length': 5 },
    });
    const held = new Promise<number>((resolve) =>
      holder.on('response', (res) => resolve(res.statusCode ?? 0)),
    );
    holder.write('af');
    await sleep(100);
    const impatient = request(s3Url('ch1/primary/waited.ts'));
    impatient.on('error', () => undefined);
    impatient.end();
    await sleep(200);
    impatient.destroy();
    await sleep(100);
    holder.end('ter');
    expect(await held).toBe(200);
    const next = runtime.origin('ch1/primary/waited.ts');
    expect(await statusWithin(next, 3000)).toBe(200);
    expect(await (await next).text()).toBe('after');
  });

  it.each(['s3 endpoint', 'origin'] as const)(
    'an upload frozen through the %s is dropped within the stall timeout, its key released and the stored object untouched',
    async (target) => {
      const key = `ch1/primary/frozen-${target.replace(' ', '-')}.ts`;
      await runtime.ingest(key, 'whole');
      const started = Date.now();
      const frozen = frozenPut(target === 'origin' ? `${runtime.endpoints.origin}/${key}` : s3Url(key));
      await sleep(200);
      // Another key answers at once meanwhile.
      expect(await statusWithin(runtime.origin('ch1/index.m3u8'), 1000)).toBe(404);
      const closedAfter = (await frozen.closedAt) - started;
      expect(closedAfter).toBeGreaterThanOrEqual(STALL_MS - 100);
      expect(closedAfter).toBeLessThan(STALL_MS + 3000);
      const read = runtime.origin(key);
      expect(await statusWithin(read, 2000)).toBe(200);
      expect(await (await read).text()).toBe('whole');
    },
  );

  it('sixty requests piled on a frozen key take no socket from other keys or from the status API', async () => {
    const key = 'ch1/primary/piled.ts';
    await runtime.ingest(key, 'piled');
    const frozen = frozenPut(s3Url(key));
    await sleep(100);
    const piled = Array.from({ length: 60 }, () =>
      runtime.origin(key).then((res) => res.text().then(() => res.status)),
    );
    await sleep(200);
    expect(await statusWithin(runtime.origin('ch1/primary/other.ts'), 1000)).toBe(404);
    expect(
      await statusWithin(rawRequest(runtime.endpoints.s3, 'GET', '/live/ch1/primary/other.ts'), 1000),
    ).toBe(404);
    expect(await statusWithin(runtime.api('status'), 2000)).toBe(200);
    await frozen.closedAt;
    expect(new Set(await Promise.all(piled))).toEqual(new Set([200]));
  });

  it("the S3 endpoint keeps an idle connection open longer than the runtime's clients keep theirs: the origin (one attempt) never reads through a socket the endpoint is closing", async () => {
    await runtime.ingest('ch1/primary/kept.ts', 'kept');
    const answer = await rawRequest(runtime.endpoints.s3, 'GET', '/live/ch1/primary/kept.ts');
    expect(answer.status).toBe(200);
    // Node's agents close an idle socket 1 s before the server's announced keep-alive timeout.
    const announced = /timeout=(\d+)/.exec(String(answer.headers['keep-alive']))?.[1];
    expect(Number(announced) * 1000 - 1000).toBeGreaterThan(CLIENT_IDLE_MS);
    // Idle past Node's default server keep-alive (5 s), where the endpoint used to close first.
    await runtime.origin('ch1/primary/kept.ts').then((res) => res.text());
    await sleep(5_300);
    const read = await runtime.origin('ch1/primary/kept.ts');
    expect([read.status, await read.text()]).toEqual([200, 'kept']);
  });
});
