/**
 * The one owner of configuration names: every setting's key (in the deploy settings file and the
 * local config file), Lambda environment variable, type, default and meaning. `infra/` reads the
 * deploy settings file through it, the handlers read their environment through it, the local
 * runtime reads its config file through it; the README's configuration table documents the same
 * list.
 */
import { ConfigInvalidError } from './hls/errors';

type Kind = 'string' | 'number' | 'boolean' | 'string-list';
type ValueOf<K extends Kind> = K extends 'number'
  ? number
  : K extends 'boolean'
    ? boolean
    : K extends 'string-list'
      ? string[]
      : string;

interface SettingSpec<K extends Kind> {
  readonly kind: K;
  /** Lambda environment variable, for settings the handlers read; undefined for infra-only ones. */
  readonly env?: string;
  readonly default: ValueOf<K> | undefined;
  readonly meaning: string;
  /** Extra check; returns a problem or undefined. */
  readonly check?: (value: ValueOf<K>) => string | undefined;
}

/** One setting; the generic ties its check to its kind. */
function setting<K extends Kind>(spec: SettingSpec<K> & { kind: K }): SettingSpec<K> {
  return spec;
}

const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const positive = (v: number) => (v > 0 ? undefined : 'must be above 0');
const wholeAtLeast = (min: number) => (v: number) =>
  Number.isInteger(v) && v >= min ? undefined : `must be a whole number >= ${min}`;
const oneOf =
  (...allowed: string[]) =>
  (v: string) =>
    allowed.includes(v) ? undefined : `must be one of ${allowed.join(', ')}`;
const folderName = (v: string[]) =>
  v.length === 2 && v[0] !== v[1] && v.every((e) => /^[A-Za-z0-9._-]+$/.test(e))
    ? undefined
    : 'must be two different folder names of letters, digits, ".", "-", "_"';

