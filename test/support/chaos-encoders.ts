/**
 * Two scripted encoders for the chaos test, in lock-step at TD 1 s: on each tick every live
 * encoder PUTs its 720p and 360p media playlists through the origin, whose last segment is the
 * tick's sequence number (wall-clock numbering: an encoder that restarts numbers its segments as
 * if it had never stopped, as local/encoder-base.ts does). A tick may carry noise (duplicates,
 * jitter) or a fault (a truncated or out-of-order upload); every write and what came of it goes
 * to the timeline.
 */

import { request } from 'node:http';
import { ENCODERS, type EncoderName, RENDITIONS, type Rendition, type TickNoise } from './chaos-schedule';
import type { Timeline } from './chaos-timeline';
import { mediaPlaylist } from './playlists';

export const CHANNEL = 'chaos';
/** The sequence number of the first tick's last segment. */
const FIRST_SEQUENCE = 10;

/** A fault one encoder's upload carries on one tick; `step` is its index in the plan. */
export interface UploadFault {
  readonly kind: 'truncate' | 'reorder';
  readonly encoder: EncoderName;
  readonly rendition: Rendition;
  readonly step: number;
}

/** An invalid version the encoders wrote (a fault), and when. */
export interface InvalidWrite {
  readonly step: number;
  readonly key: string;
  readonly at: number;
}

/** The media playlist an encoder writes on the tick whose last segment is `sequence`. */
export function playlistAt(sequence: number, endlist = false): string {
  return mediaPlaylist({ sequence: sequence - 3, count: 4, targetDuration: 1, duration: 1, endlist });
}

