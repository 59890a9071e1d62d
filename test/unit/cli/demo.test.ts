/**
 * `hls-failover demo` against a small fake of the runtime's JSON API (node:http on port 0): what
 * it asks, what it prints, and its exit codes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO_HELP, demoCommand } from '../../../cli/demo';
import { UsageError } from '../../../cli/io';

interface Call {
  readonly method: string;
  readonly path: string;
}

const encoders = [
  { name: 'primary', state: 'running', pid: 4242, since: '2026-01-01T10:00:00.000Z', source: 'ffmpeg' },
  { name: 'failover', state: 'running', pid: 4243, since: '2026-01-01T10:00:00.000Z', source: 'ffmpeg' },
];

/** Answers like the status server: GET /api/demo, POST /api/demo/<encoder>/<action>. */
function fakeApi(answer: (call: Call) => { status: number; body: string; type?: string }) {
  const calls: Call[] = [];
  const server: Server = createServer((req, res) => {
    const call = { method: req.method ?? '', path: req.url ?? '' };
    calls.push(call);
    const { status, body, type } = answer(call);
    res.writeHead(status, { 'content-type': type ?? 'application/json' }).end(body);
  });
  return {
    calls,
    start: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api`),
        ),
      ),
    close: () =>
      new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
  };
}

const demoRunning = (call: Call) => {
  if (call.method === 'GET' && call.path === '/api/demo')
    return { status: 200, body: JSON.stringify({ channel: 'demo', source: 'ffmpeg', encoders }) };
  const match = /^\/api\/demo\/([^/]+)\/([^/]+)$/.exec(call.path);
  if (call.method === 'POST' && match) {
    const state = { stall: 'stalled', kill: 'killed', stop: 'stopped', resume: 'running' }[
      match[2] as string
    ];
    const found = encoders.find((e) => e.name === match[1]);
    if (found === undefined) return { status: 400, body: JSON.stringify({ error: 'unknown encoder' }) };
    const { pid: _pid, ...rest } = found;
    return {
      status: 200,
      body: JSON.stringify({ ...rest, state, ...(state === 'stalled' ? { pid: 4242 } : {}) }),
    };
  }
  return { status: 404, body: JSON.stringify({ error: 'no such API' }) };
};

/** Runs the command as cli/main.ts does: a UsageError is exit code 2 and a message. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = {
    out: (t: string) => {
      out += t;
    },
    err: (t: string) => {
      err += t;
    },
    readStdin: async () => Buffer.alloc(0),
  };
  try {
    return { code: await demoCommand(args, io), out, err };
  } catch (error) {
    if (error instanceof UsageError) return { code: 2, out, err: `${err}${error.message}` };
    throw error;
  }
}

describe('hls-failover demo', () => {
  let api: ReturnType<typeof fakeApi>;
  let url: string;
  afterEach(async () => {
    await api?.close();
  });
  const serve = async (answer: Parameters<typeof fakeApi>[0]) => {
    api = fakeApi(answer);
    url = await api.start();
  };

  it('prints its help with --help and exits 0', async () => {
    expect(await run(['--help'])).toEqual({ code: 0, out: DEMO_HELP, err: '' });
    expect(DEMO_HELP).toMatch(/stall\s+SIGSTOP[\s\S]*kill\s+SIGKILL[\s\S]*stop\s+SIGTERM[\s\S]*resume/);
  });

  it('status lists every encoder with its state, process id and source', async () => {
    await serve(demoRunning);
    const { code, out } = await run(['status', '--api', url]);
    expect(code).toBe(0);
    expect(out).toMatch(/^demo channel "demo" \(ffmpeg encoders\)\n/);
    expect(out).toMatch(/primary\s+running\s+pid 4242\s+since \S+ \(ffmpeg\)/);
    expect(out).toMatch(/failover\s+running\s+pid 4243/);
    expect(api.calls).toEqual([{ method: 'GET', path: '/api/demo' }]);
  });

  it('status --json prints the API answer as JSON', async () => {
    await serve(demoRunning);
    const { code, out } = await run(['status', '--json', '--api', `${url}/`]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ channel: 'demo', source: 'ffmpeg', encoders });
  });

  it('an action POSTs to /demo/<encoder>/<action> and prints the new state', async () => {
    await serve(demoRunning);
    const { code, out } = await run(['stall', 'primary', '--api', url]);
    expect(code).toBe(0);
    expect(out).toMatch(/^primary\s+stalled\s+pid 4242/);
    expect(api.calls).toEqual([
      { method: 'GET', path: '/api/demo' },
      { method: 'POST', path: '/api/demo/primary/stall' },
    ]);
    const json = await run(['kill', 'failover', '--json', '--api', url]);
    expect(JSON.parse(json.out)).toMatchObject({ name: 'failover', state: 'killed' });
  });

  it('names the valid encoders for an unknown one and sends no action (exit 2)', async () => {
    await serve(demoRunning);
    const { code, err } = await run(['stop', 'backup', '--api', url]);
    expect(code).toBe(2);
    expect(err).toBe('unknown encoder "backup"; this demo\'s encoders are primary, failover');
    expect(api.calls.filter((c) => c.method === 'POST')).toEqual([]);
  });

  it('names the valid actions for an unknown one, and asks for the encoder an action needs (exit 2)', async () => {
    expect(await run(['pause', 'primary'])).toMatchObject({
      code: 2,
      err: 'unknown action "pause"; use one of stall, kill, stop, resume, status',
    });
    expect(await run([])).toMatchObject({ code: 2, err: expect.stringMatching(/^give an action/) });
    expect(await run(['resume'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/resume needs an encoder/),
    });
    expect(await run(['status', '--api', 'not a url'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--api takes a URL/),
    });
  });

  it('says the runtime is not reachable and how to start it (exit 2)', async () => {
    await serve(demoRunning);
    await api.close();
    const { code, err } = await run(['status', '--api', url]);
    expect(code).toBe(2);
    expect(err).toMatch(
      /cannot reach the hls-failover API at http:\/\/127\.0\.0\.1:\d+\/api \(ECONNREFUSED\)/,
    );
    expect(err).toContain('is `npm run demo` running?');
  });

  it('says when the runtime runs no demo (exit 2)', async () => {
    await serve(() => ({
      status: 404,
      body: JSON.stringify({ error: 'no demo is running; start one with `npm run demo`' }),
    }));
    const { code, err } = await run(['stall', 'primary', '--api', url]);
    expect(code).toBe(2);
    expect(err).toMatch(/runs no demo: no demo is running; start one with `npm run demo`$/);
  });

  it('says when the URL is not the API (the origin, an HTML page) (exit 2)', async () => {
    await serve(() => ({ status: 200, body: '<html></html>', type: 'text/html' }));
    const { code, err } = await run(['status', '--api', url]);
    expect(code).toBe(2);
    expect(err).toMatch(/did not answer like the hls-failover API \(HTTP 200, text\/html\)/);
  });

  it('reports the error the runtime gives for a refused action (exit 1)', async () => {
    await serve((call) =>
      call.method === 'POST'
        ? { status: 400, body: JSON.stringify({ error: 'the encoder is closing' }) }
        : demoRunning(call),
    );
    const { code, out, err } = await run(['resume', 'failover', '--api', url]);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe('hls-failover demo: resume failover refused: the encoder is closing\n');
  });
});
