/**
 * Live encoders for the local runtime's demo and the end-to-end tests: two lock-step encoders
 * that publish one channel into the origin by HTTP PUT (`<channel>/<encoder>/…`, the way
 * `ffmpeg -f hls -method PUT` ingests), each of which can be stalled, killed, stopped and resumed.
 *
 * Lock-step: segment n of every encoder holds wall-clock time [n·S, (n+1)·S) since the Unix
 * epoch (S = segment seconds). An encoder starts on a segment boundary b with media sequence
 * b / S and timestamps that follow the wall clock (`-output_ts_offset b`), with one keyframe per
 * segment, so both encoders cut the same frames into segments of the same number, and an
 * encoder restarted later numbers its segments as if it had never stopped.
 *
 * Each encoder is one ffmpeg process (H.264 + AAC from lavfi `testsrc2` and `sine`, a master
 * playlist with an audio group, one media playlist per rendition). Without ffmpeg, a Node
 * publisher loops over small pre-made segments shipped in `local/demo-media/` with the same
 * numbering rules (see local/premade-encoder.ts).
 *
 * @example
 * const pair = await startEncoderPair({ originUrl: 'http://127.0.0.1:8080', channel: 'demo' });
 * pair.get('primary')?.stall();       // SIGSTOP: alive, writes nothing
 * await pair.get('primary')?.resume(); // SIGCONT: catches up, same numbering
 * await pair.close();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  EncoderBase,
  type EncoderStatus,
  ingestUrl,
  LIST_SIZE,
  type LiveEncoder,
  MASTER_PLAYLIST,
  nextBoundary,
  type RenditionSpec,
  sleepUntil,
} from './encoder-base';
import { startPlaylistDater } from './playlist-dater';
import { startPremadeEncoder } from './premade-encoder';

export {
  ENCODER_ACTIONS,
  type EncoderAction,
  EncoderBase,
  type EncoderState,
  type EncoderStatus,
  ingestUrl,
  isEncoderAction,
  LIST_SIZE,
  type LiveEncoder,
  MASTER_PLAYLIST,
  nextBoundary,
  type RenditionSpec,
  sequenceAt,
} from './encoder-base';

export interface EncoderPairOptions {
  /** The origin that accepts PUT/DELETE ingest, e.g. `http://127.0.0.1:8080`. */
  readonly originUrl: string;
  /** e.g. `demo`; one or more folder names of letters, digits, '.', '-', '_'. */
  readonly channel: string;
  /** The encoder folders. @default ['primary', 'failover'] */
  readonly encoders?: readonly [string, string];
  /** Segment length, a whole number of seconds. @default 2 */
  readonly segmentSeconds?: number;
  /** The video ladder (ffmpeg only; the pre-made segments have their own). @default DEFAULT_RENDITIONS */
  readonly renditions?: readonly RenditionSpec[];
  /** ffmpeg to run; `false` forces the pre-made segments. @default 'ffmpeg' when on PATH, else pre-made */
  readonly ffmpegPath?: string | false;
  /** One line per state change and per encoder problem. @default no output */
  readonly log?: (line: string) => void;
}

export interface EncoderPair {
  readonly encoders: readonly [LiveEncoder, LiveEncoder];
  get(name: string): LiveEncoder | undefined;
  status(): EncoderStatus[];
  /** Ends both encoders at once (no ENDLIST) and every process and timer they hold. */
  close(): Promise<void>;
}

/** Small on purpose: this machine runs two encoders, the runtime and a browser on 2 cores. */
export const DEFAULT_RENDITIONS: readonly RenditionSpec[] = [
  { name: '360p', width: 640, height: 360, videoKbps: 400 },
  { name: '180p', width: 320, height: 180, videoKbps: 150 },
];
export const DEFAULT_ENCODERS = ['primary', 'failover'] as const;
export const DEFAULT_SEGMENT_SECONDS = 2;
/** The audio group's media playlist is `<AUDIO_NAME>.m3u8`. */
export const AUDIO_NAME = 'audio';
const FRAME_RATE = 25;
const AUDIO_KBPS = 48;
/** A band across the top of the picture tells the encoders apart in a player. */
const BAND_COLOURS = ['0x1f77b4', '0xff7f0e'] as const;
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const LOG_REPEAT_MS = 10_000;

