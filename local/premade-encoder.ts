/**
 * The live encoder for machines without ffmpeg: a Node publisher that PUTs small pre-made
 * MPEG-TS segments (local/demo-media/, see its README) into the origin in real time, in a loop.
 *
 * It follows the same rules as the ffmpeg encoders: segment n holds wall-clock time
 * [n·S, (n+1)·S) and is published when that time is over, so two publishers are in lock-step and
 * a restarted one numbers its segments as if it had never stopped; the looped content is piece
 * n mod K of the loop (K segments per loop), and every wrap of the loop starts with
 * EXT-X-DISCONTINUITY (its timestamps go back) with EXT-X-DISCONTINUITY-SEQUENCE counting the
 * wraps that left the window (RFC 8216 §4.3.3.3, §6.2.2). Sliding window of LIST_SIZE segments;
 * segments that leave it are deleted, as ffmpeg's `delete_segments` does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EncoderBase, ingestUrl, LIST_SIZE, MASTER_PLAYLIST, sequenceAt } from './encoder-base';

/** One stream of the pre-made media (the audio, or one video rendition), in loop order. */
export interface DemoStream {
  /** The media playlist is `<name>.m3u8`. */
  readonly name: string;
  readonly pieces: readonly { readonly bytes: Buffer; readonly duration: number }[];
}

export interface DemoMedia {
  readonly master: string;
  /** Seconds each piece lasts; a published segment is S / pieceSeconds pieces back to back. */
  readonly pieceSeconds: number;
  readonly streams: readonly DemoStream[];
}

/** Where the pre-made media lives: beside this file in a checkout, or the checkout's when running from dist/. */
export function demoMediaDir(): string {
  const candidates = [join(__dirname, 'demo-media'), join(__dirname, '..', '..', 'local', 'demo-media')];
  const found = candidates.find((dir) => existsSync(join(dir, MASTER_PLAYLIST)));
  if (found === undefined)
    throw new Error(
      `the pre-made demo media is missing (looked in ${candidates.join(', ')}); install ffmpeg`,
    );
  return found;
}

/** The EXTINF durations and URIs of a (VOD) media playlist, in order. */
function segmentsOf(playlist: string): { uri: string; duration: number }[] {
  const segments: { uri: string; duration: number }[] = [];
  let duration: number | undefined;
  for (const line of playlist.split(/\r?\n/)) {
    if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    else if (line !== '' && !line.startsWith('#') && duration !== undefined) {
      segments.push({ uri: line, duration });
      duration = undefined;
    }
  }
  return segments;
}

const loaded = new Map<string, DemoMedia>();

/**
 * Reads the pre-made media once: the master, and for every media playlist it names, the pieces
 * the VOD playlist ffmpeg wrote lists. Every stream must have the same number of pieces.
 */
export function loadDemoMedia(dir: string = demoMediaDir()): DemoMedia {
  const cached = loaded.get(dir);
  if (cached !== undefined) return cached;
  const master = readFileSync(join(dir, MASTER_PLAYLIST), 'utf8');
  const names = [
    ...new Set(
      [...master.matchAll(/URI="([^"]+)\.m3u8"|^([^#\s][^\s]*)\.m3u8$/gm)].map(
        (m) => (m[1] ?? m[2]) as string,
      ),
    ),
  ];
  const streams = names.map((name): DemoStream => {
    const pieces = segmentsOf(readFileSync(join(dir, `${name}.m3u8`), 'utf8')).map((s) => ({
      bytes: readFileSync(join(dir, s.uri)),
      duration: s.duration,
    }));
    return { name, pieces };
  });
  const counts = new Set(streams.map((s) => s.pieces.length));
  if (streams.length === 0 || counts.size !== 1 || counts.has(0))
    throw new Error(`the pre-made demo media in ${dir} is inconsistent: every stream needs the same pieces`);
  const first = streams.find((s) => s.name !== 'audio') ?? (streams[0] as DemoStream);
  const media: DemoMedia = {
    master,
    pieceSeconds: Math.round((first.pieces[0] as { duration: number }).duration),
    streams,
  };
  loaded.set(dir, media);
  return media;
}

/** One stream of the loop at S seconds per segment: K segments, each S / pieceSeconds pieces. */
export interface LoopedStream {
  readonly name: string;
  readonly segments: readonly { readonly bytes: Buffer; readonly duration: number }[];
}

export interface Loop {
  readonly streams: readonly LoopedStream[];
  /** Segments per loop. */
  readonly length: number;
  readonly targetDuration: number;
}

