/**
 * End-to-end failover bench: runs the e2e scenarios (test/support/e2e-scenarios.ts: ffmpeg
 * encoders, the local runtime, hls.js with its default config in headless Chromium) N times each
 * and reports the distribution of what viewers and on-call would see. Every run counts: a run that
 * misses a pass criterion or cannot run is reported as such, never retried.
 *
 *   npx tsx bench/e2e-failover.ts [--runs N] [--scenario name[,name…]] [--phase mid|random] [--json]
 *
 * The fault lands at a random point of the segment period by default (--phase random), so the
 * distribution covers the fault's timing; the jest tests inject it mid-segment. About 35 s per run.
 * Exit code 0 when every run ran (misses are in the report), 1 when a run could not run, 2 on bad
 * arguments.
 */

import { ensureSynthesized, PUBLISHED_ASSEMBLY, STACK_ID } from '../local/synthesize';
import { distribution } from '../test/support/e2e-metrics';
import { PLAYERS, type PlayerName } from '../test/support/e2e-player';
import {
  BUDGETS,
  type E2eEnvironment,
  endedVersusContinued,
  formatResult,
  problemsOf,
  runScenario,
  SCENARIOS,
  type ScenarioName,
  type ScenarioResult,
  startE2eEnvironment,
  TD_SECONDS,
} from '../test/support/e2e-scenarios';

export interface E2eBenchOptions {
  /** Runs per scenario. @default 3 */
  readonly runs?: number;
  /** @default every scenario */
  readonly scenarios?: readonly ScenarioName[];
  /** Where in the segment period the fault lands. @default 'random' */
  readonly phase?: 'mid' | 'random';
  /** The player matrix: each player in runs of its own (test/e2e/player.html). @default hls.js viewers */
  readonly players?: readonly PlayerName[];
  /** Progress lines (one per run). @default none */
  readonly log?: (line: string) => void;
}

/** One player's viewers in one scenario, over all runs. */
export interface PlayerFigures {
  readonly player: PlayerName;
  readonly viewers: number;
  readonly longestFreezeSeconds: Distribution;
  readonly skippedSeconds: Distribution;
  /** Viewers not playing at the end of the window. */
  readonly notPlayingAtEnd: number;
  /** Viewers with a fatal player error. */
  readonly fatal: number;
}

type Distribution = ReturnType<typeof distribution>;

export interface E2eScenarioReport {
  readonly scenario: ScenarioName;
  readonly runs: number;
  readonly passed: number;
  /** Runs that could not run (an exception), with the message. */
  readonly errors: readonly string[];
  /** Per missed run: what it missed. */
  readonly misses: readonly (readonly string[])[];
  /** The encoders' largest upload skew for the same segment per run, in ms (what the lag grace must cover). */
  readonly uploadSkewMaxMs: Distribution;
  /** Seconds after the faulty encoder's last good upload (its ENDLIST upload for a stop). */
  readonly detectionSeconds: Distribution;
  readonly steeringSeconds: Distribution;
  readonly withdrawalSeconds: Distribution;
  /** Per viewer and run. */
  readonly longestFreezeSeconds: Distribution;
  readonly rebufferSeconds: Distribution;
  /** Content lost to forward jumps, per viewer and run. */
  readonly skippedSeconds: Distribution;
  readonly switchSeconds: Distribution;
  /** With --players: each player's figures. */
  readonly perPlayer: readonly PlayerFigures[];
  /** Issue #7, over all runs: viewers whose session ended, continued after a freeze, loaded the ENDLIST version. */
  readonly viewersEnded?: {
    readonly ended: number;
    readonly continuedAfterFreeze: number;
    readonly loadedEndlist: number;
    readonly of: number;
  };
  readonly results: readonly ScenarioResult[];
}

export interface E2eBenchReport {
  readonly targetDuration: number;
  readonly budgets: typeof BUDGETS;
  readonly scenarios: readonly E2eScenarioReport[];
}

