/**
 * The deploy settings: one file in the repository (JSON with comments, `deploy/settings.jsonc` unless
 * `-c settingsFile=<path>` names another), read and validated here and nowhere else. A setting given
 * as CDK context (`-c name=value`, cdk.json) is refused, so what a deploy configures is always what
 * the reviewed file says, and a later deploy cannot drop a setting by leaving out a flag. One bad
 * file reports every problem at once.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { IConstruct } from 'constructs';
import { getNodeValue, type ParseError, parseTree, printParseErrorCode } from 'jsonc-parser';
import { coerce, parseSettings, SETTINGS, type Settings } from '../functions/config';
import { ConfigInvalidError } from '../functions/hls/errors';
import { channelNameProblem } from '../functions/keys';

/** The settings file a deploy reads unless `-c settingsFile=<path>` names another (repo-relative). */
export const DEFAULT_SETTINGS_FILE = 'deploy/settings.jsonc';

/** The only context key a deploy takes: which settings file to read (one file per stack). */
export const SETTINGS_FILE_CONTEXT = 'settingsFile';

/**
 * The largest watchdog rate: the watchdog-silent alarm watches three runs, and one alarm may look
 * at one day at most (CloudWatch limits period × evaluation periods to 86,400 s).
 */
export const MAX_WATCHDOG_RATE_MINUTES = 480;

/**
 * Problems that no single setting's check can see. Works on raw values as well as on parsed
 * {@link Settings}, so it can run even when some values do not parse.
 */
export function relatedSettingProblems(
  values: Readonly<Record<string, unknown>>,
  source = 'setting',
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
  const encoders = coerce('string-list', values.encoders) ?? SETTINGS.encoders.default ?? [];
  const published = coerce('string', values.publishing) === 'published';
  const folders = published
    ? [...encoders, coerce('string', values.publishedFolder) ?? SETTINGS.publishedFolder.default ?? 'live']
    : encoders;
  for (const channel of coerce('string-list', values.channels) ?? []) {
    const problem = channelNameProblem(channel, folders);
    if (problem !== undefined) problems.push(`${source} "channels": channel "${channel}" ${problem}`);
  }
  return problems;
}

/** What a settings file holds: its values when it parses, and every problem found. */
export interface SettingsFileContent {
  readonly values: Record<string, unknown> | undefined;
  readonly problems: string[];
}

/**
 * Parses the text of a settings file: one JSON object, comments and trailing commas allowed. Syntax
 * errors come with line and column; a setting given twice is a problem (the later one would
 * silently win in review).
 */
export function parseSettingsText(text: string, file: string): SettingsFileContent {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true });
  const problems = errors.map(
    (e) => `${file}:${position(text, e.offset)}: ${describeSyntaxError(printParseErrorCode(e.error))}`,
  );
  if (root?.type !== 'object') {
    if (problems.length === 0) problems.push(`${file} must hold one JSON object of settings`);
    return { values: undefined, problems };
  }
  const values: Record<string, unknown> = {};
  for (const property of root.children ?? []) {
    const [keyNode, valueNode] = property.children ?? [];
    if (keyNode === undefined || valueNode === undefined) continue;
    const name = String(keyNode.value);
    if (name in values) {
      problems.push(`${file}:${position(text, keyNode.offset)}: "${name}" is set twice; keep one`);
      continue;
    }
    values[name] = getNodeValue(valueNode);
  }
  return { values, problems };
}

/** Reads a settings file from disk (see {@link parseSettingsText}). */
export function readSettingsFile(path: string, file = path): SettingsFileContent {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    return {
      values: undefined,
      problems: [
        `cannot read the settings file ${file} (${reason}); copy ${DEFAULT_SETTINGS_FILE} and edit it`,
      ],
    };
  }
  return parseSettingsText(text, file);
}

/**
 * Reads the deploy settings of the app `scope` belongs to: the file `-c settingsFile=` names (or
 * {@link DEFAULT_SETTINGS_FILE}), with the defaults applied; throws {@link ConfigInvalidError} listing
 * every problem, including each setting given as context instead of in the file.
 *
 * @param content - the file's values, already read (tests); read from the file when undefined
 * @example
 * const app = new App();
 * const settings = settingsFromFile(app); // npx cdk deploy -c settingsFile=deploy/staging.jsonc
 */
export function settingsFromFile(scope: IConstruct, content?: Readonly<Record<string, unknown>>): Settings {
  const named: unknown = scope.node.tryGetContext(SETTINGS_FILE_CONTEXT);
  const file = typeof named === 'string' && named !== '' ? named : DEFAULT_SETTINGS_FILE;
  const problems: string[] = [];
  for (const name of Object.keys(SETTINGS)) {
    if (scope.node.tryGetContext(name) === undefined) continue;
    problems.push(
      `"${name}" was given as CDK context (-c ${name}=… or cdk.json): deploy settings come from ${file} only, so that a later deploy cannot drop them by leaving out a flag; set "${name}" in ${file} instead`,
    );
  }
  const read =
    content === undefined
      ? readSettingsFile(file === named ? resolve(file) : join(__dirname, '..', file), file)
      : { values: { ...content }, problems: [] };
  return settingsOfContent(read, `${file}:`, problems);
}

/**
 * The settings a file's content holds, with the defaults applied; throws {@link ConfigInvalidError}
 * listing `problems`, the file's own and every problem of its values at once.
 */
export function settingsOfContent(
  read: SettingsFileContent,
  source: string,
  problems: readonly string[] = [],
): Settings {
  const all = [...problems, ...read.problems];
  let settings: Settings | undefined;
  if (read.values !== undefined) {
    try {
      settings = parseSettings(read.values, source);
    } catch (error) {
      if (!(error instanceof ConfigInvalidError)) throw error;
      all.push(...error.problems);
    }
    all.push(...relatedSettingProblems(read.values, source));
  }
  if (all.length > 0 || settings === undefined) throw new ConfigInvalidError(all);
  return settings;
}

/** `line:column` (1-based) of a character offset. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
}

/** jsonc-parser's error codes (`PropertyNameExpected`) in words. */
function describeSyntaxError(code: string): string {
  return `JSON syntax error: ${code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()}`;
}
