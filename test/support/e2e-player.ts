/**
 * The real players for the end-to-end tests, each with its default config, in headless Chromium
 * driven by playwright-core: hls.js, Shaka Player, video.js (VHS) from node_modules, and
 * Chromium's built-in HLS player. A tiny HTTP server of our own serves the player page and the
 * libraries; the stream comes from the local runtime's origin (CORS is on there), as a viewer's
 * browser would load it from a CDN on another host.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { closeServer, listen } from '../../local/listen';
import type { PlayerLoad, PlayerRecord } from './e2e-metrics';

const ROOT = join(__dirname, '..', '..');
const PLAYER_PAGE = join(ROOT, 'test', 'e2e', 'player.html');
const NODE_MODULES = join(ROOT, 'node_modules');

/** The players the e2e suite runs, and the library file each loads (none: Chromium's own). */
export const PLAYERS = {
  hlsjs: { title: 'hls.js', library: join(NODE_MODULES, 'hls.js', 'dist', 'hls.min.js') },
  shaka: {
    title: 'Shaka Player',
    library: join(NODE_MODULES, 'shaka-player', 'dist', 'shaka-player.compiled.js'),
  },
  videojs: { title: 'video.js (VHS)', library: join(NODE_MODULES, 'video.js', 'dist', 'video.min.js') },
  native: { title: "Chromium's built-in player", library: undefined },
} as const;
export type PlayerName = keyof typeof PLAYERS;

/** Where Chromium is looked for: HLS_FAILOVER_CHROMIUM, then the Debian package's paths. */
export function chromiumPath(): string {
  const candidates = [
    process.env.HLS_FAILOVER_CHROMIUM,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ].filter((p): p is string => p !== undefined && p !== '');
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error(
      `Chromium not found (looked for ${candidates.join(', ')}). The end-to-end tests need a real browser: ` +
        'install it with `apt-get install -y chromium` (Debian/Ubuntu), or set HLS_FAILOVER_CHROMIUM to its path.',
    );
  }
  return found;
}

/** Serves the player page and the players' libraries on 127.0.0.1 (a free port). */
export async function startPlayerServer(): Promise<{ url: string; close(): Promise<void> }> {
  const files: Record<string, { path: string; type: string }> = {
    '/player.html': { path: PLAYER_PAGE, type: 'text/html; charset=utf-8' },
  };
  for (const [name, { library }] of Object.entries(PLAYERS)) {
    if (library === undefined) continue;
    if (!existsSync(library)) throw new Error(`${name} is not installed (${library}); run npm ci`);
    files[`/lib/${name}.js`] = { path: library, type: 'text/javascript; charset=utf-8' };
  }
  const server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://local').pathname];
    if (file === undefined) return void res.writeHead(404).end('not found\n');
    res
      .writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' })
      .end(readFileSync(file.path));
  });
  const port = await listen(server, 0, '127.0.0.1');
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

/** Headless Chromium with autoplay allowed and no background throttling (several players at once). */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-sync',
    '--autoplay-policy=no-user-gesture-required',
    // Several pages play at once; none of them may be treated as a background tab.
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
  ];
  try {
    return await chromium.launch({ executablePath, args: ['--headless=new', ...args] });
  } catch (error) {
    // Older Chromium builds reject --headless=new; the classic headless mode plays video too.
    const retried = await chromium.launch({ executablePath, headless: true, args }).catch(() => undefined);
    if (retried !== undefined) return retried;
    throw new Error(`Chromium at ${executablePath} did not start: ${(error as Error).message}`);
  }
}

/** One viewer: a page playing `src` with one of the players. */
export interface Player {
  readonly label: string;
  readonly player: PlayerName;
  /** Epoch ms when the page was opened. */
  readonly openedAt: number;
  /** Everything the page recorded so far. */
  read(): Promise<PlayerRecord>;
  /** Resolves once currentTime has advanced (playback really started); rejects after timeoutMs. */
  waitForPlayback(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The encoder folder a URL is in (`other`: neither). */
const encoderOf = (url: string) => /\/(primary|failover)\//.exec(url)?.[1] ?? 'other';

const SEGMENT = /\.(ts|m4s|mp4|aac|m4a|vtt)(\?|$)/;

export async function openPlayer(
  browser: Browser,
  options: { pageServer: string; src: string; label: string; player?: PlayerName },
): Promise<Player> {
  const player = options.player ?? 'hlsjs';
  // One context per viewer: separate caches and connections, like separate viewers.
  const context: BrowserContext = await browser.newContext();
  const page: Page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Every player's playlist and segment requests, from the browser's network events (the
  // built-in player has no events of its own to report them).
  const requests: PlayerLoad[] = [];
  page.on('request', (request) => {
    const url = request.url();
    const encoder = encoderOf(url);
    const type = url.includes('.m3u8') ? 'level' : SEGMENT.test(url) ? 'frag' : undefined;
    if (type !== undefined) requests.push({ at: Date.now(), type, url, encoder });
  });
  page.on('response', (response) => {
    if (response.status() < 400) return;
    const at = Date.now();
    const url = response.url();
    requests.push({
      at,
      type: `http-${response.status()}`,
      url,
      encoder: encoderOf(url),
    });
  });
  const openedAt = Date.now();
  await page.goto(
    `${options.pageServer}/player.html?player=${player}&src=${encodeURIComponent(options.src)}`,
  );
  const read = async (): Promise<PlayerRecord> => {
    const record = (await page.evaluate('window.e2e.read()')) as PlayerRecord;
    const network = [...requests];
    if (player === 'hlsjs') return { ...record, network, pageErrors: [...pageErrors] };
    // The other players report nothing of their own: which encoder each sample played comes
    // from the last segment and playlist requested before it.
    const lastBefore = (type: string, at: number) =>
      network.filter((l) => l.type === type && l.at <= at).at(-1)?.encoder ?? 'other';
    return {
      ...record,
      loads: network,
      network,
      samples: record.samples.map((s) => ({
        ...s,
        fragEncoder: lastBefore('frag', s.at),
        levelEncoder: lastBefore('level', s.at),
      })),
      pageErrors: [...pageErrors],
    };
  };
  return {
    label: options.label,
    player,
    openedAt,
    read,
    waitForPlayback: async (timeoutMs) => {
      try {
        // A string: the page's DOM types are not in this (Node) project's lib.
        // Playing: currentTime advanced between two polls by no more than a poll's worth (a seek
        // to the live edge before the first frame is not playback).
        await page.waitForFunction(
          "(() => { const v = document.querySelector('video'); if (v === null || v.paused || v.currentTime <= 0.5) return false; const last = window.__hlsfLastTime; window.__hlsfLastTime = v.currentTime; return last !== undefined && v.currentTime > last && v.currentTime - last < 1.5; })()",
          undefined,
          { timeout: timeoutMs, polling: 250 },
        );
      } catch {
        const record = await read().catch(() => undefined);
        const errors = record?.errors.map((e) => `${e.details}${e.fatal ? ' (fatal)' : ''} ${e.url}`) ?? [];
        const loads = record?.loads.slice(-6).map((l) => `${l.type} ${new URL(l.url).pathname}`) ?? [];
        throw new Error(
          `player ${options.label} did not start playing ${options.src} within ${timeoutMs} ms; ` +
            `${PLAYERS[player].title} errors: ${errors.slice(-5).join('; ') || 'none'}; page errors: ${pageErrors.join('; ') || 'none'}; ` +
            `its last loads: ${loads.join(', ') || 'none'}`,
        );
      }
    },
    close: async () => {
      await context.close().catch(() => undefined);
    },
  };
}
