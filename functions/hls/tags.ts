/** Tag vocabularies (RFC 8216 and draft-pantos-hls-rfc8216bis), used to classify and to warn on unknown tags. */

/** Tags that only a master (multivariant) playlist carries. */
export const MASTER_TAGS: ReadonlySet<string> = new Set([
  'EXT-X-MEDIA',
  'EXT-X-STREAM-INF',
  'EXT-X-I-FRAME-STREAM-INF',
  'EXT-X-SESSION-DATA',
  'EXT-X-SESSION-KEY',
  'EXT-X-CONTENT-STEERING',
]);

/** Tags that only a media playlist carries (playlist-level and segment-level). */
export const MEDIA_TAGS: ReadonlySet<string> = new Set([
  'EXTINF',
  'EXT-X-TARGETDURATION',
  'EXT-X-MEDIA-SEQUENCE',
  'EXT-X-DISCONTINUITY-SEQUENCE',
  'EXT-X-ENDLIST',
  'EXT-X-PLAYLIST-TYPE',
  'EXT-X-I-FRAMES-ONLY',
  'EXT-X-PART-INF',
  'EXT-X-SERVER-CONTROL',
  'EXT-X-BYTERANGE',
  'EXT-X-DISCONTINUITY',
  'EXT-X-KEY',
  'EXT-X-MAP',
  'EXT-X-PROGRAM-DATE-TIME',
  'EXT-X-DATERANGE',
  'EXT-X-GAP',
  'EXT-X-BITRATE',
  'EXT-X-PART',
  'EXT-X-SKIP',
  'EXT-X-PRELOAD-HINT',
  'EXT-X-RENDITION-REPORT',
]);

/** Tags either kind may carry. */
export const COMMON_TAGS: ReadonlySet<string> = new Set([
  'EXTM3U',
  'EXT-X-VERSION',
  'EXT-X-INDEPENDENT-SEGMENTS',
  'EXT-X-START',
  'EXT-X-DEFINE',
]);

/** Media playlist tags that may appear at most once (RFC 8216 §4.3.3). */
export const ONCE_PER_MEDIA_PLAYLIST: ReadonlySet<string> = new Set([
  'EXT-X-VERSION',
  'EXT-X-TARGETDURATION',
  'EXT-X-MEDIA-SEQUENCE',
  'EXT-X-DISCONTINUITY-SEQUENCE',
  'EXT-X-ENDLIST',
  'EXT-X-PLAYLIST-TYPE',
  'EXT-X-I-FRAMES-ONLY',
  'EXT-X-PART-INF',
  'EXT-X-SERVER-CONTROL',
]);

export function isKnownTag(name: string): boolean {
  return MASTER_TAGS.has(name) || MEDIA_TAGS.has(name) || COMMON_TAGS.has(name);
}

/** Tags whose value is an attribute-list (RFC 8216 §4.2 syntax applies). */
export const ATTRIBUTE_LIST_TAGS: ReadonlySet<string> = new Set([
  ...MASTER_TAGS, // every master-only tag is an attribute list
  'EXT-X-KEY',
  'EXT-X-MAP',
  'EXT-X-DATERANGE',
  'EXT-X-PART-INF',
  'EXT-X-SERVER-CONTROL',
  'EXT-X-PART',
  'EXT-X-SKIP',
  'EXT-X-PRELOAD-HINT',
  'EXT-X-RENDITION-REPORT',
  'EXT-X-START',
  'EXT-X-DEFINE',
]);

/** Tags whose URI attribute a player requests: the URI policy applies to it. */
export const URI_ATTRIBUTE_TAGS: ReadonlySet<string> = new Set([
  'EXT-X-KEY',
  'EXT-X-MAP',
  'EXT-X-PART',
  'EXT-X-PRELOAD-HINT',
  'EXT-X-RENDITION-REPORT',
  'EXT-X-MEDIA',
  'EXT-X-I-FRAME-STREAM-INF',
  'EXT-X-SESSION-DATA',
  'EXT-X-SESSION-KEY',
]);