const FOLDER = /^[A-Za-z0-9._-]+$/;

/** The problems with a pair's options, all at once; empty when they are fine. */
export function checkPairOptions(options: EncoderPairOptions): string[] {
  const problems: string[] = [];
  if (!/^https?:\/\/[^/\s]+\/?$/.test(options.originUrl))
    problems.push(`originUrl must be http(s)://host:port (got "${options.originUrl}")`);
  if (!options.channel.split('/').every((part) => FOLDER.test(part)))
    problems.push(
      `channel "${options.channel}" must be folder names of letters, digits, '.', '-', '_' joined by '/'`,
    );
  const encoders = options.encoders ?? DEFAULT_ENCODERS;
  if (encoders[0] === encoders[1] || !encoders.every((e) => FOLDER.test(e)))
    problems.push(
      `encoders must be two different folder names of letters, digits, '.', '-', '_' (got ${encoders.join(', ')})`,
    );
  const seconds = options.segmentSeconds ?? DEFAULT_SEGMENT_SECONDS;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 10)
    problems.push(`segmentSeconds must be a whole number from 1 to 10 (got ${seconds})`);
  const renditions = options.renditions ?? DEFAULT_RENDITIONS;
  if (renditions.length === 0) problems.push('renditions must name at least one rendition');
  const names = new Set<string>();
  for (const r of renditions) {
    if (!FOLDER.test(r.name) || r.name === AUDIO_NAME)
      problems.push(
        `rendition name "${r.name}" must be letters, digits, '.', '-', '_' and not "${AUDIO_NAME}"`,
      );
    if (names.has(r.name)) problems.push(`rendition name "${r.name}" appears twice`);
    names.add(r.name);
    const even = (n: number) => Number.isInteger(n) && n >= 16 && n % 2 === 0;
    if (!even(r.width) || !even(r.height))
      problems.push(`rendition ${r.name}: width and height must be even whole numbers of 16 or more`);
    if (!(Number.isInteger(r.videoKbps) && r.videoKbps > 0))
      problems.push(`rendition ${r.name}: videoKbps must be a whole number above 0`);
  }
  return problems;
}

/**
 * The ffmpeg to run: an explicit path must be executable (a bare name is looked up on PATH);
 * undefined when none is given and there is no `ffmpeg` on PATH (or on Windows, which has no
 * SIGSTOP). Throws for an explicit path that is not there.
 */
export function resolveFfmpeg(ffmpegPath: string | false | undefined): string | undefined {
  if (ffmpegPath === false) return undefined;
  if (ffmpegPath === undefined && process.platform === 'win32') return undefined;
  const wanted = ffmpegPath ?? 'ffmpeg';
  const candidates =
    isAbsolute(wanted) || wanted.includes('/')
      ? [wanted]
      : (process.env.PATH ?? '').split(delimiter).flatMap((dir) => (dir === '' ? [] : [join(dir, wanted)]));
  const found = candidates.find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (found === undefined && ffmpegPath !== undefined)
    throw new Error(
      `ffmpeg "${ffmpegPath}" is not an executable file${candidates.length > 1 ? ' on PATH' : ''}; give another ffmpegPath, or false for the pre-made segments`,
    );
  return found;
}

export interface FfmpegArgsOptions {
  readonly originUrl: string;
  /**
   * Where the playlists go, with the origin's paths (local/playlist-dater.ts dates them by segment
   * number on the way). @default originUrl
   */
  readonly playlistUrl?: string;
  readonly channel: string;
  readonly encoder: string;
  /** 0 or 1: picks the band colour and the tone, so a viewer can tell the encoders apart. */
  readonly index: number;
  readonly segmentSeconds: number;
  readonly renditions: readonly RenditionSpec[];
  /** The media sequence number of the first segment; its timestamps start at startNumber × segmentSeconds. */
  readonly startNumber: number;
}

/**
 * The ffmpeg command line of one encoder: lavfi test picture and tone in real time (`-re`), one
 * H.264 encode per rendition with a keyframe exactly every segment (no scene cuts), AAC audio in
 * its own group, HLS over HTTP PUT with a master playlist, segments deleted as they leave the
 * window (HTTP DELETE), numbering and timestamps from `startNumber`.
 */
