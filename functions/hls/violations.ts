/**
 * Violations: what a validator reports. Every rule has a stable id (documented in {@link RULES}),
 * a severity, the 1-based line it was found on (when it belongs to a line) and a message that
 * says what to fix.
 */

export type Severity = 'error' | 'warning';

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
  'uri-escapes-folder': "hls-failover: URIs stay inside the encoder's folder (no '..' above it)",
  'uri-absolute': 'hls-failover: absolute URIs only to allowed hosts (allowedHosts)',
  'uri-scheme': 'hls-failover: only http(s) URIs or relative paths',
} as const;

export type RuleId = keyof typeof RULES;

/** Builds an error-severity violation. */
export function error(rule: RuleId, message: string, line?: number): Violation {
  return line === undefined
    ? { rule, severity: 'error', message }
    : { rule, severity: 'error', line, message };
}

/** Builds a warning-severity violation. */
export function warning(rule: RuleId, message: string, line?: number): Violation {
  return line === undefined
    ? { rule, severity: 'warning', message }
    : { rule, severity: 'warning', line, message };
}
