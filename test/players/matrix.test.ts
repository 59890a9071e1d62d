/**
 * Every player keeps playing (issue #14): the failover scenarios of test/e2e/failover.test.ts with
 * Shaka Player, video.js (VHS) and Chromium's built-in HLS player, each with its default config
 * (hls.js is failover.test.ts's player), and the default settings: with splicing, a stalled
 * encoder's media playlists stay live with the healthy encoder's segments, so a viewer on either
 * encoder's playlists plays on whether or not its player follows content steering or fails over
 * on a 404. Part of `npm test` (and `npm run test:players` alone; README, "Splicing").
 *
 * Each player runs in scenarios of its own (one viewer; in the failback one more joins during the
 * outage): the viewers of four players at once, with two encoders and the runtime, overload a
 * 2-core machine past the detection budget. Each case is held to the same criteria as the hls.js
 * suite (problemsOf); Chromium's player and Shaka pick their own variant, so only hls.js viewers
 * are held to a pathway. About 14 min; the matrix is printed at the end.
 *
 * Needs ffmpeg and Chromium: `apt-get install -y ffmpeg chromium`.
 */
import { PLAYERS, type PlayerName } from '../support/e2e-player';
import {
  type E2eEnvironment,
  formatResult,
  PUBLISHED_SCENARIOS,
  problemsOf,
  runScenario,
  type ScenarioName,
  type ScenarioResult,
  startE2eEnvironment,
} from '../support/e2e-scenarios';

jest.setTimeout(150_000);

const MATRIX_PLAYERS: readonly PlayerName[] = ['shaka', 'videojs', 'native'];
const MATRIX_SCENARIOS: readonly ScenarioName[] = [
  'primary-killed',
  'primary-stalled',
  'failover-killed',
  'failback',
  // Published mode (issue 15): the SIGTERM stop (ENDLIST) and invalid playlists mid-stream.
  ...PUBLISHED_SCENARIOS,
];
let env: E2eEnvironment;
const results: { player: PlayerName; result: ScenarioResult }[] = [];

beforeAll(async () => {
  env = await startE2eEnvironment();
}, 60_000);
afterAll(async () => {
  await env?.close();
  if (results.length > 0) process.stdout.write(`${matrix()}\n`);
});

/** Player × scenario: each viewer's longest freeze and skipped content, and the misses. */
function matrix(): string {
  const cell = (r: ScenarioResult) => {
    const freeze = Math.max(...r.viewers.map((v) => v.summary.longestFreezeSeconds));
    const skipped = Math.max(...r.viewers.map((v) => v.summary.skippedSeconds));
    const fatal = r.viewers.some((v) => v.summary.fatalErrors.length > 0);
    const misses = problemsOf(r).length;
    return `${freeze.toFixed(2)} s / ${skipped.toFixed(2)} s${fatal ? ' / FATAL' : ''}${misses > 0 ? ` (${misses} miss${misses === 1 ? '' : 'es'})` : ''}`;
  };
  return [
    "Player matrix (longest freeze / content skipped, over the scenario's viewers):",
    `| player | ${MATRIX_SCENARIOS.join(' | ')} |`,
    `|---|${MATRIX_SCENARIOS.map(() => '---').join('|')}|`,
    ...MATRIX_PLAYERS.map(
      (player) =>
        `| ${PLAYERS[player].title} | ${MATRIX_SCENARIOS.map((name) => {
          const found = results.find((x) => x.player === player && x.result.scenario === name);
          return found === undefined ? 'not run' : cell(found.result);
        }).join(' | ')} |`,
    ),
  ].join('\n');
}

describe.each(MATRIX_PLAYERS)('end to end with %s (default config and settings)', (player) => {
  it.each(MATRIX_SCENARIOS)(
    '%s: no freeze above 0.25 s, no content skipped, no fatal error, the fault handled in budget',
    async (name) => {
      const result = await runScenario(env, name, { players: [player] });
      results.push({ player, result });
      process.stdout.write(`${formatResult(result)}\n`);
      expect(problemsOf(result)).toEqual([]);
    },
  );
});
