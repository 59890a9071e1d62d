/**
 * Violations: what a validator reports. Every rule has a stable id (documented in {@link RULES}),
 * a severity, the 1-based line it was found on (when it belongs to a line) and a message that
 * says what to fix.
 */

/**
 * `error`: the playlist is not valid HLS. `warning`: valid, but worth fixing. `policy`: valid HLS
 * that breaks the hosting policy (where URIs may point; configurable with `allowedHosts`): kept
 * apart from validity, and still refused by the workflow and the merge.
 */
export type Severity = 'error' | 'warning' | 'policy';

export interface Violation {
  readonly rule: RuleId;
  readonly severity: Severity;
  /** 1-based line number in the playlist text, when the violation belongs to one line. */
  readonly line?: number;
  readonly message: string;
}

/** Every rule the validators apply: id → where the rule comes from. */
export const RULES = {
  'playlist-empty': 'RFC 8216 §4.3.1.1: a playlist starts with #EXTM3U',
  'playlist-too-large': 'hls-failover: configurable size limit (maxPlaylistChars)',
  'playlist-not-text': 'RFC 8216 §4: playlists are UTF-8 text without NUL or control characters',
  'extm3u-first': 'RFC 8216 §4.3.1.1: the EXTM3U tag MUST be the first line',
  'bom-present': 'RFC 8216 §4: playlists MUST NOT contain a byte order mark (tolerated, warned)',
  'tag-lowercase': 'RFC 8216 §4.1: tags are case-sensitive; a lowercase "#ext" line is a comment',
  'tag-malformed': 'RFC 8216 §4.1: a tag is #EXT<NAME>[:<value>]; nothing between the name and the colon',
  'attribute-list-invalid':
    'RFC 8216 §4.2: attribute-list syntax (NAME of [A-Z0-9-], quoted-strings closed and without " CR LF)',
  'attribute-duplicate':
    'RFC 8216 §4.2: an AttributeName MUST NOT appear more than once in an attribute-list',
  'attribute-value-invalid': 'RFC 8216 §4.2: a decimal-integer is 0 to 2^64−1 (BANDWIDTH, AVERAGE-BANDWIDTH)',
  'version-invalid': 'RFC 8216 §4.3.1.2: EXT-X-VERSION is a decimal-integer',
  'variable-undefined':
    'rfc8216bis §4.3: a variable reference {$name} with no EXT-X-DEFINE of that name is an error',
  'define-invalid':
    'rfc8216bis §4.4.2.3: EXT-X-DEFINE has NAME and VALUE (or IMPORT, QUERYPARAM); a name is defined once',
  'violations-truncated':
    'hls-failover: at most 100 errors and 100 warnings are listed; the rest are counted',
  'tag-unknown': 'RFC 8216 §6.3.1: clients ignore unrecognized tags (preserved, warned)',
  'mixed-playlist': 'RFC 8216 §4.3.4/§4.3.3: a playlist is either a master or a media playlist',
  'tag-duplicate': 'RFC 8216 §4.3.3: media playlist tags appear at most once',
  'parser-strict': 'RFC 8216 (checked by hls-parser strict mode)',
  'targetduration-missing': 'RFC 8216 §4.3.3.1: EXT-X-TARGETDURATION is REQUIRED',
  'targetduration-invalid': 'RFC 8216 §4.3.3.1: EXT-X-TARGETDURATION is a decimal-integer',
  'extinf-invalid': 'RFC 8216 §4.3.2.1: EXTINF:<duration>,[<title>] with a decimal duration',
  'extinf-exceeds-targetduration':
    'RFC 8216 §4.3.3.1: each EXTINF duration, rounded to the nearest integer, MUST be <= the target duration',
  'segment-without-extinf': 'RFC 8216 §4.3.2.1: the EXTINF tag is REQUIRED for each media segment',
  'extinf-without-uri': 'RFC 8216 §4.3.2: segment tags apply to the next URI line; none follows',
  'media-sequence-invalid': 'RFC 8216 §4.3.3.2: EXT-X-MEDIA-SEQUENCE is a decimal-integer',
  'discontinuity-sequence-invalid': 'RFC 8216 §4.3.3.3: EXT-X-DISCONTINUITY-SEQUENCE is a decimal-integer',
  'media-sequence-late': 'RFC 8216 §4.3.3.2: EXT-X-MEDIA-SEQUENCE MUST appear before the first media segment',
  'content-after-endlist': 'RFC 8216 §4.3.3.4: no media segment follows EXT-X-ENDLIST',
  'live-targetduration-changed': 'rfc8216bis §6.2.1: the server MUST NOT change the target duration',
  'live-media-sequence-decreased': 'rfc8216bis §6.2.2: the media sequence number MUST NOT decrease',
  'live-media-sequence-mismatch':
    'rfc8216bis §6.2.2: the media sequence number advances by the number of segments removed from the head',
  'live-segment-rewritten': 'rfc8216bis §6.2.1: a published media segment is never changed',
  'live-segment-removed': 'rfc8216bis §6.2.1: segments are removed only from the head of the playlist',
  'live-sequence-gap': 'rfc8216bis §6.2.2: updates between the two versions were not seen (warning)',
  'live-discontinuity-sequence':
    'rfc8216bis §6.2.2: EXT-X-DISCONTINUITY-SEQUENCE grows by the discontinuities removed from the head',
  'live-sequence-unsafe':
    'RFC 8216 §4.2: sequence numbers up to 2^64−1 are valid; above 2^53−1 the live-update rules are not checked (warning)',
  'live-after-endlist': 'rfc8216bis §6.2.1: after EXT-X-ENDLIST the playlist never changes',
  'live-event-segment-removed': 'RFC 8216 §4.3.3.5: an EVENT playlist never removes segments',
  'live-vod-changed':
    'RFC 8216 §4.3.3.5: "If the EXT-X-PLAYLIST-TYPE is VOD, the Media Playlist cannot change"',
  'live-playlist-type-changed':
    'RFC 8216 §6.2.1: the server MUST NOT change the Media Playlist file except to append, remove from the head, increment the sequences or add EXT-X-ENDLIST',
  'live-version-changed':
    'RFC 8216 §6.2.1: the server MUST NOT change the Media Playlist file except to append, remove from the head, increment the sequences or add EXT-X-ENDLIST',
  'live-playlist-too-short':
    'RFC 8216 §6.2.2: the server MUST NOT remove a Media Segment from a Playlist without EXT-X-ENDLIST if that leaves less than three times the Target Duration',
  'live-key-changed':
    'RFC 8216 §6.2.1 and §6.2.3: a published segment keeps its tags; an EXT-X-KEY that applies to a segment in the Playlist MUST NOT be removed',
  'live-map-changed': 'RFC 8216 §6.2.1: a published segment keeps its tags (EXT-X-MAP in effect)',
  'live-program-date-time-changed':
    'RFC 8216 §6.2.1: a published segment keeps its tags; no EXT-X-PROGRAM-DATE-TIME may make the date mapping ambiguous',
  'segment-uri-reused':
    'mediastreamvalidator-style warning (not an RFC MUST): every segment has its own URI, except byte ranges',
  'skip-invalid': 'rfc8216bis §4.4.5.2: EXT-X-SKIP has a REQUIRED decimal-integer SKIPPED-SEGMENTS',
  'extinf-comma-missing':
    'RFC 8216 §4.3.2.1: the format is #EXTINF:<duration>,[<title>] (the comma is not optional)',
  'playlist-type-invalid':
    'RFC 8216 §4.3.3.5: #EXT-X-PLAYLIST-TYPE:<type-enum> where type-enum is EVENT or VOD',
  'media-default-autoselect':
    'RFC 8216 §4.3.4.1: "If the AUTOSELECT attribute is present, its value MUST be YES if the value of the DEFAULT attribute is YES"',
  'stream-inf-bandwidth-missing': 'RFC 8216 §4.3.4.2: BANDWIDTH is REQUIRED on EXT-X-STREAM-INF',
  'stream-inf-without-uri': 'RFC 8216 §4.3.4.2: EXT-X-STREAM-INF MUST be followed by a URI line',
  'uri-orphan': 'RFC 8216 §4.3.4.2: in a master playlist a URI line follows EXT-X-STREAM-INF',
  'iframe-uri-missing': 'RFC 8216 §4.3.4.3: URI is REQUIRED on EXT-X-I-FRAME-STREAM-INF',
  'media-attribute-missing': 'RFC 8216 §4.3.4.1: EXT-X-MEDIA needs TYPE, GROUP-ID and NAME',
  'media-uri-rules':
    'RFC 8216 §4.3.4.1: SUBTITLES need a URI; CLOSED-CAPTIONS have none and need INSTREAM-ID',
  'group-not-found': 'RFC 8216 §4.3.4.2: AUDIO/VIDEO/SUBTITLES/CLOSED-CAPTIONS name an EXT-X-MEDIA group',
  'variant-duplicate': 'hls-failover: the same variant (URI and attributes) is listed twice',
  'uri-escapes-folder': "hosting policy: URIs stay inside the encoder's folder (no '..' above it)",
  'uri-absolute': 'hosting policy: absolute or root-relative URIs only to allowed hosts (allowedHosts)',
  'uri-scheme': 'hosting policy: only http(s) URIs or relative paths',
} as const;

