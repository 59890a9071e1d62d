/** The pure HLS domain of hls-failover: no AWS SDK, no filesystem. */
export { classifyLines, classifyPlaylist, type PlaylistKind } from './classify';
export { ConfigInvalidError, HlsFailoverError, LadderMismatchError, PlaylistInvalidError } from './errors';
export * from './freshness';
export { lastSequenceOf } from './live-update';
export * from './merge';
export { parseWithHlsParser } from './parser';
export * from './publish';
export { DEFAULT_MAX_PLAYLIST_CHARS, type ScanLimits } from './scan';
export * from './splice';
export * from './steering';
export { checkUri, type UriPolicy } from './uris';
export * from './validate-master';
export * from './validate-media';
export * from './violations';
