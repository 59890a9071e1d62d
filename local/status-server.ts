/**
 * The local status page and its JSON API: channels and their encoders' health read from the
 * same state the workflow keeps, recent executions and alerts, a player on each channel's
 * index.m3u8 (hls.js served from node_modules, no CDN), and the demo's encoder controls.
 *
 *   GET  /                          the status page (live updating)
 *   GET  /api/status                everything below in one document
 *   GET  /api/channels              [ChannelView]
 *   GET  /api/channels/<channel>    ChannelView ('~' is the single-channel layout)
 *   GET  /api/executions?limit=n    recent executions, newest first
 *   GET  /api/alerts?limit=n        recent alerts, newest first
 *   GET  /api/webhook               the on-call webhook's deliveries (404 without --webhook)
 *   GET  /api/storage               whether the data dir takes writes (a full or read-only disk)
 *   GET  /api/demo                  the demo encoders (404 without --demo)
 *   POST /api/demo/<encoder>/<action>   stall | kill | stop | resume
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { readChannelForView } from '../functions/accepted';
import type { Alert } from '../functions/alerts';
import { listChannels } from '../functions/channel-state';
import { type ChannelView, describeChannel } from '../functions/channel-view';
import { channelFromId } from '../functions/keys';
import type { RecordStore } from '../functions/record-store';
import type { ExecutionRecord } from './engine';
import { listen } from './listen';
import { crossSiteProblem, decodePath } from './request-guards';
import type { StorageStatus } from './storage-health';
import type { WebhookStatus } from './webhook';

/** What the status server needs of the demo (local/demo.ts provides it). */
export interface DemoControls {
  readonly channel: string;
  readonly source: string;
  status(): readonly unknown[];
  control(encoder: string, action: string): Promise<unknown>;
}

export interface AlertEntry {
  readonly at: string;
  readonly subject: string;
  readonly kind: string;
  readonly severity: string;
  readonly channel: string;
  readonly encoder: string | null;
  readonly message: string;
}

export interface ExecutionSummary {
  readonly name: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** The object key that started it, or 'watchdog'. */
  readonly trigger: string;
  /** The error name and cause of a failed execution; what it did for a successful one. */
  readonly reason: string;
}

export interface StatusSources {
  /** The workflow's records: each channel's state. */
  readonly records: RecordStore;
  /** The two encoder folder names (the page tells pathways apart by them). */
  readonly encoders: readonly string[];
  readonly originUrl: string;
  readonly executions: readonly ExecutionRecord[];
  readonly alerts: readonly AlertEntry[];
  /** The on-call webhook's deliveries; undefined without a webhook. */
  webhook?(): WebhookStatus | undefined;
  /** Whether the data dir takes writes (local/storage-health.ts). @default - not shown */
  storage?(): StorageStatus;
  demo(): DemoControls | undefined;
}

export function alertEntry(alert: Alert, at: Date): AlertEntry {
  const attribute = (name: string) => alert.attributes[name]?.StringValue;
  return {
    at: at.toISOString(),
    subject: alert.subject,
    kind: attribute('kind') ?? '',
    severity: attribute('severity') ?? '',
    channel: attribute('channel') ?? '',
    encoder: attribute('encoder') ?? null,
    message: alert.message,
  };
}

function triggerOf(input: unknown): string {
  const event = (input ?? {}) as { detail?: { object?: { key?: string } } };
  return event.detail?.object?.key ?? 'watchdog';
}

interface ExecutionOutput {
  readonly playlist?: { readonly action?: string; readonly reason?: string };
  readonly health?: { readonly alerts?: readonly unknown[] };
  readonly actions?: ReadonlyArray<{
    readonly channel?: string;
    readonly index?: {
      readonly index?: { readonly written?: boolean };
      readonly steering?: { readonly written?: boolean };
      readonly order?: readonly string[];
    };
    readonly withdrawal?: {
      readonly deleted?: Readonly<Record<string, readonly string[]>>;
      readonly spliced?: Readonly<Record<string, readonly string[]>>;
      readonly refreshed?: readonly string[];
    };
  }>;
}

/** What an execution did, in a few words: the failure, or its writes and alerts. */
function outcomeOf(record: ExecutionRecord): string {
  if (record.status === 'FAILED') return `${record.error ?? 'failed'}: ${(record.cause ?? '').slice(0, 500)}`;
  const output = (record.output ?? {}) as ExecutionOutput;
  if (output.playlist?.action === 'skip') return `skipped: ${output.playlist.reason ?? ''}`;
  const did = (output.actions ?? []).flatMap((a) => {
    const where = a.channel === undefined || a.channel === '' ? '' : `${a.channel}/`;
    const deleted = Object.values(a.withdrawal?.deleted ?? {}).flat().length;
    const spliced =
      Object.values(a.withdrawal?.spliced ?? {}).flat().length + (a.withdrawal?.refreshed?.length ?? 0);
    return [
      ...(a.index?.index?.written
        ? [`${where}index.m3u8 written (${(a.index.order ?? []).join(' first, ')})`]
        : []),
      ...(a.index?.steering?.written ? [`${where}steering.json written`] : []),
      ...(deleted > 0 ? [`${deleted} playlist(s) withdrawn`] : []),
      ...(spliced > 0 ? [`${spliced} playlist(s) spliced`] : []),
    ];
  });
  const alerts = output.health?.alerts?.length ?? 0;
  const parts = [...did, ...(alerts > 0 ? [`${alerts} alert(s) sent`] : [])];
  return parts.length === 0 ? 'no change' : parts.join('; ');
}

