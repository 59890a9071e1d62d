/** Every merged index must be accepted by our validator, hls-parser's strict mode and hls.js. */
import { parseWithHlsParser, validateMasterPlaylist } from '../../functions/hls';
import { type HlsJsManifest, parseWithHlsJs } from './hlsjs';

/** `query`: the index URL's query string, for EXT-X-DEFINE:QUERYPARAM. */
export async function expectAcceptedEverywhere(
  text: string,
  allowedHosts: string[] = [],
  query = '',
): Promise<HlsJsManifest> {
  const ours = validateMasterPlaylist(text, { allowedHosts });
  expect(ours.errors).toEqual([]);
  expect(parseWithHlsParser(text, true)).toMatchObject({ success: true });
  return query === ''
    ? parseWithHlsJs(text)
    : parseWithHlsJs(text, `http://origin.test/ch/index.m3u8?${query}`);
}
