/**
 * Hostile keys against the local runtime (issue 16 §4): a malformed `%` escape is a 400, not a
 * crash; a key with a `.` or `..` path segment, however it is encoded, is refused by the S3
 * endpoint and the origin alike, so nothing is ever read or written outside the data dir; and an
 * event naming such a channel makes the workflow write nothing there either.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { toEventBridgeEvent } from '../../local/runtime';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { rawRequest } from '../support/raw-http';

jest.setTimeout(60_000);

const SECRET = 'SECRET-OUTSIDE-THE-DATA-DIR';

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

/**
 * `../../../secret` in every encoding tried against the runtime. The bucket lives at
 * <data dir>/s3/live, so three levels up from the bucket is the directory holding the data dir,
 * where the test planted `secret` (as s3rver would name its file).
 */
const TRAVERSALS: Readonly<Record<string, string>> = {
  raw: '../../../secret',
  'percent-encoded dots': '%2e%2e/%2e%2e/%2e%2e/secret',
  'upper-case percent-encoded dots': '%2E%2E/%2E%2E/%2E%2E/secret',
  'encoded slashes': '..%2f..%2f..%2fsecret',
  'everything encoded': '%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret',
  backslashes: '..\\..\\..\\secret',
  'encoded backslashes': '..%5c..%5c..%5csecret',
  'mixed encodings': '.%2e/%2e./..%2fsecret',
  'a single dot segment': './secret',
  'dots inside a key': 'ch1/primary/../../../../secret',
};

describe('keys stay inside the data dir (S3 endpoint and origin)', () => {
  let runtime: TestRuntime;
  let outer: string;

  beforeAll(async () => {
    outer = mkdtempSync(join(tmpdir(), 'hlsf-outer-'));
    const dataDir = join(outer, 'data');
    mkdirSync(dataDir);
    writeFileSync(join(outer, 'secret._S3rver_object'), SECRET);
    writeFileSync(join(outer, 'secret._S3rver_metadata.json'), '{}');
    runtime = await startTestRuntime({}, { dataDir });
  });
  afterAll(() => runtime.close());

  const outside = () => filesUnder(outer).filter((file) => !file.startsWith(`data/`));

  it.each(['%zz', 'a%', '%E0%A4%A', '%c0%ae%c0%ae/secret'])(
    'answers a malformed %%-escape (%s) with 400 and keeps serving',
    async (malformed) => {
      for (const method of ['GET', 'PUT', 'DELETE', 'HEAD']) {
        const s3 = await rawRequest(runtime.endpoints.s3, method, `/live/${malformed}`, { body: 'x' });
        expect(s3.status).toBe(400);
        const origin = await rawRequest(runtime.endpoints.origin, method, `/${malformed}`, { body: 'x' });
        expect(origin.status).toBe(400);
      }
      await runtime.ingest('ch1/primary/still-serving.ts', 'ok');
      expect(await (await runtime.origin('ch1/primary/still-serving.ts')).text()).toBe('ok');
    },
  );

  it.each(Object.entries(TRAVERSALS))(
    'refuses a key with a dot segment, %s, with 400 naming the emulator limit (GET, HEAD, PUT, DELETE)',
    async (_encoding, traversal) => {
      for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
        const s3 = await rawRequest(runtime.endpoints.s3, method, `/live/${traversal}`, { body: 'pwned' });
        const origin = await rawRequest(runtime.endpoints.origin, method, `/${traversal}`, { body: 'pwned' });
        for (const answer of [s3, origin]) {
          expect(answer.status).toBe(400);
          expect(answer.body).not.toContain(SECRET);
          if (method !== 'HEAD') expect(answer.body).toContain('stores keys as files');
        }
      }
      expect(outside()).toEqual(['secret._S3rver_metadata.json', 'secret._S3rver_object']);
    },
  );

  it('refuses a dot segment in the bucket position and in a copy source', async () => {
    for (const path of ['/..%2f..%2fsecret', '/%2e%2e/%2e%2e/secret', '/../../secret'])
      expect((await rawRequest(runtime.endpoints.s3, 'PUT', path, { body: 'pwned' })).status).toBe(400);
    const copy = await rawRequest(runtime.endpoints.s3, 'PUT', '/live/copied', {
      headers: { 'x-amz-copy-source': '/live/..%2f..%2f..%2fsecret' },
    });
    expect(copy.status).toBe(400);
    expect(copy.body).not.toContain(SECRET);
    expect(outside()).toEqual(['secret._S3rver_metadata.json', 'secret._S3rver_object']);
  });

  it("refuses s3rver's virtual-host addressing of a bucket outside the storage root (the final path check)", async () => {
    // s3rver takes the bucket from a Host of <bucket>.s3.amazonaws.com: here "..", which no path check sees.
    writeFileSync(join(runtime.endpoints.dataDir, 'secret._S3rver_object'), SECRET);
    const headers = { host: '...s3.amazonaws.com' };
    const read = await rawRequest(runtime.endpoints.s3, 'GET', '/secret', { headers });
    expect(read.status).toBe(400);
    expect(read.body).not.toContain(SECRET);
    const write = await rawRequest(runtime.endpoints.s3, 'PUT', '/planted', { headers, body: 'pwned' });
    expect(write.status).toBe(400);
    expect(
      filesUnder(runtime.endpoints.dataDir).filter((f) => !f.startsWith('s3/') && f.includes('planted')),
    ).toEqual([]);
  });

  it('stores a double-encoded traversal as the literal key it is, inside the bucket', async () => {
    const doubled = '%252e%252e%252f%252e%252e%252f%252e%252e%252fsecret';
    expect(
      (await rawRequest(runtime.endpoints.origin, 'PUT', `/${doubled}`, { body: 'literal' })).status,
    ).toBe(201);
    const read = await rawRequest(runtime.endpoints.s3, 'GET', `/live/${doubled}`);
    expect(read).toMatchObject({ status: 200, body: 'literal' });
    expect(outside()).toEqual(['secret._S3rver_metadata.json', 'secret._S3rver_object']);
  });

  it('an event for channel "../../x" makes the workflow write nothing outside the data dir', async () => {
    const record = await runtime.execute(
      toEventBridgeEvent({
        eventName: 'ObjectCreated:Put',
        eventTime: new Date().toISOString(),
        s3: {
          bucket: { name: 'live' },
          object: { key: '../../../x/primary/720p.m3u8', size: 10, sequencer: '01' },
        },
      }),
    );
    await runtime.idle();
    expect(record.status).toBe('SUCCEEDED');
    expect(outside()).toEqual(['secret._S3rver_metadata.json', 'secret._S3rver_object']);
  });
});