export function summarizeExecution(record: ExecutionRecord): ExecutionSummary {
  return {
    name: record.name,
    startedAt: new Date(record.startedAt).toISOString(),
    durationMs: Math.round(record.durationMs * 10) / 10,
    status: record.status,
    trigger: triggerOf(record.input),
    reason: outcomeOf(record),
  };
}

async function channelViews(sources: StatusSources, now: number): Promise<ChannelView[]> {
  const channels = await listChannels(sources.records);
  return Promise.all(
    channels.map(async (channel) => {
      return describeChannel(await readChannelForView(sources.records, channel), now);
    }),
  );
}

const newestFirst = <T>(items: readonly T[], limit: number) => items.slice(-limit).reverse();

/** Executions are kept in the order they finished; people read them by start time. */
function recentExecutions(records: readonly ExecutionRecord[], limit: number): ExecutionSummary[] {
  return records
    .slice(-limit * 2)
    .sort((a, b) => b.startedAt - a.startedAt)
    .slice(0, limit)
    .map(summarizeExecution);
}

function limitOf(url: URL): number {
  const raw = Number(url.searchParams.get('limit') ?? 50);
  return Number.isInteger(raw) && raw > 0 ? Math.min(raw, 1000) : 50;
}

/** The page sits next to this file; a build in dist/local/ reads it from the sources' local/. */
const PAGE_FILE = [
  join(__dirname, 'status-page.html'),
  join(__dirname, '..', '..', 'local', 'status-page.html'),
].find((p) => existsSync(p)) as string;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

async function route(sources: StatusSources, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const parts = url.pathname.split('/').filter((p) => p !== '');
  const now = Date.now();
  // The demo controls change what runs: only this server's own page (or a script) may use them.
  const crossSite = req.method === 'GET' || req.method === 'HEAD' ? undefined : crossSiteProblem(req);
  if (crossSite !== undefined) return json(res, 403, { error: crossSite });
  if (req.method === 'GET' && parts.length === 0) {
    const page = readFileSync(PAGE_FILE, 'utf8').replace('__ORIGIN__', sources.originUrl);
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    return void res.end(page);
  }
  if (req.method === 'GET' && url.pathname === '/vendor/hls.min.js') {
    res.writeHead(200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'max-age=3600',
      'x-content-type-options': 'nosniff',
    });
    return void res.end(readFileSync(require.resolve('hls.js/dist/hls.min.js')));
  }
  if (parts[0] !== 'api')
    return json(res, 404, { error: `no page at ${url.pathname}; try / or /api/status` });
  const decoded = parts.map(decodePath);
  if (decoded.includes(undefined)) return json(res, 400, { error: `malformed %-escape in ${url.pathname}` });
  const [, resource, ...rest] = decoded as string[];
  const demo = sources.demo();
  if (req.method === 'GET') {
    switch (resource) {
      case 'status':
        return json(res, 200, {
          now: new Date(now).toISOString(),
          origin: sources.originUrl,
          encoders: sources.encoders,
          channels: await channelViews(sources, now),
          executions: recentExecutions(sources.executions, 20),
          alerts: newestFirst(sources.alerts, 20),
          webhook: sources.webhook?.() ?? null,
          storage: sources.storage?.() ?? null,
          demo:
            demo === undefined
              ? null
              : { channel: demo.channel, source: demo.source, encoders: demo.status() },
        });
      case 'channels': {
        const views = await channelViews(sources, now);
        if (rest.length === 0) return json(res, 200, views);
        const channel = channelFromId(rest.join('/'));
        const view = views.find((v) => v.channel === channel);
        return view === undefined
          ? json(res, 404, { error: `no channel "${channel}" has been seen yet` })
          : json(res, 200, view);
      }
      case 'executions':
        return json(res, 200, recentExecutions(sources.executions, limitOf(url)));
      case 'alerts':
        return json(res, 200, newestFirst(sources.alerts, limitOf(url)));
      case 'webhook': {
        const webhook = sources.webhook?.();
        return webhook === undefined
          ? json(res, 404, { error: 'no webhook is configured; start the runtime with --webhook <url>' })
          : json(res, 200, webhook);
      }
      case 'storage': {
        const storage = sources.storage?.();
        return storage === undefined
          ? json(res, 404, { error: 'this server has no storage to report' })
          : json(res, 200, storage);
      }
      case 'demo':
        return demo === undefined
          ? json(res, 404, { error: 'no demo is running; start one with `npm run demo`' })
          : json(res, 200, { channel: demo.channel, source: demo.source, encoders: demo.status() });
    }
  }
  if (req.method === 'POST' && resource === 'demo' && rest.length === 2) {
    if (demo === undefined)
      return json(res, 404, { error: 'no demo is running; start one with `npm run demo`' });
    try {
      return json(res, 200, await demo.control(rest[0] as string, rest[1] as string));
    } catch (error) {
      const notFound = (error as { reason?: string }).reason === 'unknown-encoder';
      return json(res, notFound ? 404 : 400, { error: (error as Error).message });
    }
  }
  return json(res, 404, { error: `no API ${req.method} ${url.pathname}; see the README's "JSON API"` });
}

export interface StatusServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startStatusServer(
  sources: StatusSources,
  options: { port: number; host?: string },
): Promise<StatusServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    route(sources, req, res).catch((error: Error) => json(res, 502, { error: error.message }));
  });
  const port = await listen(server, options.port, host);
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
