/**
 * The local runtime while its operator browses (issue 16 §4): a page on another site may play a
 * stream (GET and HEAD, CORS `*`) but may not write through the origin or drive the demo; what the
 * origin serves is typed by the key's extension as HLS, a segment or JSON (never a stored
 * `text/html` that would run as a page), and every answer says `nosniff`.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createLocalS3Client } from '../../local/s3-endpoint';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { rawRequest } from '../support/raw-http';

jest.setTimeout(60_000);

const EVIL = 'https://evil.example';

describe('cross-site requests and served content (real runtime)', () => {
  let runtime: TestRuntime;
  const controlled: string[] = [];

  beforeAll(async () => {
    runtime = await startTestRuntime();
    runtime.attachDemo({
      channel: 'demo',
      source: 'pre-made',
      status: () => [],
      control: async (encoder, action) => {
        controlled.push(`${encoder} ${action}`);
        return { encoder, action };
      },
    });
  });
  afterAll(() => runtime.close());

  it('lets a page on another site GET and HEAD with CORS *, and preflights only GET and HEAD', async () => {
    await runtime.ingest('ch1/primary/a.ts', 'segment');
    for (const method of ['GET', 'HEAD']) {
      const res = await runtime.origin('ch1/primary/a.ts', { method, headers: { origin: EVIL } });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    }
    const preflight = await runtime.origin('ch1/index.m3u8', {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'PUT' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, HEAD, OPTIONS');
  });

  it.each([
    ['an Origin of another site', { origin: EVIL }],
    ['an Origin on another port of this host', { origin: 'http://127.0.0.1:1' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
  ])(
    'refuses PUT, POST and DELETE carrying %s: 403, no CORS allowance, nothing written',
    async (_, headers) => {
      await runtime.ingest('ch1/primary/720p.m3u8', '#EXTM3U\n');
      for (const method of ['PUT', 'POST', 'DELETE']) {
        const res = await runtime.origin('ch1/primary/720p.m3u8', {
          method,
          headers,
          body: method === 'DELETE' ? null : 'x',
        });
        expect(res.status).toBe(403);
        expect(await res.text()).toMatch(/cross-site .* refused/);
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
      }
      expect(await (await runtime.origin('ch1/primary/720p.m3u8')).text()).toBe('#EXTM3U\n');
    },
  );

  it("accepts writes with no Origin (encoders such as ffmpeg) or with the origin's own", async () => {
    await runtime.ingest('ch1/primary/b.ts', 'no origin header');
    const own = await runtime.origin('ch1/primary/b.ts', {
      method: 'PUT',
      headers: { origin: runtime.endpoints.origin },
      body: 'same origin',
    });
    expect(own.status).toBe(201);
    expect(await (await runtime.origin('ch1/primary/b.ts')).text()).toBe('same origin');
  });

  it("refuses cross-site POSTs to the demo control API and accepts the status page's own", async () => {
    const statusOrigin = new URL(runtime.endpoints.status).origin;
    const cross = await runtime.api('demo/primary/kill', { method: 'POST', headers: { origin: EVIL } });
    expect(cross.status).toBe(403);
    const fetchSite = await runtime.api('demo/primary/kill', {
      method: 'POST',
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(fetchSite.status).toBe(403);
    expect(controlled).toEqual([]);
    const own = await runtime.api('demo/primary/stall', {
      method: 'POST',
      headers: { origin: statusOrigin },
    });
    expect(own.status).toBe(200);
    expect(controlled).toEqual(['primary stall']);
  });

  it.each([
    ['ch1/primary/720p.m3u8', 'application/vnd.apple.mpegurl'],
    ['ch1/primary/seg.ts', 'video/mp2t'],
    ['ch1/primary/seg.m4s', 'video/mp4'],
    ['ch1/primary/init.mp4', 'video/mp4'],
    ['ch1/primary/audio.aac', 'audio/aac'],
    ['ch1/primary/audio.m4a', 'audio/mp4'],
    ['ch1/primary/subs.vtt', 'text/vtt'],
    ['ch1/primary/ad-markers.json', 'application/json'],
    ['ch1/primary/page.html', 'application/octet-stream'],
    ['ch1/primary/no-extension', 'application/octet-stream'],
  ])('serves %s as %s with nosniff, whatever type it was stored with', async (key, type) => {
    const s3 = createLocalS3Client({
      url: runtime.endpoints.s3,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await s3.send(
      new PutObjectCommand({
        Bucket: 'live',
        Key: key,
        Body: '<script>alert(document.domain)</script>',
        ContentType: 'text/html',
      }),
    );
    s3.destroy();
    const res = await runtime.origin(key);
    expect(res.headers.get('content-type')).toBe(type);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('says nosniff on every answer: origin errors, the S3 endpoint, the status JSON', async () => {
    expect((await runtime.origin('ch1/missing.ts')).headers.get('x-content-type-options')).toBe('nosniff');
    const s3 = await rawRequest(runtime.endpoints.s3, 'GET', '/live/ch1/primary/a.ts');
    expect(s3.headers['x-content-type-options']).toBe('nosniff');
    const s3Missing = await rawRequest(runtime.endpoints.s3, 'GET', '/live/missing');
    expect(s3Missing.status).toBe(404);
    const api = await fetch(`${runtime.endpoints.api}/status`);
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