/** Every setting, by its context key. */
export const SETTINGS = {
  encoders: setting({
    kind: 'string-list',
    env: 'HLS_FAILOVER_ENCODERS',
    default: ['primary', 'failover'],
    meaning:
      'The two encoder folder names (also the PATHWAY-IDs); the first is home (preferred when healthy).',
    check: folderName,
  }),
  statePrefix: setting({
    kind: 'string',
    env: 'HLS_FAILOVER_STATE_PREFIX',
    default: '_hls-failover/',
    meaning:
      'Key prefix viewers are denied (CloudFront and the local origin); the workflow stages spliced playlists under it. The workflow keeps its state in the state table, not in the bucket.',
    check: (v: string) =>
      /^[A-Za-z0-9._-]+\/$/.test(v) ? undefined : 'must be one folder name ending in "/"',
  }),
  stallAfterTargetDurations: setting({
    kind: 'number',
    env: 'HLS_FAILOVER_STALL_AFTER_TD',
    default: 1.5,
    meaning: 'A playlist older than this many target durations is stalled (rfc8216bis §6.2.1).',
    check: positive,
  }),
  maxLagSegments: setting({
    kind: 'number',
    env: 'HLS_FAILOVER_MAX_LAG_SEGMENTS',
    default: 2,
    meaning: 'An encoder this many segments behind the other is stalled.',
    check: wholeAtLeast(1),
  }),
  lagGraceTargetDurations: setting({
    kind: 'number',
    env: 'HLS_FAILOVER_LAG_GRACE_TD',
    default: 0.3,
    meaning:
      'An encoder one segment behind the other for this many target durations is stalled (output-locked encoders write each segment within milliseconds of each other).',
    check: positive,
  }),
  recoverAfterUpdates: setting({
    kind: 'number',
    env: 'HLS_FAILOVER_RECOVER_AFTER_UPDATES',
    default: 3,
    meaning:
      'Fresh updates in a row (a new segment on every rendition) before a stalled encoder is healthy again (hysteresis).',
    check: wholeAtLeast(1),
  }),
  failback: setting({
    kind: 'string',
    env: 'HLS_FAILOVER_FAILBACK',
    default: 'auto',
    meaning: 'After the home encoder recovers: move back to it (auto) or stay (manual).',
    check: oneOf('auto', 'manual'),
  }),
  withdrawal: setting({
    kind: 'boolean',
    env: 'HLS_FAILOVER_WITHDRAWAL',
    default: true,
    meaning:
      "Withdraw a stalled encoder's media playlists (spliced, see `splicing`, or deleted: 404, so every player fails over); never the last healthy encoder's.",
  }),
  splicing: setting({
    kind: 'boolean',
    env: 'HLS_FAILOVER_SPLICING',
    default: true,
    meaning:
      'With withdrawal on: keep a stalled encoder\'s media playlists live with the healthy encoder\'s segments (a splice, when the encoders are output-locked: the newer segments copied into its folder, no segment URI ever changes) instead of deleting them, until its own playlists hold what players play. Deleted when not locked (README, "Splicing").',
  }),
  publishing: setting({
    kind: 'string',
    env: 'HLS_FAILOVER_PUBLISHING',
    default: 'direct',
    meaning:
      'What viewers read. `direct`: each encoder\'s own media playlists, with steering and withdrawal. `published`: only the media playlists the workflow writes under `<channel>/<publishedFolder>/` from validated versions (an invalid playlist or a one-sided EXT-X-ENDLIST never reaches a viewer); steering, withdrawal and splicing are then off (README, "Two modes").',
    check: oneOf('direct', 'published'),
  }),
  publishedFolder: setting({
    kind: 'string',
    env: 'HLS_FAILOVER_PUBLISHED_FOLDER',
    default: 'live',
    meaning:
      'With `publishing: published`: the folder, next to the encoder folders, that holds the published media playlists (`<channel>/live/720p.m3u8`). Not an encoder folder name.',
    check: (v: string) =>
      /^[A-Za-z0-9._-]+$/.test(v) && v !== '.' && v !== '..'
        ? undefined
        : 'must be one folder name of letters, digits, ".", "-", "_"',
  }),
  steering: setting({
    kind: 'boolean',
    env: 'HLS_FAILOVER_STEERING',
    default: true,
    meaning: 'Write EXT-X-CONTENT-STEERING, PATHWAY-IDs and steering.json.',
  }),
  steeringTtlSeconds: setting({
    kind: 'number',
    env: 'HLS_FAILOVER_STEERING_TTL',
    default: 2,
    meaning: 'TTL of steering.json; also its Cache-Control max-age.',
    check: wholeAtLeast(1),
  }),
  playlistMaxAgeSeconds: setting({
    kind: 'number',
    env: 'HLS_FAILOVER_PLAYLIST_MAX_AGE',
    default: 1,
    meaning: 'Cache-Control max-age of index.m3u8.',
    check: wholeAtLeast(0),
  }),
  maxPlaylistChars: setting({
    kind: 'number',
    env: 'HLS_FAILOVER_MAX_PLAYLIST_CHARS',
    default: 5_000_000,
    meaning: 'Largest playlist accepted, in characters.',
    check: wholeAtLeast(1),
  }),
  allowedHosts: setting({
    kind: 'string-list',
    env: 'HLS_FAILOVER_ALLOWED_HOSTS',
    default: [],
    meaning: 'Hosts that absolute URIs in encoder masters may point to.',
  }),
  lenientLadder: setting({
    kind: 'boolean',
    env: 'HLS_FAILOVER_LENIENT_LADDER',
    default: false,
    meaning: 'Merge encoders whose ladders differ (with a warning) instead of failing MergeIndex.',
  }),
  metricsNamespace: setting({
    kind: 'string',
    env: 'HLS_FAILOVER_METRICS_NAMESPACE',
    default: 'HlsFailover',
    meaning: 'CloudWatch namespace of the health metrics.',
  }),
  bucketName: setting({
    kind: 'string',
    default: undefined,
    meaning: 'Use this existing bucket (EventBridge notifications must be on) instead of creating one.',
  }),
  noncurrentVersionDays: setting({
    kind: 'number',
    default: 7,
    meaning: 'Days before noncurrent object versions (withdrawn playlists, old indexes) expire.',
    check: wholeAtLeast(1),
  }),
  segmentExpirationDays: setting({
    kind: 'number',
    default: 3,
    meaning:
      'Days after which media segments (objects over segmentMinBytes) expire; a live playlist is rewritten every few seconds and never gets this old. 0: segments never expire.',
    check: wholeAtLeast(0),
  }),
  noncurrentSegmentDays: setting({
    kind: 'number',
    default: 1,
    meaning:
      'Days before noncurrent versions of media segments (deleted by an encoder, or expired) are removed for good.',
    check: wholeAtLeast(1),
  }),
  segmentMinBytes: setting({
    kind: 'number',
    default: 32768,
    meaning:
      'Objects over this many bytes count as media segments for the two rules above; smaller ones (masters, init segments, index.m3u8, steering.json) never expire by age.',
    check: wholeAtLeast(0),
  }),
  watchdogRateMinutes: setting({
    kind: 'number',
    default: 1,
    meaning:
      'How often the watchdog checks every channel; EventBridge gives up on an event after two of these periods (then the DLQ).',
    check: wholeAtLeast(1),
  }),
  alertEmails: setting({
    kind: 'string-list',
    default: [],
    meaning: 'E-mail addresses subscribed to the alert topic.',
    check: (v: string[]) =>
      v.every((e) => /^[^@\s]+@[^@\s]+$/.test(e)) ? undefined : 'must be e-mail addresses',
  }),
  channels: setting({
    kind: 'string-list',
    default: [],
    meaning:
      'Channels that get their own dashboard widgets (every channel is handled and alerted on); no path segment of a channel is an encoder folder name.',
  }),
  logLevel: setting({
    kind: 'string',
    default: 'ERROR',
    meaning:
      "State machine log level. ERROR logs each failed execution's error and cause and nothing for a routine one; the audit records are in the PublishHealthMetrics log either way. ALL also logs every state's input and output (about 50 KB per execution).",
    check: oneOf('ALL', 'ERROR', 'FATAL', 'OFF'),
  }),
  logExecutionData: setting({
    kind: 'boolean',
    default: true,
    meaning: 'Include execution input and output in the events the state machine logs.',
  }),
  tracing: setting({
    kind: 'boolean',
    default: false,
    meaning: 'X-Ray tracing of the state machine and every Lambda (billed per trace).',
  }),
  logRetentionDays: setting({
    kind: 'number',
    default: 365,
    meaning: 'Retention of the state machine and Lambda logs, in days.',
    check: (v: number) =>
      RETENTION_DAYS.includes(v)
        ? undefined
        : `must be one of CloudWatch's retention periods: ${RETENTION_DAYS.join(', ')}`,
  }),
  stackName: setting({
    kind: 'string',
    default: 'hls-failover',
    meaning: 'CloudFormation stack name (infra only).',
    check: (v: string) =>
      /^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(v)
        ? undefined
        : 'must start with a letter and hold only letters, digits and "-" (128 at most)',
  }),
  domainName: setting({
    kind: 'string',
    default: '',
    meaning:
      'Custom domain of the CloudFront distribution, set together with certificateArn (infra only); empty: the default *.cloudfront.net domain.',
    check: (v: string) =>
      /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(v)
        ? undefined
        : 'must be a lower-case DNS name such as live.example.com',
  }),
  certificateArn: setting({
    kind: 'string',
    default: '',
    meaning:
      'ACM certificate in us-east-1 covering domainName (infra only); with it viewers need TLSv1.2 (TLSv1.2_2021 policy).',
    check: (v: string) =>
      /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(v)
        ? undefined
        : 'must be the ARN of an ACM certificate in us-east-1 (CloudFront uses certificates from there only)',
  }),
  segmentCacheSeconds: setting({
    kind: 'number',
    default: 86_400,
    meaning: 'CloudFront cache lifetime of media segments, which never change once written (infra only).',
    check: wholeAtLeast(1),
  }),
};