export function ffmpegArgs(o: FfmpegArgsOptions): string[] {
  const gop = FRAME_RATE * o.segmentSeconds;
  const largest = o.renditions.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  const colour = BAND_COLOURS[o.index % BAND_COLOURS.length] as string;
  const tone = o.index % 2 === 0 ? 440 : 660;
  const split = o.renditions.map((_, i) => `[s${i}]`).join('');
  const scales = o.renditions.map((r, i) => `[s${i}]scale=${r.width}:${r.height}[v${i}]`).join(';');
  const graph = `[0:v]drawbox=x=0:y=0:w=iw:h=ih/12:color=${colour}:t=fill,split=${o.renditions.length}${split};${scales}`;
  const videoRates = o.renditions.flatMap((r, i) => [
    `-b:v:${i}`,
    `${r.videoKbps}k`,
    `-maxrate:v:${i}`,
    `${r.videoKbps}k`,
    `-bufsize:v:${i}`,
    `${r.videoKbps * 2}k`,
  ]);
  const streamMap = [
    `a:0,agroup:${AUDIO_NAME},name:${AUDIO_NAME}`,
    ...o.renditions.map((r, i) => `v:${i},agroup:${AUDIO_NAME},name:${r.name}`),
  ].join(' ');
  const url = (file: string) => ingestUrl(o.originUrl, o.channel, o.encoder, file);
  const playlistUrl = (file: string) => ingestUrl(o.playlistUrl ?? o.originUrl, o.channel, o.encoder, file);
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'level+info',
    '-re',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${largest.width}x${largest.height}:rate=${FRAME_RATE}[out0];sine=frequency=${tone}:beep_factor=4:sample_rate=48000[out1]`,
    '-filter_complex',
    graph,
    ...o.renditions.flatMap((_, i) => ['-map', `[v${i}]`]),
    '-map',
    '0:a',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-threads',
    '1',
    ...videoRates,
    '-c:a',
    'aac',
    '-ac',
    '1',
    '-b:a',
    `${AUDIO_KBPS}k`,
    '-output_ts_offset',
    String(o.startNumber * o.segmentSeconds),
    '-f',
    'hls',
    '-hls_time',
    String(o.segmentSeconds),
    '-hls_list_size',
    String(LIST_SIZE),
    '-hls_flags',
    // EXT-X-PROGRAM-DATE-TIME on every segment, as live encoders write it: the splice's lock check
    // compares the dates, and players place playlists by them (hls.js when windows no longer
    // overlap, Shaka always). ffmpeg dates from its start-up clock; the playlist dater
    // (local/playlist-dater.ts) makes them the locked timeline's.
    'delete_segments+independent_segments+program_date_time',
    '-start_number',
    String(o.startNumber),
    '-method',
    'PUT',
    '-timeout',
    '5',
    '-ignore_io_errors',
    '1',
    '-master_pl_name',
    MASTER_PLAYLIST,
    '-var_stream_map',
    streamMap,
    '-hls_segment_filename',
    url('%v_%d.ts'),
    playlistUrl('%v.m3u8'),
  ];
}

/** ffmpeg processes alive now: killed when this process exits, whatever the reason. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
  // The 'exit' hook does not run when this process is killed by a signal it does not handle;
  // a tiny watcher kills the encoder then. It ends with the encoder (so it never outlives the
  // encoder's pid, which the system may give to another process).
  if (process.platform !== 'win32' && child.pid !== undefined) {
    const reaper = spawn(
      'sh',
      [
        '-c',
        'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -0 "$1" 2>/dev/null || kill -KILL "$2" 2>/dev/null',
        'hls-failover-reaper',
        String(process.pid),
        String(child.pid),
      ],
      { stdio: 'ignore', detached: true },
    );
    reaper.on('error', () => undefined);
    reaper.unref();
    child.once('exit', () => reaper.kill('SIGKILL'));
  }
}

interface FfmpegPlan extends Omit<FfmpegArgsOptions, 'startNumber'> {
  readonly ffmpegPath: string;
}

class FfmpegEncoder extends EncoderBase {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** What the exit of the current process means; undefined: it died on its own. */
  private expectedExit: 'killed' | 'stopped' | 'closed' | undefined;
  private closed = false;
  /** ffmpeg's last lines other than "Opening … for writing", for the message when it dies. */
  private readonly lastLines: string[] = [];
  private readonly quietUntil = new Map<string, number>();

  constructor(
    name: string,
    private readonly plan: FfmpegPlan,
    log: (line: string) => void,
  ) {
    super(name, 'ffmpeg', log);
  }

  protected override pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Spawns ffmpeg numbered from `startNumber` (call it on that segment's boundary); resolves when
   * ffmpeg opens its first segment for writing, rejects when it exits before that.
   */
  launch(startNumber: number, why: string): Promise<void> {
    const args = ffmpegArgs({ ...this.plan, startNumber });
    // Its own process group: a Ctrl+C in the terminal reaches the runtime, which closes the demo,
    // not ffmpeg directly (that would end the stream with ENDLIST behind the runtime's back).
    const child = spawn(this.plan.ffmpegPath, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.child = child;
    this.expectedExit = undefined;
    this.lastLines.length = 0;
    let started: () => void = () => undefined;
    let failed: (error: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        const expected = this.expectedExit;
        const notable = this.lastLines.filter((l) => /\[(warning|error|fatal|panic)\]/.test(l));
        const output = (notable.length > 0 ? notable : this.lastLines).slice(-4).join(' | ') || 'no output';
        failed(
          new Error(
            `ffmpeg for ${this.name} exited (${signal ?? `code ${code}`}) before it started: ${output}`,
          ),
        );
        if (expected === 'closed') this.setState('stopped', 'closed: SIGKILL');
        else if (expected !== undefined)
          this.setState(expected, expected === 'killed' ? 'SIGKILL' : 'SIGTERM');
        else this.setState('killed', `ffmpeg exited on its own, ${signal ?? `code ${code}`}: ${output}`);
        resolve();
      });
    });
    child.once('error', (error) => {
      failed(new Error(`cannot run ffmpeg "${this.plan.ffmpegPath}": ${error.message}`));
    });
    if (child.pid !== undefined) track(child);
    const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (/Opening '.*' for writing/.test(line)) {
        if (/\.ts' for writing/.test(line)) started();
        return;
      }
      // The muxer's "frame size not set" at the end of every run is noise.
      if (/frame size not set/.test(line)) return;
      this.lastLines.push(line);
      if (this.lastLines.length > 20) this.lastLines.shift();
      if (!/\[(error|fatal|panic)\]/.test(line)) return;
      // An origin that is down fails every request: each kind of error once per LOG_REPEAT_MS.
      const shape = line.replace(/0x[0-9a-f]+|\d+/g, '#');
      if ((this.quietUntil.get(shape) ?? 0) > Date.now()) return;
      this.quietUntil.set(shape, Date.now() + LOG_REPEAT_MS);
      this.log(`${this.name}: ffmpeg: ${line}`);
    });
    this.setState('running', `${why}; pid ${child.pid ?? '?'}, first segment ${startNumber}`);
    const timeout = setTimeout(
      () => failed(new Error(`ffmpeg for ${this.name} wrote nothing for ${START_TIMEOUT_MS / 1000} s`)),
      START_TIMEOUT_MS,
    );
    return ready.finally(() => clearTimeout(timeout));
  }

  stall(): void {
    if (this.state !== 'running' || this.child === undefined) return;
    this.child.kill('SIGSTOP');
    this.setState('stalled', 'SIGSTOP: alive, writes nothing');
  }

  kill(): Promise<void> {
    return this.serial(async () => {
      const child = this.child;
      if (child === undefined) return;
      this.expectedExit = 'killed';
      child.kill('SIGKILL');
      await this.exited;
    });
  }

  stop(): Promise<void> {
    return this.serial(async () => {
      const child = this.child;
      if (child === undefined) return;
      this.expectedExit = 'stopped';
      child.kill('SIGTERM');
      if (this.state === 'stalled') child.kill('SIGCONT'); // a stopped process handles SIGTERM once continued
      const timer = setTimeout(() => {
        this.log(`${this.name}: ffmpeg did not end ${STOP_TIMEOUT_MS / 1000} s after SIGTERM; SIGKILL`);
        child.kill('SIGKILL');
      }, STOP_TIMEOUT_MS);
      await this.exited.finally(() => clearTimeout(timer));
    });
  }

  resume(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return;
      if (this.state === 'stalled' && this.child !== undefined) {
        // -re paces by the wall clock since the start: ffmpeg encodes the missed time at once and
        // is back in step, with the numbering it would have had.
        this.child.kill('SIGCONT');
        this.setState('running', 'SIGCONT: catching up');
        return;
      }
      if (this.state === 'running') return;
      const boundary = nextBoundary(Date.now(), this.plan.segmentSeconds);
      await sleepUntil(boundary.at);
      if (this.closed) return;
      await this.launch(boundary.sequence, 'restarted in step with the counterpart');
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (child !== undefined) {
      this.expectedExit = 'closed';
      child.kill('SIGKILL');
      await this.exited;
    }
  }
}

async function checkOriginReachable(originUrl: string): Promise<void> {
  try {
    await fetch(`${originUrl.replace(/\/+$/, '')}/`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `the origin ${originUrl} is not reachable (${cause?.code ?? cause?.message ?? (error as Error).message}); start the local runtime first (npm start)`,
    );
  }
}

/**
 * Starts two lock-step encoders of one channel on the origin: ffmpeg when there is one, else the
 * pre-made segments. Resolves once both are writing.
 */
export async function startEncoderPair(options: EncoderPairOptions): Promise<EncoderPair> {
  const problems = checkPairOptions(options);
  if (problems.length > 0) throw new Error(`invalid encoder pair options: ${problems.join('; ')}`);
  const log = options.log ?? (() => undefined);
  const names = options.encoders ?? DEFAULT_ENCODERS;
  const segmentSeconds = options.segmentSeconds ?? DEFAULT_SEGMENT_SECONDS;
  const ffmpegPath = resolveFfmpeg(options.ffmpegPath);
  await checkOriginReachable(options.originUrl);

  let encoders: readonly [EncoderBase, EncoderBase];
  let closeRelay: () => Promise<void> = async () => undefined;
  if (ffmpegPath === undefined) {
    if (options.renditions !== undefined) log('pre-made segments have their own ladder; renditions ignored');
    encoders = await startPremadePair({ ...options, encoders: names, segmentSeconds }, log);
  } else {
    const dater = await startPlaylistDater(options.originUrl, segmentSeconds, log);
    const made = names.map(
      (name, index) =>
        new FfmpegEncoder(
          name,
          {
            ffmpegPath,
            originUrl: options.originUrl,
            playlistUrl: dater.url,
            channel: options.channel,
            encoder: name,
            index,
            segmentSeconds,
            renditions: options.renditions ?? DEFAULT_RENDITIONS,
          },
          log,
        ),
    );
    encoders = made as unknown as readonly [FfmpegEncoder, FfmpegEncoder];
    // Both on the same boundary, with the same first number: lock-step from the first segment.
    const boundary = nextBoundary(Date.now(), segmentSeconds);
    await sleepUntil(boundary.at);
    try {
      await Promise.all(made.map((e) => e.launch(boundary.sequence, 'started')));
    } catch (error) {
      await Promise.all(made.map((e) => e.close()));
      await dater.close();
      throw error;
    }
    closeRelay = () => dater.close();
  }
  return {
    encoders,
    get: (name) => encoders.find((e) => e.name === name),
    status: () => encoders.map((e) => e.status()),
    close: async () => {
      await Promise.all(encoders.map((e) => e.close()));
      await closeRelay();
    },
  };
}

async function startPremadePair(
  options: EncoderPairOptions & { encoders: readonly [string, string]; segmentSeconds: number },
  log: (line: string) => void,
): Promise<readonly [EncoderBase, EncoderBase]> {
  const made = options.encoders.map((name) =>
    startPremadeEncoder({
      name,
      originUrl: options.originUrl,
      channel: options.channel,
      segmentSeconds: options.segmentSeconds,
      log,
    }),
  );
  return (await Promise.all(made)) as unknown as readonly [EncoderBase, EncoderBase];
}
