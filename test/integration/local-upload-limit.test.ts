/**
 * Uploads have a size limit and stream to disk (issue 16 §4): a PUT over the limit, declared or
 * chunked, through the origin or the S3 endpoint, gets 413 with the limit and the option that
 * raises it, and leaves nothing: no object, no event, no temporary file.
 */
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { rawRequest } from '../support/raw-http';

jest.setTimeout(60_000);

const LIMIT = 1024 * 1024;
/** Bodies over this are spooled to disk: the oversized and the exact-limit uploads below are. */
const SPOOL_ABOVE = 256 * 1024;

/** PUTs `size` bytes in 64 KiB chunks with chunked transfer encoding, as ffmpeg does. */
function chunkedPut(url: string, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // The server may answer 413 and close before the whole body is sent.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' ? undefined : reject(error)));
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    const write = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

/** Every file name under `dir`, recursively. */
const filesUnder = (dir: string) => readdirSync(dir, { recursive: true }).map(String);

describe('upload size limit (real runtime, limit 1 MiB, spooled to disk above 256 KiB)', () => {
  let runtime: TestRuntime;
  const events: string[] = [];

  beforeAll(async () => {
    runtime = await startTestRuntime({}, { maxUploadBytes: LIMIT, spoolAboveBytes: SPOOL_ABOVE });
    runtime.onObjectEvent((event) => events.push(event.key));
  });
  afterAll(() => runtime.close());

  const targets = () => ({
    origin: (key: string) => `${runtime.endpoints.origin}/${key}`,
    's3 endpoint': (key: string) => `${runtime.endpoints.s3}/live/${key}`,
  });

  it.each(['origin', 's3 endpoint'] as const)(
    'answers a declared oversized PUT through the %s with 413 naming the limit, and stores nothing',
    async (target) => {
      const key = `big/primary/declared-${target.replace(' ', '-')}.ts`;
      const url = new URL(targets()[target](key));
      const res = await rawRequest(url.origin, 'PUT', url.pathname, {
        headers: { 'content-length': LIMIT + 1 },
        body: Buffer.alloc(LIMIT + 1),
      }).catch((error: NodeJS.ErrnoException) => ({ status: error.code, body: '' }));
      expect(res.status).toBe(413);
      expect(res.body).toContain(`limit of ${LIMIT} bytes`);
      expect((await runtime.origin(key)).status).toBe(404);
    },
  );

  it.each(['origin', 's3 endpoint'] as const)(
    'stops a chunked PUT through the %s at the limit with 413, leaving no object, event or temporary file',
    async (target) => {
      const key = `big/primary/chunked-${target.replace(' ', '-')}.ts`;
      const res = await chunkedPut(targets()[target](key), 4 * LIMIT);
      expect(res.status).toBe(413);
      expect(res.body).toMatch(/--max-upload-mb/);
      expect((await runtime.origin(key)).status).toBe(404);
      expect(events).not.toContain(key);
      const leftovers = filesUnder(runtime.endpoints.dataDir).filter(
        (f) => f.endsWith('.tmp') || f.startsWith('incoming/'),
      );
      expect(leftovers).toEqual([]);
    },
  );

  it.each([
    ['kept in memory', SPOOL_ABOVE],
    ['spooled to disk', LIMIT],
  ])(
    'stores a chunked upload %s (%d bytes) through the origin whole, and leaves no spool file',
    async (_, size) => {
      const key = `big/primary/whole-${size}.ts`;

      const res = await chunkedPut(`${runtime.endpoints.origin}/${key}`, size);

      expect(res.status).toBe(201);
      const stored = Buffer.from(await (await runtime.origin(key)).arrayBuffer());
      expect(stored.equals(Buffer.alloc(size, 1))).toBe(true);
      expect(filesUnder(runtime.endpoints.dataDir).filter((f) => f.startsWith('incoming/'))).toEqual([]);
    },
  );
});
