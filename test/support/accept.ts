/** Every merged index must be accepted by our validator, hls-parser's strict mode and hls.js. */
import { parseWithHlsParser, validateMasterPlaylist } from '../../functions/hls';
import { type HlsJsManifest, parseWithHlsJs } from './hlsjs';

export async function expectAcceptedEverywhere(
  text: string,
  allowedHosts: string[] = [],
): Promise<HlsJsManifest> {
  const ours = validateMasterPlaylist(text, { allowedHosts });
  expect(ours.errors).toEqual([]);
  expect(parseWithHlsParser(text, true)).toMatchObject({ success: true });
  return parseWithHlsJs(text);
}