export type RuleId = keyof typeof RULES;

/** Longest message kept: messages quote the input, and a line may be a megabyte long. */
const MAX_MESSAGE_CHARS = 400;

function violation(severity: Severity, rule: RuleId, message: string, line?: number): Violation {
  const text = message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…` : message;
  return line === undefined ? { rule, severity, message: text } : { rule, severity, line, message: text };
}

/** Builds an error-severity violation (not valid HLS). */
export function error(rule: RuleId, message: string, line?: number): Violation {
  return violation('error', rule, message, line);
}

/** Builds a warning-severity violation. */
export function warning(rule: RuleId, message: string, line?: number): Violation {
  return violation('warning', rule, message, line);
}

/** Builds a hosting-policy finding (valid HLS, but a URI the operator has not allowed). */
export function policy(rule: RuleId, message: string, line?: number): Violation {
  return violation('policy', rule, message, line);
}

/** At most this many violations of each severity are listed; the rest are counted. */
export const MAX_LISTED_VIOLATIONS = 100;

/** What a validator returns. */
export interface ValidationResult<S> {
  /** True when the playlist is valid HLS: no error (warnings and policy findings allowed). */
  readonly valid: boolean;
  /** RFC violations (at most {@link MAX_LISTED_VIOLATIONS}, then a count). */
  readonly errors: readonly Violation[];
  readonly warnings: readonly Violation[];
  /** Hosting-policy findings (URIs outside the encoder folder or to hosts not allowed). */
  readonly policy: readonly Violation[];
  /** What was understood of the playlist; absent when it could not be read at all. */
  readonly snapshot?: S;
}

/**
 * Sorts violations by severity into a result, each list capped at {@link MAX_LISTED_VIOLATIONS}
 * with a `violations-truncated` entry counting the rest: the result travels in the workflow's
 * state, which Step Functions caps at 256 KiB.
 */
export function toValidationResult<S>(violations: readonly Violation[], snapshot?: S): ValidationResult<S> {
  const errors = capped(
    violations.filter((v) => v.severity === 'error'),
    'error',
  );
  const warnings = capped(
    violations.filter((v) => v.severity === 'warning'),
    'warning',
  );
  const found = capped(
    violations.filter((v) => v.severity === 'policy'),
    'policy',
  );
  const base = { valid: errors.length === 0, errors, warnings, policy: found };
  return snapshot === undefined ? base : { ...base, snapshot };
}

/** True when the workflow may take the playlist: valid HLS within the hosting policy. */
export function isAcceptable(result: ValidationResult<unknown>): boolean {
  return result.valid && result.policy.length === 0;
}

/** The first {@link MAX_LISTED_VIOLATIONS} violations, then one entry counting the rest. */
export function capped(violations: readonly Violation[], severity: Severity): Violation[] {
  if (violations.length <= MAX_LISTED_VIOLATIONS) return [...violations];
  const rest = violations.length - MAX_LISTED_VIOLATIONS;
  return [
    ...violations.slice(0, MAX_LISTED_VIOLATIONS),
    violation(
      severity,
      'violations-truncated',
      `… and ${rest} more ${severity} finding${rest === 1 ? '' : 's'} not listed`,
    ),
  ];
}
