import { parseArgs } from 'node:util';
import { ENCODER_ACTIONS, type EncoderStatus, isEncoderAction } from '../local/encoder-base';
import { type CliIo, UsageError } from './io';

/** The JSON API of `hls-failover local` (its status server), as it starts by default. */
export const DEFAULT_API_URL = 'http://127.0.0.1:8081/api';

export const DEMO_HELP = `Usage: hls-failover demo <stall|kill|stop|resume> <encoder> [options]
       hls-failover demo status [<encoder>] [options]

Controls the demo encoders of a running local runtime (npm run demo, or
hls-failover local --demo) through its JSON API.

Actions:
  stall     SIGSTOP: the encoder stays alive but writes nothing; its playlists go stale
  kill      SIGKILL: the encoder dies; its last playlists stay as they were
  stop      SIGTERM: the encoder ends gracefully and writes EXT-X-ENDLIST
  resume    continue a stalled encoder, or restart a killed or stopped one in step
            with the other (same media sequence numbers and timestamps)
  status    show each encoder (or one): state, process id, since when

Options:
  --api <url>   the runtime's JSON API (default ${DEFAULT_API_URL}; the runtime
                prints it at start)
  --json        print the API's JSON answer
  -h, --help    show this help

Exit codes: 0 done, 1 the runtime refused or failed the action, 2 usage error,
runtime not reachable, or no demo running.
`;

interface DemoView {
  readonly channel: string;
  readonly source: string;
  readonly encoders: readonly EncoderStatus[];
}

/** `hls-failover demo …`: one request to the runtime's API, and its answer in words or JSON. */
export async function demoCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      api: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(DEMO_HELP);
    return 0;
  }
  const [action, encoder, ...extra] = positionals;
  const actions = [...ENCODER_ACTIONS, 'status'].join(', ');
  if (action === undefined) throw new UsageError(`give an action: ${actions}`);
  if (action !== 'status' && !isEncoderAction(action))
    throw new UsageError(`unknown action "${action}"; use one of ${actions}`);
  if (extra.length > 0) throw new UsageError(`too many arguments: ${extra.join(' ')}`);
  if (action !== 'status' && encoder === undefined)
    throw new UsageError(`${action} needs an encoder, e.g. "hls-failover demo ${action} primary"`);
  const api = apiBase(values.api ?? DEFAULT_API_URL);

  // The demo's encoders first: an unknown encoder is a usage mistake, named with the valid ones.
  const view = await readDemo(api);
  const names = view.encoders.map((e) => e.name);
  if (encoder !== undefined && !names.includes(encoder))
    throw new UsageError(`unknown encoder "${encoder}"; this demo's encoders are ${names.join(', ')}`);

  if (action === 'status') {
    const shown = view.encoders.filter((e) => encoder === undefined || e.name === encoder);
    if (values.json) io.out(`${JSON.stringify(encoder === undefined ? view : shown[0], null, 2)}\n`);
    else {
      io.out(`demo channel "${view.channel}" (${view.source} encoders)\n`);
      for (const e of shown) io.out(`  ${describe(e)}\n`);
    }
    return 0;
  }

  const url = `${api}/demo/${encodeURIComponent(encoder as string)}/${action}`;
  const answer = await request(url, 'POST', api);
  if (!answer.ok) {
    io.err(`hls-failover demo: ${action} ${encoder} refused: ${errorOf(answer.body, answer.status)}\n`);
    return 1;
  }
  const status = answer.body as EncoderStatus;
  if (values.json) io.out(`${JSON.stringify(status, null, 2)}\n`);
  else io.out(`${describe(status)}\n`);
  return 0;
}

/** `primary   running   pid 1234   since 17:23:01 (ffmpeg)` */
function describe(e: EncoderStatus): string {
  const since = new Date(e.since);
  const time = Number.isNaN(since.getTime()) ? e.since : since.toLocaleTimeString('en-GB', { hour12: false });
  const pid = e.pid === undefined ? '' : `pid ${e.pid}`;
  return `${e.name.padEnd(10)} ${e.state.padEnd(8)} ${pid.padEnd(10)} since ${time} (${e.source})`;
}

function apiBase(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--api takes a URL such as ${DEFAULT_API_URL} (got "${value}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--api takes an http(s) URL (got "${value}")`);
  return url.href.replace(/\/+$/, '');
}

async function readDemo(api: string): Promise<DemoView> {
  const answer = await request(`${api}/demo`, 'GET', api);
  if (answer.status === 404) {
    const why = errorOf(answer.body, 404);
    throw new UsageError(
      `the runtime at ${api} runs no demo: ${why}${why.includes('npm run demo') ? '' : '; start one with `npm run demo`'}`,
    );
  }
  const view = answer.body as Partial<DemoView> | undefined;
  if (!answer.ok || !Array.isArray(view?.encoders))
    throw new UsageError(
      `${api}/demo did not answer like the hls-failover API (HTTP ${answer.status}): ${errorOf(answer.body, answer.status)}`,
    );
  return view as DemoView;
}

/** One request; a runtime that does not answer, or answers something other than JSON, is a usage/I/O error. */
async function request(
  url: string,
  method: 'GET' | 'POST',
  api: string,
): Promise<{ ok: boolean; status: number; body: unknown }> {
  let res: Response;
  try {
    // A resume waits for the next segment boundary and a stop for ffmpeg to end: allow for both.
    res = await fetch(url, { method, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new UsageError(
      `cannot reach the hls-failover API at ${api} (${why}); is \`npm run demo\` running? Give its API URL with --api (it prints it at start)`,
    );
  }
  const text = await res.text();
  try {
    return { ok: res.ok, status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new UsageError(
      `${url} did not answer like the hls-failover API (HTTP ${res.status}, ${res.headers.get('content-type') ?? 'no content type'}); is --api the runtime's API URL?`,
    );
  }
}

function errorOf(body: unknown, status: number): string {
  const error = (body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' ? error : `HTTP ${status}`;
}