export type SettingName = keyof typeof SETTINGS;
type KindOf<N extends SettingName> = (typeof SETTINGS)[N] extends SettingSpec<infer K> ? K : never;
/** Settings with defaults applied; only `bucketName` may be absent. */
export type Settings = { readonly [N in SettingName]: ValueOf<KindOf<N>> } & {
  readonly bucketName: string | undefined;
};

/**
 * Reads settings from raw values (a settings file, or environment strings), applying
 * defaults; throws {@link ConfigInvalidError} listing every problem at once.
 */
export function parseSettings(raw: Readonly<Record<string, unknown>>, source = 'setting'): Settings {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, SettingSpec<Kind>][]) {
    const given = raw[name];
    if (given === undefined || given === null || given === '') {
      out[name] = spec.default;
      continue;
    }
    const value = coerce(spec.kind, given);
    if (value === undefined) {
      problems.push(`${source} "${name}" must be ${describe(spec.kind)} (got ${JSON.stringify(given)})`);
      continue;
    }
    const problem = (spec.check as ((v: unknown) => string | undefined) | undefined)?.(value);
    if (problem !== undefined) problems.push(`${source} "${name}" ${problem} (got ${JSON.stringify(given)})`);
    out[name] = value;
  }
  const unknown = Object.keys(raw).filter((k) => !(k in SETTINGS));
  for (const k of unknown)
    problems.push(
      `${source} "${k}" is not a setting of hls-failover (known: ${Object.keys(SETTINGS).join(', ')})`,
    );
  if (out.publishing === 'published') {
    if ((out.encoders as string[] | undefined)?.includes(out.publishedFolder as string))
      problems.push(
        `${source} "publishedFolder" must not be an encoder folder name (got ${JSON.stringify(out.publishedFolder)})`,
      );
    if (`${out.publishedFolder}/` === out.statePrefix)
      problems.push(
        `${source} "publishedFolder" must not be the folder of "statePrefix", which viewers are denied (got ${JSON.stringify(out.publishedFolder)})`,
      );
    // Viewers read only the published playlists: nothing to steer between, nothing to withdraw.
    for (const name of ['withdrawal', 'splicing', 'steering'] as const) {
      if (out[name] === true && raw[name] !== undefined && raw[name] !== null && raw[name] !== '')
        problems.push(
          `${source} "${name}" is not used with "publishing" = "published" (viewers read only the published playlists); remove it or set it to false`,
        );
      out[name] = false;
    }
  }
  if (problems.length > 0) throw new ConfigInvalidError(problems);
  return out as Settings;
}

