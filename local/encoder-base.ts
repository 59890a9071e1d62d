/**
 * What both kinds of live encoder share (local/encoders.ts runs ffmpeg, local/premade-encoder.ts
 * publishes pre-made segments): the public types, the wall-clock numbering that keeps two
 * encoders in lock-step, and the state each encoder reports. Import the API from
 * local/encoders.ts, which re-exports it.
 */

export type EncoderState = 'running' | 'stalled' | 'killed' | 'stopped';
export type EncoderAction = 'stall' | 'kill' | 'stop' | 'resume';

/** Every action, in the order help texts list them. */
export const ENCODER_ACTIONS: readonly EncoderAction[] = ['stall', 'kill', 'stop', 'resume'];

export function isEncoderAction(value: string): value is EncoderAction {
  return (ENCODER_ACTIONS as readonly string[]).includes(value);
}

export interface RenditionSpec {
  /** The media playlist is `<name>.m3u8`, its segments `<name>_<n>.ts`. */
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly videoKbps: number;
}

export interface EncoderStatus {
  readonly name: string;
  readonly state: EncoderState;
  /** The ffmpeg process, while there is one (running or stalled). */
  readonly pid?: number;
  /** When the encoder entered this state (ISO 8601). */
  readonly since: string;
  readonly source: 'ffmpeg' | 'pre-made';
}

export interface LiveEncoder {
  readonly name: string;
  status(): EncoderStatus;
  /** SIGSTOP: the encoder stays alive but writes nothing; its playlists go stale. */
  stall(): void;
  /** SIGKILL: the encoder dies and leaves its last playlists as they were. */
  kill(): Promise<void>;
  /** SIGTERM: ffmpeg ends gracefully and writes `#EXT-X-ENDLIST`. */
  stop(): Promise<void>;
  /**
   * SIGCONT when stalled (ffmpeg catches up at once); when killed or stopped, a restart on the
   * next segment boundary, aligned with the counterpart (same media sequence numbering and
   * timestamps as if it had never stopped). Nothing when running.
   */
  resume(): Promise<void>;
  control(action: EncoderAction): Promise<EncoderStatus>;
}

/** The name of each encoder's master playlist (any name works for the merge; not index.m3u8, which is the channel's). */
export const MASTER_PLAYLIST = 'master.m3u8';
/** Segments in each live media playlist. */
export const LIST_SIZE = 6;

/** The media sequence number of the segment that holds wall-clock time `epochMs`. */
export function sequenceAt(epochMs: number, segmentSeconds: number): number {
  return Math.floor(epochMs / (segmentSeconds * 1000));
}

/** The first segment boundary after `epochMs` (at least 50 ms ahead, time to spawn) and its sequence number. */
export function nextBoundary(epochMs: number, segmentSeconds: number): { at: number; sequence: number } {
  const sequence = sequenceAt(epochMs + 50, segmentSeconds) + 1;
  return { at: sequence * segmentSeconds * 1000, sequence };
}

export function sleepUntil(epochMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())));
}

/** The URL of `<channel>/<encoder>/<file>` at the origin (names are checked: nothing to encode). */
export function ingestUrl(originUrl: string, channel: string, encoder: string, file: string): string {
  return `${originUrl.replace(/\/+$/, '')}/${channel}/${encoder}/${file}`;
}

/** Shared by both kinds of encoder: the state, when it began, and one action at a time. */
export abstract class EncoderBase implements LiveEncoder {
  protected state: EncoderState = 'stopped';
  protected since = new Date();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly source: 'ffmpeg' | 'pre-made',
    protected readonly log: (line: string) => void,
  ) {}

  status(): EncoderStatus {
    const pid = this.pid();
    return {
      name: this.name,
      state: this.state,
      ...(pid === undefined ? {} : { pid }),
      since: this.since.toISOString(),
      source: this.source,
    };
  }

  protected pid(): number | undefined {
    return undefined;
  }

  protected setState(state: EncoderState, why: string): void {
    if (state === this.state) return;
    this.state = state;
    this.since = new Date();
    this.log(`${this.name}: ${state} (${why})`);
  }

  /** Runs actions that wait (kill, stop, resume) one after another. */
  protected serial<T>(action: () => Promise<T>): Promise<T> {
    const run = this.queue.then(action, action);
    this.queue = run.catch(() => undefined);
    return run;
  }

  abstract stall(): void;
  abstract kill(): Promise<void>;
  abstract stop(): Promise<void>;
  abstract resume(): Promise<void>;
  abstract close(): Promise<void>;

  async control(action: EncoderAction): Promise<EncoderStatus> {
    switch (action) {
      case 'stall':
        this.stall();
        break;
      case 'kill':
        await this.kill();
        break;
      case 'stop':
        await this.stop();
        break;
      case 'resume':
        await this.resume();
        break;
      default:
        throw new TypeError(`unknown action "${String(action)}"; use one of ${ENCODER_ACTIONS.join(', ')}`);
    }
    return this.status();
  }
}
