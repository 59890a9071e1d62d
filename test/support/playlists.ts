/** Test helpers that build playlists and read fixtures. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotMediaPlaylist } from '../../functions/hls/validate-media';

export function fixture(name: string): string {
  return readFileSync(join(__dirname, '..', 'unit', 'hls', 'fixtures', name), 'utf8');
}

export interface MediaSpec {
  readonly sequence?: number;
  readonly count?: number;
  readonly targetDuration?: number;
  readonly duration?: number;
  readonly discontinuitySequence?: number;
  /** Media sequence numbers preceded by EXT-X-DISCONTINUITY. */
  readonly discontinuities?: readonly number[];
  readonly endlist?: boolean;
  readonly playlistType?: 'EVENT' | 'VOD';
  readonly uri?: (n: number) => string;
  /** EXT-X-PROGRAM-DATE-TIME of segment n, in epoch ms. */
  readonly dated?: (n: number) => number;
}

/** A live media playlist whose segment n is `seg_<n>.ts`, like an output-locked encoder writes. */
export function mediaPlaylist(spec: MediaSpec = {}): string {
  const { sequence = 100, count = 4, targetDuration = 2, duration = 2, discontinuitySequence } = spec;
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${targetDuration}`,
    `#EXT-X-MEDIA-SEQUENCE:${sequence}`,
  ];
  if (discontinuitySequence !== undefined)
    lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuitySequence}`);
  if (spec.playlistType !== undefined) lines.push(`#EXT-X-PLAYLIST-TYPE:${spec.playlistType}`);
  for (let n = sequence; n < sequence + count; n++) {
    if (spec.discontinuities?.includes(n)) lines.push('#EXT-X-DISCONTINUITY');
    if (spec.dated) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(spec.dated(n)).toISOString()}`);
    lines.push(`#EXTINF:${duration.toFixed(3)},`, spec.uri ? spec.uri(n) : `seg_${n}.ts`);
  }
  if (spec.endlist) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** Media sequence → URI of a media playlist's text. */
export function urisBySequence(text: string): Map<number, string> {
  const s = snapshotMediaPlaylist(text);
  if (s === undefined) throw new Error(`not a media playlist:\n${text}`);
  return new Map(s.segments.map((segment, i) => [s.mediaSequence + i, segment.uri]));
}

/**
 * The rule hls.js (1.5+, `mapFragmentIntersection`) enforces on each reload of one playlist URL:
 * a media sequence number it knows never comes back under another URI ("media sequence mismatch").
 * Returns every break of it across the versions a viewer loads, in order.
 */
export function mismatches(versions: readonly string[]): string[] {
  const found: string[] = [];
  for (let v = 1; v < versions.length; v++) {
    const before = urisBySequence(versions[v - 1] as string);
    for (const [sequence, uri] of urisBySequence(versions[v] as string)) {
      const was = before.get(sequence);
      if (was !== undefined && was !== uri) found.push(`version ${v}: segment ${sequence} ${was} → ${uri}`);
    }
  }
  return found;
}