/** `playlist` cut in the middle of its last EXTINF line, as a write that stopped short leaves it. */
export function truncated(playlist: string): string {
  return playlist.slice(0, playlist.lastIndexOf('#EXTINF:') + '#EXTINF:1.0'.length);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A tick whose uploads take longer than this is noted on the timeline (the lag grace is 300 ms). */
const SLOW_UPLOAD_MS = 200;

export class ScriptedEncoders {
  /** Which encoders write on the next ticks (false: dead). */
  readonly alive: Record<EncoderName, boolean> = { primary: true, failover: true };
  /** Every invalid version written so far. */
  readonly invalidWrites: InvalidWrite[] = [];
  private ticks = 0;
  /** When the first tick ran: the others follow on a 1 s grid from it. */
  private firstTickAt: number | undefined;
  /** Writes that run beside the ticks (duplicates, out-of-order versions): a tick does not wait for them. */
  private readonly background = new Set<Promise<void>>();
  /** Each path's last status at the origin (200 / 404), to record when one changes. */
  private readonly seen = new Map<string, string>();

  /**
   * @param originUrl the origin of the runtime now running; undefined while it is down
   * @param accepted resolves once the runtime accepted this sequence number for that rendition
   */
  constructor(
    private readonly channel: string,
    private readonly timeline: Timeline,
    private readonly originUrl: () => string | undefined,
    private readonly accepted: (
      encoder: EncoderName,
      rendition: Rendition,
      sequence: number,
    ) => Promise<boolean>,
  ) {}

  /** The sequence number of the last tick's segment. */
  get sequence(): number {
    return FIRST_SEQUENCE + this.ticks - 1;
  }

  /** How many ticks have run. */
  get count(): number {
    return this.ticks;
  }

  /**
   * Waits for the next tick (on a fixed wall-clock grid: a late tick does not move the next one),
   * then every live encoder writes, with this noise and fault; resolves once the tick's own
   * uploads are done.
   */
  async tick(noise: TickNoise = {}, fault?: UploadFault, endlist = false): Promise<void> {
    this.firstTickAt ??= Date.now();
    const due = this.firstTickAt + this.ticks * 1000;
    await sleep(due - Date.now());
    if (Date.now() - due > SLOW_UPLOAD_MS)
      this.timeline.add('harness', `tick ${this.ticks} ${Date.now() - due} ms late`);
    this.ticks++;
    const sequence = this.sequence;
    const started = Date.now();
    await Promise.all(
      ENCODERS.filter((e) => this.alive[e]).map(async (encoder) => {
        if (noise.jitter?.encoder === encoder) {
          this.timeline.add('noise', `${encoder} uploads ${noise.jitter.delayMs} ms late`);
          await sleep(noise.jitter.delayMs);
        }
        await Promise.all(
          RENDITIONS.map((rendition) => {
            const cut =
              fault?.kind === 'truncate' && fault.encoder === encoder && fault.rendition === rendition;
            const body = playlistAt(sequence, endlist);
            if (!cut) return this.put(encoder, rendition, body);
            this.timeline.add('fault', `${encoder}/${rendition} #${sequence} written TRUNCATED`);
            return this.putInvalid(fault.step, encoder, rendition, truncated(body));
          }),
        );
        const duplicate = noise.duplicate;
        if (duplicate?.encoder === encoder)
          this.beside(async () => {
            await sleep(duplicate.afterMs);
            this.timeline.add(
              'noise',
              `${encoder}/${duplicate.rendition} #${sequence} written again (duplicate)`,
            );
            await this.put(encoder, duplicate.rendition, playlistAt(sequence));
          });
        if (fault?.kind === 'reorder' && fault.encoder === encoder)
          this.beside(async () => {
            // Only once the newer version is accepted does the older one land after it; before, the
            // runtime would read the older one for both events and never see the newer.
            const ready = await this.accepted(encoder, fault.rendition, sequence);
            this.timeline.add(
              'fault',
              `${encoder}/${fault.rendition} #${sequence - 1} written again after #${sequence}${ready ? '' : ` (#${sequence} not seen accepted)`} (OUT OF ORDER)`,
            );
            await this.putInvalid(fault.step, encoder, fault.rendition, playlistAt(sequence - 1));
          });
      }),
    );
    const took = Date.now() - started - (noise.jitter?.delayMs ?? 0);
    if (took > SLOW_UPLOAD_MS)
      this.timeline.add('harness', `tick ${this.ticks - 1}: uploads took ${took} ms`);
    this.beside(() => this.observe());
  }

  /** `n` ticks without noise. */
  async quiet(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await this.tick();
  }

  /** Both encoders write their master playlist. */
  async writeMasters(master: string): Promise<void> {
    await Promise.all(ENCODERS.map((encoder) => this.put(encoder, 'master.m3u8', master)));
  }

  /**
   * The encoder freezes in the middle of an upload straight into the bucket (`url`, the object's
   * S3 URL): it declares the whole playlist, sends half, then nothing, so the runtime holds that
   * key until its stall timeout (10 s), as for a process stopped mid-write. `dropped` resolves
   * when the runtime gives up on it; `end()` ends the freeze (the encoder's socket closes).
   */
  freezeMidUpload(
    encoder: EncoderName,
    rendition: Rendition,
    url: string,
  ): { dropped: Promise<void>; end: () => void } {
    const body = Buffer.from(playlistAt(this.sequence + 1));
    const req = request(url, { method: 'PUT', headers: { 'content-length': body.length } });
    const dropped = new Promise<void>((resolve) => {
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.on('response', (res) => {
        res.resume();
        resolve();
      });
    }).then(() => this.timeline.add('runtime', `dropped ${encoder}'s frozen upload of ${rendition}`));
    req.write(body.subarray(0, body.length >> 1));
    this.timeline.add('fault', `${encoder} freezes mid-upload of ${rendition} (through the S3 endpoint)`);
    return { dropped, end: () => req.destroy() };
  }

  /** Resolves once the writes beside the ticks are done. */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  private beside(work: () => Promise<void>): void {
    const running = work();
    this.background.add(running);
    void running.finally(() => this.background.delete(running));
  }

  private async putInvalid(step: number, encoder: EncoderName, rendition: Rendition, body: string) {
    this.invalidWrites.push({ step, key: `${this.channel}/${encoder}/${rendition}`, at: Date.now() });
    await this.put(encoder, rendition, body);
  }

  private async put(encoder: EncoderName, file: string, body: string): Promise<void> {
    const origin = this.originUrl();
    if (origin === undefined) return; // the runtime is down: the encoder's write is lost
    try {
      const res = await fetch(`${origin}/${this.channel}/${encoder}/${file}`, { method: 'PUT', body });
      if (res.status !== 201) this.timeline.add('encoder', `${encoder}/${file} PUT answered ${res.status}`);
    } catch (error) {
      this.timeline.add('encoder', `${encoder}/${file} PUT failed: ${(error as Error).message}`);
    }
  }

  /** Records when an encoder's playlist or the steering preference changes at the origin. */
  private async observe(): Promise<void> {
    const origin = this.originUrl();
    if (origin === undefined) return;
    const record = (path: string, now: string) => {
      if (this.seen.get(path) !== now) this.timeline.add('origin', `${this.channel}/${path} → ${now}`);
      this.seen.set(path, now);
    };
    try {
      await Promise.all([
        ...ENCODERS.map(async (encoder) => {
          const path = `${encoder}/720p.m3u8`;
          record(path, String((await fetch(`${origin}/${this.channel}/${path}`)).status));
        }),
        (async () => {
          const res = await fetch(`${origin}/${this.channel}/steering.json`);
          const steering = res.ok ? ((await res.json()) as { 'PATHWAY-PRIORITY'?: string[] }) : undefined;
          record('steering.json', steering?.['PATHWAY-PRIORITY']?.join(' > ') ?? String(res.status));
        })(),
      ]);
    } catch {
      // the runtime went down meanwhile
    }
  }
}
