/**
 * The local origin's reads, against a stand-in S3 endpoint that misbehaves on purpose: a read that
 * got no answer (the connection reset) is tried once more, as CloudFront retries an origin it
 * could not reach; an answer, even an error, is final; a 502 is logged with its reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeServer, listen } from '../../local/listen';
import { type Origin, startOrigin } from '../../local/origin';

/** A stand-in endpoint whose n-th request (from 1) is answered by `answers[n - 1]`. */
async function endpoint(answers: readonly ('reset' | number)[]) {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const answer = answers[requests++] ?? 500;
    req.resume();
    if (answer === 'reset') return void req.socket.destroy();
    if (answer === 200)
      return void res.writeHead(200, { 'content-type': 'video/mp2t', etag: '"e"' }).end('segment');
    res
      .writeHead(answer, { 'content-type': 'application/xml' })
      .end('<Error><Code>InternalError</Code><Message>broken on purpose</Message></Error>');
  });
  const port = await listen(server, 0, '127.0.0.1');
  return { url: `http://127.0.0.1:${port}`, requests: () => requests, close: () => closeServer(server) };
}

describe('the local origin reads through a stand-in S3 endpoint', () => {
  let dir: string;
  let stop: (() => Promise<void>)[];
  const logged: string[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hlsf-origin-'));
    stop = [];
    logged.length = 0;
  });
  afterEach(async () => {
    for (const s of stop.reverse()) await s();
    rmSync(dir, { recursive: true, force: true });
  });

  async function originOver(answers: readonly ('reset' | number)[]) {
    const s3 = await endpoint(answers);
    const origin: Origin = await startOrigin({
      s3Endpoint: { url: s3.url, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } },
      bucket: 'live',
      statePrefix: '_state/',
      port: 0,
      spoolDirectory: join(dir, 'incoming'),
      log: (line) => logged.push(line),
    });
    stop.push(s3.close, origin.close);
    return { s3, origin };
  }

  it('a read whose connection is reset is tried once more, and the viewer gets the object', async () => {
    const { s3, origin } = await originOver(['reset', 200]);
    const res = await fetch(`${origin.url}/ch1/primary/a.ts`);
    expect([res.status, await res.text()]).toEqual([200, 'segment']);
    expect(s3.requests()).toBe(2);
    expect(logged).toEqual([]);
  });

  it('a read reset twice answers 502, saying why, and the runtime log records it', async () => {
    const { s3, origin } = await originOver(['reset', 'reset']);
    const res = await fetch(`${origin.url}/ch1/primary/a.ts`);
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/^storage error: /);
    expect(s3.requests()).toBe(2);
    expect(logged).toEqual([
      expect.stringMatching(/^origin: GET \/ch1\/primary\/a\.ts answered 502 \(storage error: /),
    ]);
  });

  it("an endpoint's answer is final: its 500 is not asked again", async () => {
    const { s3, origin } = await originOver([500, 200]);
    const res = await fetch(`${origin.url}/ch1/primary/a.ts`);
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/broken on purpose/);
    expect(s3.requests()).toBe(1);
  });
});
