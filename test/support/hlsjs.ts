/**
 * Runs the real hls.js manifest parser in Node: hls.js loads the master through a loader that
 * hands it our text, and we report what it parsed or the error it raised. hls.js expects a
 * browser's `self`, `location` and `MediaSource`; jest gives each test file its own globals, so the
 * shim stays here. The MediaSource stand-in accepts every codec: this checks manifest parsing, and
 * codec support belongs to the browser (the end-to-end tests play real streams in Chromium).
 */
const g = globalThis as unknown as { self?: unknown; location?: { href: string }; MediaSource?: unknown };
g.self ??= globalThis;
g.location ??= { href: 'http://origin.test/' };
g.MediaSource ??= { isTypeSupported: () => true };

// hls.js must load after the shim above, so it is required here rather than imported.
const HlsModule = require('hls.js/dist/hls.js') as { default?: unknown };

type HlsInstance = {
  on(event: string, cb: (event: string, data: Record<string, unknown>) => void): void;
  loadSource(url: string): void;
  destroy(): void;
};
type HlsClass = (new (config: Record<string, unknown>) => HlsInstance) & { Events: Record<string, string> };
const Hls = (HlsModule.default ?? HlsModule) as HlsClass;

export interface HlsJsManifest {
  readonly levels: readonly { readonly url: string; readonly pathwayId?: string }[];
  readonly audioTracks: number;
  readonly subtitleTracks: number;
}

export function parseWithHlsJs(
  text: string,
  url = 'http://origin.test/ch/index.m3u8',
): Promise<HlsJsManifest> {
  class TextLoader {
    context: unknown = null;
    stats = {
      aborted: false,
      loaded: text.length,
      retry: 0,
      total: text.length,
      chunkCount: 0,
      bwEstimate: 0,
      loading: { start: 0, first: 0, end: 0 },
      parsing: { start: 0, end: 0 },
      buffering: { start: 0, first: 0, end: 0 },
    };
    load(context: { url: string }, _config: unknown, callbacks: { onSuccess: (...args: unknown[]) => void }) {
      this.context = context;
      const now = performance.now();
      this.stats.loading = { start: now, first: now, end: now };
      setTimeout(() => callbacks.onSuccess({ url: context.url, data: text }, this.stats, context, null), 0);
    }
    abort() {}
    destroy() {}
  }
  return new Promise((resolve, reject) => {
    const hls = new Hls({ loader: TextLoader, debug: false, enableWorker: false });
    hls.on(Hls.Events.MANIFEST_PARSED as string, (_e, data) => {
      const levels = (data.levels as { url: string[] | string; pathwayId?: string }[]).map((l) => ({
        url: Array.isArray(l.url) ? (l.url[0] as string) : l.url,
        ...(l.pathwayId === undefined ? {} : { pathwayId: l.pathwayId }),
      }));
      const audioTracks = (data.audioTracks as unknown[] | undefined)?.length ?? 0;
      const subtitleTracks = (data.subtitleTracks as unknown[] | undefined)?.length ?? 0;
      hls.destroy();
      resolve({ levels, audioTracks, subtitleTracks });
    });
    hls.on(Hls.Events.ERROR as string, (_e, data) => {
      if (!data.fatal) return;
      hls.destroy();
      reject(new Error(`hls.js: ${String(data.details)} ${String(data.reason ?? '')}`));
    });
    hls.loadSource(url);
  });
}
