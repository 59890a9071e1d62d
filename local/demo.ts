/**
 * The demo of the local runtime: two lock-step live encoders on one channel (ffmpeg when it is
 * installed, else pre-made segments), which a person or the status page stalls, kills, stops and
 * resumes to watch the workflow fail over and back.
 *
 * @example
 * const demo = await startDemo({ originUrl: runtime.endpoints.origin });
 * await demo.control('primary', 'stall'); // the player moves to failover
 * await demo.control('primary', 'resume');
 * await demo.close();
 */
import {
  DEFAULT_ENCODERS,
  ENCODER_ACTIONS,
  type EncoderAction,
  type EncoderStatus,
  isEncoderAction,
  startEncoderPair,
} from './encoders';

export interface DemoOptions {
  /** The runtime's origin, e.g. `http://127.0.0.1:8080`. */
  readonly originUrl: string;
  /** @default 'demo' */
  readonly channel?: string;
  /** The encoder folder names the runtime is configured with. @default ['primary', 'failover'] */
  readonly encoders?: readonly [string, string];
  /** ffmpeg to run; `false` forces the pre-made segments. @default 'ffmpeg' when on PATH */
  readonly ffmpegPath?: string | false;
  /** One line per encoder state change or problem. @default no output */
  readonly print?: (line: string) => void;
}

export interface Demo {
  readonly channel: string;
  readonly source: 'ffmpeg' | 'pre-made';
  status(): EncoderStatus[];
  /** Throws {@link DemoControlError} for an unknown encoder or action. */
  control(encoder: string, action: EncoderAction): Promise<EncoderStatus>;
  close(): Promise<void>;
}

/** An encoder or action the demo does not have; the message lists the valid ones. */
export class DemoControlError extends Error {
  override readonly name = 'DemoControlError';

  constructor(
    message: string,
    /** What was wrong, for an API to answer 404 (no such encoder) or 400 (no such action). */
    readonly reason: 'unknown-encoder' | 'unknown-action',
  ) {
    super(message);
  }
}

export const DEFAULT_DEMO_CHANNEL = 'demo';

export async function startDemo(options: DemoOptions): Promise<Demo> {
  const channel = options.channel ?? DEFAULT_DEMO_CHANNEL;
  const print = options.print ?? (() => undefined);
  const pair = await startEncoderPair({
    originUrl: options.originUrl,
    channel,
    encoders: options.encoders ?? DEFAULT_ENCODERS,
    ...(options.ffmpegPath === undefined ? {} : { ffmpegPath: options.ffmpegPath }),
    log: (line) => print(`demo ${line}`),
  });
  const source = pair.encoders[0].status().source;
  const names = pair.encoders.map((e) => e.name);
  return {
    channel,
    source,
    status: () => pair.status(),
    control: async (encoder, action) => {
      const found = pair.get(encoder);
      if (found === undefined)
        throw new DemoControlError(
          `unknown encoder "${encoder}"; the demo's encoders are ${names.join(', ')}`,
          'unknown-encoder',
        );
      // Callers from the HTTP API pass any string: check it here, whatever the type says.
      if (!isEncoderAction(action))
        throw new DemoControlError(
          `unknown action "${action}"; use one of ${ENCODER_ACTIONS.join(', ')}`,
          'unknown-action',
        );
      return found.control(action);
    },
    close: () => pair.close(),
  };
}