/** Cuts the pre-made media into segments of `segmentSeconds`; throws when the loop does not divide evenly. */
export function loopOf(media: DemoMedia, segmentSeconds: number): Loop {
  const pieces = (media.streams[0] as DemoStream).pieces.length;
  const per = segmentSeconds / media.pieceSeconds;
  if (!Number.isInteger(per) || pieces % per !== 0) {
    const loopSeconds = pieces * media.pieceSeconds;
    const fits = [];
    for (let s = media.pieceSeconds; s <= loopSeconds; s += media.pieceSeconds)
      if (loopSeconds % s === 0) fits.push(s);
    throw new Error(
      `the pre-made segments loop over ${loopSeconds} s in ${media.pieceSeconds} s pieces: segmentSeconds must be one of ${fits.join(', ')} (got ${segmentSeconds}); or install ffmpeg`,
    );
  }
  const streams = media.streams.map((stream) => ({
    name: stream.name,
    segments: Array.from({ length: pieces / per }, (_, i) => {
      const group = stream.pieces.slice(i * per, (i + 1) * per);
      const duration = Number(group.reduce((sum, p) => sum + p.duration, 0).toFixed(6));
      return { bytes: Buffer.concat(group.map((p) => p.bytes)), duration };
    }),
  }));
  const longest = Math.max(...streams.flatMap((s) => s.segments.map((g) => Math.round(g.duration))));
  return { streams, length: pieces / per, targetDuration: Math.max(segmentSeconds, longest) };
}

/** The loop piece segment n carries. */
function loopIndex(n: number, length: number): number {
  return ((n % length) + length) % length;
}

/**
 * A live media playlist of looped segments `first`…`last` (media sequence numbers). Segment n
 * carries loop segment n mod K and, when that is 0, EXT-X-DISCONTINUITY; the discontinuity
 * sequence counts the discontinuities before `first`, so it grows by one each time one leaves
 * the window (RFC 8216 §6.2.2). The same inputs give the same bytes on both encoders.
 */
