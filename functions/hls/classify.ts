import { type PlaylistLine, scanPlaylist } from './scan';
import { MASTER_TAGS, MEDIA_TAGS } from './tags';

export type PlaylistKind = 'master' | 'media' | 'unknown';

/**
 * Classifies a playlist by the tags it carries: master (multivariant) when it has any master
 * tag, media when it has any media tag, unknown when neither (or both: that is
 * a `mixed-playlist` violation for the validators to report).
 *
 * @example classifyPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n') // 'master'
 */
export function classifyPlaylist(text: string): PlaylistKind {
  return classifyLines(scanPlaylist(text).lines);
}

export function classifyLines(lines: readonly PlaylistLine[]): PlaylistKind {
  let master = false;
  let media = false;
  for (const l of lines) {
    if (l.kind !== 'tag') continue;
    if (MASTER_TAGS.has(l.name)) master = true;
    else if (MEDIA_TAGS.has(l.name)) media = true;
    if (master && media) return 'unknown';
  }
  return master ? 'master' : media ? 'media' : 'unknown';
}
