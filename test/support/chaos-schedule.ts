/**
 * The chaos test's plan: from a seed, which faults are injected in which order with which
 * details, and the oracle's half that needs no runtime: the alerts each real incident must raise.
 * Pure; fast-check draws the plan (`fc.sample` with the seed), so one seed is one plan.
 */
import fc from 'fast-check';

export const ENCODERS = ['primary', 'failover'] as const;
export type EncoderName = (typeof ENCODERS)[number];
export const RENDITIONS = ['720p.m3u8', '360p.m3u8'] as const;
export type Rendition = (typeof RENDITIONS)[number];

/** Noise on one healthy tick: neither is an incident (issue 16: duplicates and jitter raise no alert). */
export interface TickNoise {
  /** This encoder writes the same version of this rendition again, `afterMs` after its upload. */
  readonly duplicate?: {
    readonly encoder: EncoderName;
    readonly rendition: Rendition;
    readonly afterMs: number;
  };
  /** This encoder uploads `delayMs` late: below the lag grace (0.3 × TD = 300 ms at TD 1 s). */
  readonly jitter?: { readonly encoder: EncoderName; readonly delayMs: number };
}

/** One fault, injected after a few healthy ticks. */
export type Fault =
  /** One upload of a rendition cut mid-line (RFC 8216 violation): one INVALID PLAYLIST incident. */
  | { readonly kind: 'truncate'; readonly encoder: EncoderName; readonly rendition: Rendition }
  /**
   * Right after an encoder's upload, its previous version of a rendition lands again (a late PUT
   * overtaken by the next): the stored object's media sequence goes back (rfc8216bis §6.2.2), so
   * it is rejected: one INVALID PLAYLIST incident.
   */
  | { readonly kind: 'reorder'; readonly encoder: EncoderName; readonly rendition: Rendition }
  /**
   * The encoder freezes mid-upload of a playlist (the runtime holds that key until its stall
   * timeout, so the withdrawal waits), is dead for `ticks` ticks, then restarts in lock-step: one
   * STALLED, one RECOVERED. Once the runtime drops the frozen upload, the executions that waited
   * on its key write the state, then withdraw and alert: `killRuntimeAfterMs` after the state
   * records the stall, the runtime is killed with SIGKILL and restarted on the same data dir. The
   * effects still happen, once, and the restart adds nothing.
   */
  | {
      readonly kind: 'encoder-death';
      readonly encoder: EncoderName;
      readonly ticks: number;
      readonly killRuntimeAfterMs: number;
    }
  /** Both encoders die for `ticks` ticks, then restart: one CHANNEL DOWN, one CHANNEL UP. */
  | { readonly kind: 'both-die'; readonly ticks: number }
  /** SIGKILL of the runtime while both encoders are healthy, then a restart: no alert. */
  | { readonly kind: 'runtime-kill' };

export interface ChaosStep {
  /** Healthy ticks before the fault, each with its noise (possibly none). */
  readonly healthy: readonly TickNoise[];
  readonly fault: Fault;
}

export interface ChaosPlan {
  readonly seed: number;
  readonly steps: readonly ChaosStep[];
  /** Healthy ticks after the last fault, before the final checks. */
  readonly tail: readonly TickNoise[];
}

const encoder = fc.constantFrom(...ENCODERS);
const rendition = fc.constantFrom(...RENDITIONS);

const noise: fc.Arbitrary<TickNoise> = fc.record(
  {
    duplicate: fc.record({ encoder, rendition, afterMs: fc.integer({ min: 0, max: 400 }) }),
    // Well below the 300 ms lag grace: the upload itself takes tens of ms under load.
    jitter: fc.record({ encoder, delayMs: fc.integer({ min: 20, max: 120 }) }),
  },
  { requiredKeys: [] },
);
const healthy = (min: number, max: number) => fc.array(noise, { minLength: min, maxLength: max });