/** Runs each scenario `runs` times, one after the other, on one browser. */
export async function runE2eFailoverBench(options: E2eBenchOptions = {}): Promise<E2eBenchReport> {
  const runs = options.runs ?? 3;
  const names = options.scenarios ?? SCENARIOS;
  const log = options.log ?? (() => undefined);
  // The runtime runs the synthesized artifact (each mode's): synthesized again when the sources are newer.
  await ensureSynthesized(STACK_ID, log);
  await ensureSynthesized(STACK_ID, log, PUBLISHED_ASSEMBLY);
  const env: E2eEnvironment = await startE2eEnvironment();
  const reports: E2eScenarioReport[] = [];
  try {
    for (const scenario of names) {
      const results: ScenarioResult[] = [];
      const errors: string[] = [];
      const misses: string[][] = [];
      // With players, each player gets runs of its own (one viewer, and one joining in the
      // failback): the viewers of four players at once overload 2 cores (test/players/matrix.test.ts).
      const groups: readonly (readonly PlayerName[] | undefined)[] = options.players?.map((player) => [
        player,
      ]) ?? [undefined];
      for (let i = 0; i < runs; i++) {
        for (const players of groups) {
          const phaseMs = options.phase === 'mid' ? undefined : Math.floor(Math.random() * TD_SECONDS * 1000);
          const label = `${scenario}${players === undefined ? '' : ` (${players.join(', ')})`} run ${i + 1}/${runs}`;
          try {
            const result = await runScenario(env, scenario, {
              ...(phaseMs === undefined ? {} : { phaseMs }),
              ...(players === undefined ? {} : { players }),
            });
            results.push(result);
            const problems = problemsOf(result);
            if (problems.length > 0) misses.push(problems);
            log(`${label}: ${problems.length === 0 ? 'pass' : `MISS: ${problems.join('; ')}`}`);
            // A miss comes with the run's figures (alerts with their times and reasons, viewers).
            if (problems.length > 0) log(formatResult(result));
          } catch (error) {
            errors.push((error as Error).message);
            log(`${label}: ERROR ${(error as Error).message}`);
          }
        }
      }
      const viewers = results.flatMap((r) => r.viewers);
      const stopped = scenario === 'primary-stopped';
      reports.push({
        scenario,
        runs: results.length + errors.length,
        passed: results.length - misses.length,
        errors,
        misses,
        uploadSkewMaxMs: distribution(results.map((r) => r.uploadSkewMs?.max)),
        detectionSeconds: distribution(results.map((r) => r.detectionSeconds)),
        steeringSeconds: distribution(results.map((r) => r.steeringSeconds)),
        withdrawalSeconds: distribution(results.map((r) => r.withdrawalSeconds)),
        longestFreezeSeconds: distribution(viewers.map((v) => v.summary.longestFreezeSeconds)),
        rebufferSeconds: distribution(viewers.map((v) => v.summary.rebufferSeconds)),
        skippedSeconds: distribution(viewers.map((v) => v.summary.skippedSeconds)),
        switchSeconds: distribution(viewers.map((v) => v.switchSeconds)),
        perPlayer: (options.players ?? []).map((player): PlayerFigures => {
          const of = viewers.filter((v) => v.player === player);
          return {
            player,
            viewers: of.length,
            longestFreezeSeconds: distribution(of.map((v) => v.summary.longestFreezeSeconds)),
            skippedSeconds: distribution(of.map((v) => v.summary.skippedSeconds)),
            notPlayingAtEnd: of.filter((v) => !v.summary.playingAtEnd).length,
            fatal: of.filter((v) => v.summary.fatalErrors.length > 0).length,
          };
        }),
        ...(stopped
          ? {
              viewersEnded: {
                ended: results.reduce((n, r) => n + endedVersusContinued(r).ended, 0),
                continuedAfterFreeze: results.reduce(
                  (n, r) => n + endedVersusContinued(r).continuedAfterFreeze,
                  0,
                ),
                loadedEndlist: results.reduce((n, r) => n + endedVersusContinued(r).loadedEndlist, 0),
                of: viewers.length,
              },
            }
          : {}),
        results,
      });
    }
  } finally {
    await env.close();
  }
  return { targetDuration: TD_SECONDS, budgets: BUDGETS, scenarios: reports };
}

