/**
 * Typed, validated CDK context: every setting of `functions/config.ts` read from context, plus the
 * checks that relate two settings or only matter to the infrastructure. One bad deploy command
 * reports every problem at once.
 */
import type { IConstruct } from 'constructs';
import { parseSettings, SETTINGS, type Settings } from '../functions/config';
import { ConfigInvalidError } from '../functions/hls/errors';

/**
 * The largest watchdog rate: the watchdog-silent alarm watches three runs, and one alarm may look
 * at one day at most (CloudWatch limits period × evaluation periods to 86,400 s).
 */
export const MAX_WATCHDOG_RATE_MINUTES = 480;

/**
 * Problems that no single setting's check can see. Works on raw context values as well as on parsed
 * {@link Settings}, so it can run even when some values do not parse.
 */
export function relatedSettingProblems(
  values: Readonly<Record<string, unknown>>,
  source = 'context',
): string[] {
  const problems: string[] = [];
  const given = (v: unknown) => v !== undefined && v !== null && v !== '';
  if (given(values.domainName) !== given(values.certificateArn)) {
    problems.push(
      `${source} "domainName" and "certificateArn" must be set together (a custom CloudFront domain needs its certificate)`,
    );
  }
  const rate = Number(values.watchdogRateMinutes);
  if (given(values.watchdogRateMinutes) && Number.isFinite(rate) && rate > MAX_WATCHDOG_RATE_MINUTES) {
    problems.push(
      `${source} "watchdogRateMinutes" must be at most ${MAX_WATCHDOG_RATE_MINUTES}: the watchdog-silent alarm watches three runs within one day (got ${JSON.stringify(values.watchdogRateMinutes)})`,
    );
  }
  return problems;
}

/**
 * Reads every setting from the CDK context of `scope` (`cdk.json` or `-c name=value`), applies the
 * defaults and validates; throws {@link ConfigInvalidError} listing every problem.
 *
 * @example
 * const app = new App();
 * const settings = settingsFromContext(app); // npx cdk deploy -c alertEmails=oncall@example.com
 */
export function settingsFromContext(scope: IConstruct): Settings {
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(SETTINGS)) {
    const value: unknown = scope.node.tryGetContext(name);
    if (value !== undefined) raw[name] = value;
  }
  const problems: string[] = [];
  let settings: Settings | undefined;
  try {
    settings = parseSettings(raw, 'context');
  } catch (error) {
    if (!(error instanceof ConfigInvalidError)) throw error;
    problems.push(...error.problems);
  }
  problems.push(...relatedSettingProblems(raw));
  if (problems.length > 0 || settings === undefined) throw new ConfigInvalidError(problems);
  return settings;
}