export function loopedMediaPlaylist(o: {
  readonly stream: string;
  /** Duration of each loop segment, in loop order (K of them). */
  readonly durations: readonly number[];
  readonly targetDuration: number;
  readonly first: number;
  readonly last: number;
  /** Adds EXT-X-ENDLIST (a graceful stop). */
  readonly ended: boolean;
}): string {
  const length = o.durations.length;
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${o.targetDuration}`,
    `#EXT-X-MEDIA-SEQUENCE:${o.first}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${Math.ceil(o.first / length)}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  for (let n = o.first; n <= o.last; n++) {
    const i = loopIndex(n, length);
    if (i === 0) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${(o.durations[i] as number).toFixed(6)},`, segmentName(o.stream, n));
  }
  if (o.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

function segmentName(stream: string, n: number): string {
  return `${stream}_${n}.ts`;
}

export interface PremadeEncoderOptions {
  readonly name: string;
  readonly originUrl: string;
  readonly channel: string;
  readonly segmentSeconds: number;
  readonly log: (line: string) => void;
  /** @default demoMediaDir() */
  readonly mediaDir?: string;
}

export class PremadeEncoder extends EncoderBase {
  private timer: NodeJS.Timeout | undefined;
  /** Publishing, one round at a time. */
  private work: Promise<void> = Promise.resolve();
  /** The first and last segment of this run (since the last start or restart). */
  private runFirst = 0;
  private lastPublished: number | undefined;
  /** Segments at the origin, for the deletions. */
  private readonly published = new Set<number>();
  private failing = false;
  private closed = false;
  private readonly durations: ReadonlyMap<string, readonly number[]>;

  constructor(
    private readonly options: PremadeEncoderOptions,
    private readonly loop: Loop,
    private readonly master: string,
  ) {
    super(options.name, 'pre-made', options.log);
    this.durations = new Map(loop.streams.map((s) => [s.name, s.segments.map((g) => g.duration)]));
  }

  /**
   * Starts a run: the master, then the segment that has just ended, then one per boundary. With
   * `refill` (a restart after a kill, no EXT-X-ENDLIST) the run begins with a whole window, as a
   * packager that rebuilds its sliding window does: players still hold the old window, and RFC
   * 8216 §6.2.2 forbids a live playlist to lose segments down to less than 3 × the target duration.
   */
  async begin(why: string, refill = false): Promise<void> {
    this.runFirst = sequenceAt(Date.now(), this.options.segmentSeconds) - (refill ? LIST_SIZE : 1);
    this.lastPublished = undefined;
    this.setState('running', `${why}; first segment ${this.runFirst}`);
    await this.enqueue(async () => {
      await this.send('PUT', MASTER_PLAYLIST, this.master);
      await this.publish(false);
    });
    this.schedule();
  }

  stall(): void {
    if (this.state !== 'running') return;
    this.unschedule();
    this.setState('stalled', 'publishing paused');
  }

  kill(): Promise<void> {
    return this.serial(async () => {
      if (this.state !== 'running' && this.state !== 'stalled') return;
      this.unschedule();
      await this.work;
      this.setState('killed', 'publishing ended; the playlists stay as they were');
    });
  }

  stop(): Promise<void> {
    return this.serial(async () => {
      if (this.state !== 'running' && this.state !== 'stalled') return;
      this.unschedule();
      await this.enqueue(() => this.publish(true));
      this.setState('stopped', 'EXT-X-ENDLIST written');
    });
  }

  resume(): Promise<void> {
    return this.serial(async () => {
      if (this.closed || this.state === 'running') return;
      if (this.state === 'stalled') {
        this.setState('running', 'catching up');
        await this.enqueue(() => this.publish(false));
        this.schedule();
        return;
      }
      // After a kill the old window is still published (no ENDLIST): refill it. After a stop
      // (ENDLIST) the new run is a new generation and starts afresh.
      await this.begin('restarted in step with the counterpart', this.state === 'killed');
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unschedule();
    await this.work;
    this.state = 'stopped';
  }

  private enqueue(round: () => Promise<void>): Promise<void> {
    this.work = this.work.then(round, round);
    return this.work;
  }

  private schedule(): void {
    this.unschedule();
    if (this.closed || this.state !== 'running') return;
    const period = this.options.segmentSeconds * 1000;
    // Just after the boundary, when the segment that ends there is complete.
    const next = (sequenceAt(Date.now(), this.options.segmentSeconds) + 1) * period + 20;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state !== 'running') return;
      void this.enqueue(() => this.publish(false));
      this.schedule();
    }, next - Date.now());
  }

  private unschedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * One round: the segments completed since the last round (within the window), the media
   * playlists, then the deletions. `ended` publishes nothing new and closes the playlists.
   */
  private async publish(ended: boolean): Promise<void> {
    const current = sequenceAt(Date.now(), this.options.segmentSeconds) - 1;
    const last = ended ? (this.lastPublished ?? current) : current;
    if (!ended && this.lastPublished !== undefined && last <= this.lastPublished) return;
    const first = Math.max(this.runFirst, last - LIST_SIZE + 1);
    const fresh: number[] = [];
    if (!ended)
      for (let n = Math.max(first, (this.lastPublished ?? first - 1) + 1); n <= last; n++) fresh.push(n);
    await Promise.all(
      this.loop.streams.flatMap((stream) =>
        fresh.map((n) =>
          this.send(
            'PUT',
            segmentName(stream.name, n),
            (stream.segments[loopIndex(n, this.loop.length)] as { bytes: Buffer }).bytes,
          ),
        ),
      ),
    );
    for (const n of fresh) this.published.add(n);
    await Promise.all(
      this.loop.streams.map((stream) =>
        this.send(
          'PUT',
          `${stream.name}.m3u8`,
          loopedMediaPlaylist({
            stream: stream.name,
            durations: this.durations.get(stream.name) ?? [],
            targetDuration: this.loop.targetDuration,
            first,
            last,
            ended,
          }),
        ),
      ),
    );
    this.lastPublished = last;
    // Like ffmpeg's delete_segments with hls_delete_threshold 1: one segment stays after it leaves.
    const gone = [...this.published].filter((n) => n < first - 1);
    await Promise.all(
      this.loop.streams.flatMap((stream) =>
        gone.map((n) => this.send('DELETE', segmentName(stream.name, n))),
      ),
    );
    for (const n of gone) this.published.delete(n);
  }

  /** One request to the origin; failures are logged once until the origin answers again. */
  private async send(method: 'PUT' | 'DELETE', file: string, body?: string | Buffer): Promise<void> {
    const url = ingestUrl(this.options.originUrl, this.options.channel, this.options.name, file);
    try {
      const res = await fetch(url, {
        method,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(5000),
      });
      await res.arrayBuffer();
      if (!res.ok && !(method === 'DELETE' && res.status === 404)) throw new Error(`HTTP ${res.status}`);
      if (this.failing) this.log(`${this.name}: the origin accepts writes again`);
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.log(`${this.name}: ${method} ${url} failed: ${(error as Error).message}`);
      this.failing = true;
    }
  }
}

/** Starts one pre-made publisher (the master and its first segment are at the origin when it resolves). */
export async function startPremadeEncoder(options: PremadeEncoderOptions): Promise<PremadeEncoder> {
  const media = loadDemoMedia(options.mediaDir);
  const encoder = new PremadeEncoder(options, loopOf(media, options.segmentSeconds), media.master);
  await encoder.begin('started');
  return encoder;
}