/** The report as a table a person reads. */
export function formatE2eReport(report: E2eBenchReport): string {
  const td = report.targetDuration;
  const d = (x: Distribution) => {
    if (x.n === 0) return '—';
    const f = (v: number | undefined) => (v === undefined ? '?' : v.toFixed(2));
    return `${f(x.min)} / ${f(x.median)} / ${f(x.max)}${x.missing > 0 ? ` (${x.missing} n/a)` : ''}`;
  };
  const lines = [
    `End-to-end failover: TD ${td} s; seconds as min / median / max; detection, steering and withdrawal from the faulty encoder's last good upload (ENDLIST upload for a stop). Budgets: detection ≤ ${report.budgets.detectionTd} × TD, actions ≤ ${report.budgets.actionTd} × TD, freeze ≤ ${report.budgets.freezeSeconds} s.`,
    '',
    '| scenario | pass | upload skew max ms | detection s | steering s | withdrawal s | longest freeze s | rebuffer s | skipped s | switch s | viewers ended |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of report.scenarios) {
    lines.push(
      `| ${s.scenario} | ${s.passed}/${s.runs}${s.errors.length > 0 ? ` (${s.errors.length} error)` : ''} | ${d(s.uploadSkewMaxMs)} | ${d(s.detectionSeconds)} | ${d(s.steeringSeconds)} | ${d(s.withdrawalSeconds)} | ${d(s.longestFreezeSeconds)} | ${d(s.rebufferSeconds)} | ${d(s.skippedSeconds)} | ${d(s.switchSeconds)} | ${s.viewersEnded === undefined ? '' : `${s.viewersEnded.ended} of ${s.viewersEnded.of} (+${s.viewersEnded.continuedAfterFreeze} froze; ${s.viewersEnded.loadedEndlist} saw ENDLIST)`} |`,
    );
  }
  const problems = report.scenarios.flatMap((s) => [
    ...s.misses.map((m, i) => `${s.scenario} miss ${i + 1}: ${m.join('; ')}`),
    ...s.errors.map((e) => `${s.scenario} error: ${e}`),
  ]);
  const matrix = report.scenarios.flatMap((s) =>
    s.perPlayer.map(
      (p) =>
        `| ${s.scenario} | ${PLAYERS[p.player].title} | ${p.viewers} | ${d(p.longestFreezeSeconds)} | ${d(p.skippedSeconds)} | ${p.notPlayingAtEnd} | ${p.fatal} |`,
    ),
  );
  if (matrix.length > 0)
    lines.push(
      '',
      'Per player (viewers over all runs; freeze and skipped in seconds as min / median / max):',
      '',
      '| scenario | player | viewers | longest freeze s | skipped s | not playing at the end | fatal error |',
      '|---|---|---|---|---|---|---|',
      ...matrix,
    );
  if (problems.length > 0) lines.push('', ...problems);
  return lines.join('\n');
}

const USAGE = `Usage: npx tsx bench/e2e-failover.ts [--runs N] [--scenario name[,name...]] [--phase mid|random] [--players name[,name...]] [--json]

Runs the end-to-end failover scenarios N times each (ffmpeg, the local runtime, real players in
headless Chromium) and reports the distribution. Scenarios: ${SCENARIOS.join(', ')}.
--players: each player in runs of its own, one viewer (${Object.keys(PLAYERS).join(', ')});
default: the scenarios' hls.js viewers.
Needs ffmpeg and chromium (apt-get install -y ffmpeg chromium). About 35 s per run.
`;

async function main(argv: readonly string[]): Promise<number> {
  let runs = 3;
  let scenarios: ScenarioName[] = [...SCENARIOS];
  let phase: 'mid' | 'random' = 'random';
  let json = false;
  let players: PlayerName[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (arg === '--json') json = true;
    else if (arg === '--runs' && value !== undefined && /^[1-9]\d*$/.test(value)) {
      runs = Number(value);
      i++;
    } else if (arg === '--scenario' && value !== undefined) {
      const wanted = value.split(',');
      const unknown = wanted.filter((w) => !(SCENARIOS as readonly string[]).includes(w));
      if (unknown.length > 0) {
        process.stderr.write(`unknown scenario ${unknown.join(', ')}\n${USAGE}`);
        return 2;
      }
      scenarios = wanted as ScenarioName[];
      i++;
    } else if (arg === '--players' && value !== undefined) {
      const wanted = value.split(',');
      const unknown = wanted.filter((w) => !(w in PLAYERS));
      if (unknown.length > 0) {
        process.stderr.write(`unknown player ${unknown.join(', ')}\n${USAGE}`);
        return 2;
      }
      players = wanted as PlayerName[];
      i++;
    } else if (arg === '--phase' && (value === 'mid' || value === 'random')) {
      phase = value;
      i++;
    } else {
      process.stderr.write(`bad argument ${arg ?? ''}\n${USAGE}`);
      return 2;
    }
  }
  const report = await runE2eFailoverBench({
    runs,
    scenarios,
    phase,
    ...(players === undefined ? {} : { players }),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${formatE2eReport(report)}\n`);
  return report.scenarios.some((s) => s.errors.length > 0) ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    },
  );
}