const faults: fc.Arbitrary<Fault[]> = fc
  .tuple(
    fc.record({ kind: fc.constant('truncate' as const), encoder, rendition }),
    fc.record({ kind: fc.constant('reorder' as const), encoder, rendition }),
    fc.record({
      kind: fc.constant('encoder-death' as const),
      encoder,
      ticks: fc.integer({ min: 6, max: 8 }),
      // After the state write the withdrawal and the alert take some 100–500 ms here.
      killRuntimeAfterMs: fc.integer({ min: 0, max: 80 }),
    }),
    fc.record({ kind: fc.constant('both-die' as const), ticks: fc.integer({ min: 4, max: 6 }) }),
    fc.record({ kind: fc.constant('runtime-kill' as const) }),
  )
  .chain((all) => fc.shuffledSubarray<Fault>(all, { minLength: all.length, maxLength: all.length }));

/** The plan of seed `seed`: every fault once, in a seeded order, with seeded details and noise. */
export function chaosPlan(seed: number): ChaosPlan {
  const arbitrary = fc.record({
    faults,
    healthy: fc.array(healthy(4, 6), { minLength: 5, maxLength: 5 }),
    tail: healthy(4, 4),
  });
  const [drawn] = fc.sample(arbitrary, { seed, numRuns: 1 });
  if (drawn === undefined) throw new Error(`fast-check drew no chaos plan for seed ${seed}`);
  return {
    seed,
    steps: drawn.faults.map((fault, i) => ({ healthy: drawn.healthy[i] ?? [], fault })),
    tail: drawn.tail,
  };
}

/**
 * An alert as the oracle compares it: its kind, and the encoder it names (none for the channel's),
 * e.g. `STALLED primary`, `CHANNEL DOWN`.
 */
export function alertLabel(kind: string, encoder: string | undefined): string {
  return encoder === undefined ? kind : `${kind} ${encoder}`;
}

/**
 * The alerts the plan's real incidents raise, in order: one alert and one recovery per incident
 * (issue 16 §3), nothing for noise or for a runtime restart. Faults never overlap, so the order is
 * the plan's. `notTaken`: the steps whose invalid write no execution read (nothing was injected).
 * `outages`: the runtime restarts that kept the local origin down longer than the stale threshold:
 * the encoders' uploads failed all that time, so the channel really was down, and a CHANNEL DOWN /
 * CHANNEL UP pair for it is right (whether one is raised depends on which execution runs first).
 * Every alert list the plan allows, the one without those pairs first.
 */
export function allowedAlerts(
  plan: ChaosPlan,
  notTaken: ReadonlySet<number> = new Set(),
  outages: ReadonlySet<number> = new Set(),
): string[][] {
  const down = [alertLabel('CHANNEL DOWN', undefined), alertLabel('CHANNEL UP', undefined)];
  let allowed: string[][] = [[]];
  for (const [step, alerts] of expectedAlerts(plan, notTaken).entries()) {
    allowed = allowed.flatMap((before) =>
      outages.has(step)
        ? [
            [...before, ...alerts],
            [...before, ...alerts, ...down],
          ]
        : [[...before, ...alerts]],
    );
  }
  return allowed;
}

/** Per step, the alerts its fault raises (see {@link allowedAlerts}). */
function expectedAlerts(plan: ChaosPlan, notTaken: ReadonlySet<number>): string[][] {
  return plan.steps.map(({ fault }, step) => {
    if (notTaken.has(step)) return [];
    if (fault.kind === 'truncate' || fault.kind === 'reorder')
      return [
        alertLabel('INVALID PLAYLIST', fault.encoder),
        alertLabel('PLAYLISTS VALID AGAIN', fault.encoder),
      ];
    if (fault.kind === 'encoder-death')
      return [alertLabel('STALLED', fault.encoder), alertLabel('RECOVERED', fault.encoder)];
    if (fault.kind === 'both-die')
      return [alertLabel('CHANNEL DOWN', undefined), alertLabel('CHANNEL UP', undefined)];
    return []; // a runtime restart raises nothing by itself
  });
}

/** One line per step, for the printed timeline. */
export function describePlan(plan: ChaosPlan): string[] {
  return plan.steps.map(({ healthy: ticks, fault }, i) => {
    const details = Object.entries(fault)
      .filter(([key]) => key !== 'kind')
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(' ');
    const noisy = ticks.filter((t) => t.duplicate !== undefined || t.jitter !== undefined).length;
    return `step ${i + 1}: ${ticks.length} healthy ticks (${noisy} with duplicates/jitter), then ${fault.kind} ${details}`;
  });
}
