/**
 * The one place that calls hls-parser. Its options are process-global; we set them for one
 * synchronous call and restore them, so no caller ever sees or leaks them.
 */
import * as hlsParser from 'hls-parser';
import type { MasterPlaylist, MediaPlaylist } from 'hls-parser/types';

export type ParsedPlaylist = MasterPlaylist | MediaPlaylist;

export type ParseResult =
  | { readonly success: true; readonly playlist: ParsedPlaylist }
  | { readonly success: false; readonly message: string };

/**
 * Parses with hls-parser. `strict` throws on the first spec violation hls-parser knows of; we
 * turn that into a result instead of an exception.
 */
export function parseWithHlsParser(text: string, strict: boolean): ParseResult {
  const saved = hlsParser.getOptions();
  hlsParser.setOptions({ strictMode: strict, silent: true });
  try {
    return { success: true, playlist: hlsParser.parse(text) as ParsedPlaylist };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    return { success: false, message: message.replace(/^Invalid Playlist : /, '') };
  } finally {
    hlsParser.setOptions(saved);
  }
}