/**
 * The folder names no channel may have as a path segment: the encoders', and in published mode the
 * published folder (functions/keys.ts, `channelNameProblem`).
 */
export function reservedFolders(settings: Settings): string[] {
  return settings.publishing === 'published'
    ? [...settings.encoders, settings.publishedFolder]
    : [...settings.encoders];
}

/** The published folder in published mode, else undefined. */
export function publishedFolderOf(settings: Settings): string | undefined {
  return settings.publishing === 'published' ? settings.publishedFolder : undefined;
}

/**
 * The name of the table of the workflow's records (functions/record-store.ts): not a setting, the
 * stack passes its own table to every function.
 */
export const STATE_TABLE_ENV = 'HLS_FAILOVER_STATE_TABLE';

/** The settings the handlers read, as Lambda environment variables. */
export function settingsToEnv(settings: Settings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, SettingSpec<Kind>][]) {
    const value = settings[name];
    if (spec.env === undefined || value === undefined) continue;
    env[spec.env] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return env;
}

/** The handlers' settings from their environment (defaults for what is unset). */
export function settingsFromEnv(env: Readonly<Record<string, string | undefined>>): Settings {
  const raw: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, SettingSpec<Kind>][]) {
    if (spec.env !== undefined && env[spec.env] !== undefined) raw[name] = env[spec.env];
  }
  return parseSettings(raw, 'environment variable for');
}

/** A raw value as a value of `kind` (strings as `-c` or an environment variable gives them); undefined when it is not one. */
export function coerce<K extends Kind>(kind: K, value: unknown): ValueOf<K> | undefined;
export function coerce(kind: Kind, value: unknown): unknown {
  switch (kind) {
    case 'string':
      return typeof value === 'string' ? value : undefined;
    case 'number': {
      const n =
        typeof value === 'number'
          ? value
          : typeof value === 'string' && value.trim() !== ''
            ? Number(value)
            : Number.NaN;
      return Number.isFinite(n) ? n : undefined;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      return value === 'true' ? true : value === 'false' ? false : undefined;
    case 'string-list':
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
      return typeof value === 'string'
        ? value
            .split(',')
            .map((v) => v.trim())
            .filter((v) => v !== '')
        : undefined;
  }
}

function describe(kind: Kind): string {
  return {
    string: 'a string',
    number: 'a number',
    boolean: 'true or false',
    'string-list': 'a list of strings (or comma-separated)',
  }[kind];
}
