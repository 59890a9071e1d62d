/**
 * Conformance over the shared public corpus (test/fixtures/corpus, copied from shared/corpus/hls;
 * see its SOURCES.md). The corpus does not state validity for these parser fixtures
 * (`expected: unknown`), so every file we reject is listed below with the reason, and a file
 * whose verdict changes fails the test until the list is updated on purpose.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  classifyPlaylist,
  mergeMasters,
  validateMasterPlaylist,
  validateMediaPlaylist,
} from '../../../functions/hls';
import { expectAcceptedEverywhere } from '../../support/accept';

interface CorpusEntry {
  readonly file: string;
  readonly kind: 'master' | 'media' | 'unknown';
  readonly expected: 'valid' | 'invalid' | 'unknown';
}

const root = join(__dirname, '..', '..', 'fixtures', 'corpus');
const corpus = JSON.parse(readFileSync(join(root, 'corpus.json'), 'utf8')) as CorpusEntry[];
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** Files we reject: first error rule, and why that is right. */
const KNOWN_DEVIATIONS: Record<string, readonly [string, string]> = {
  'byteRange.m3u8': [
    'parser-strict',
    'EXT-X-BYTERANGE without offset whose previous segment is another resource (§4.3.2.2)',
  ],
  'dateTime.m3u8': ['extinf-invalid', 'EXTINF without the comma after the duration (§4.3.2.1)'],
  'emptyPlaylistType.m3u8': ['playlist-type-invalid', 'an empty EXT-X-PLAYLIST-TYPE (§4.3.3.5)'],
  'empty.m3u8': ['playlist-empty', 'an empty file is not a playlist'],
  'emptyMediaSequence.m3u8': ['media-sequence-invalid', 'EXT-X-MEDIA-SEQUENCE with no value (§4.3.3.2)'],
  'emptyTargetDuration.m3u8': [
    'targetduration-invalid',
    'EXT-X-TARGETDURATION with no value, in a master (§4.3.3.1)',
  ],
  'extXPlaylistTypeInvalidPlaylist.m3u8': ['playlist-type-invalid', 'EXT-X-PLAYLIST-TYPE:STRING (§4.3.3.5)'],
  'invalidPlaylistType.m3u8': ['playlist-type-invalid', 'EXT-X-PLAYLIST-TYPE:asdRASDfasdR (§4.3.3.5)'],
  'extinf.m3u8': ['extinf-invalid', 'EXTINF durations that are not numbers (§4.3.2.1)'],
  'headerOnly.m3u8': ['targetduration-missing', 'no EXT-X-TARGETDURATION (§4.3.3.1)'],
  'invalidMediaSequence.m3u8': ['media-sequence-invalid', 'EXT-X-MEDIA-SEQUENCE "gobblegobble" (§4.3.3.2)'],
  'invalidTargetDuration.m3u8': ['targetduration-invalid', 'EXT-X-TARGETDURATION "NaN" (§4.3.3.1)'],
  'liveMissingSegmentDuration.m3u8': ['segment-without-extinf', 'segments without EXTINF (§4.3.2.1)'],
  'liveStart30sBefore.m3u8': [
    'extinf-exceeds-targetduration',
    'a 19 s segment with target duration 10 (§4.3.3.1)',
  ],
  'llhls-byte-range.m3u8': [
    'parser-strict',
    'EXT-X-BYTERANGE without offset as the first range of a resource (§4.3.2.2)',
  ],
  'llhls-delta-byte-range.m3u8': ['parser-strict', 'EXT-X-SKIP needs EXT-X-VERSION 9 (§7)'],
  'llhls.m3u8': ['parser-strict', 'CAN-SKIP-UNTIL below six target durations (§4.4.3.8)'],
  'llhlsDelta.m3u8': [
    'attribute-list-invalid',
    'RECENTLY-REMOVED-DATERANGES unquoted with a TAB (§4.2; it is a quoted-string)',
  ],
  'manifestExtTTargetdurationNegative.m3u8': [
    'targetduration-invalid',
    'a negative target duration (§4.3.3.1)',
  ],
  'manifestExtXEndlistEarly.m3u8': ['content-after-endlist', 'segments after EXT-X-ENDLIST (§4.3.3.4)'],
  'manifestNoExtM3u.m3u8': ['extm3u-first', 'no #EXTM3U at all (§4.3.1.1)'],
  'master.m3u8': ['extm3u-first', 'a comment line before #EXTM3U (§4.3.1.1)'],
  'mediaSequence.m3u8': ['parser-strict', 'features need EXT-X-VERSION 3 (§7)'],
  'missingExtinf.m3u8': [
    'extinf-invalid',
    'EXTINF without its comma, then a segment without EXTINF (§4.3.2.1)',
  ],
  'missingMediaSequence.m3u8': ['parser-strict', 'features need EXT-X-VERSION 3 (§7)'],
  'missingSegmentDuration.m3u8': ['segment-without-extinf', 'segments without EXTINF (§4.3.2.1)'],
  'multipleTargetDurations.m3u8': ['segment-without-extinf', 'segments without EXTINF (§4.3.2.1)'],
  'negativeMediaSequence.m3u8': ['media-sequence-invalid', 'a negative media sequence (§4.3.3.2)'],
  'playlistMediaSequenceHigher.m3u8': ['parser-strict', 'features need EXT-X-VERSION 3 (§7)'],
  'start.m3u8': ['extm3u-first', 'no #EXTM3U at all (§4.3.1.1)'],
  'streamInfInvalid.m3u8': [
    'extm3u-first',
    'a comment before #EXTM3U, and a variant without BANDWIDTH (§4.3.4.2)',
  ],
  'versionInvalid.m3u8': ['version-invalid', 'EXT-X-VERSION:NaN (§4.3.1.2)'],
  'twoMediaSequences.m3u8': ['tag-duplicate', 'EXT-X-MEDIA-SEQUENCE twice (§4.3.3)'],
};

const hostsIn = (text: string) => [...text.matchAll(/https?:\/\/([^/:"\s]+)/g)].map((m) => m[1] as string);

function verdict(text: string, kind: CorpusEntry['kind'], allowedHosts: string[] = []) {
  return kind === 'master' ? validateMasterPlaylist(text, { allowedHosts }) : validateMediaPlaylist(text);
}

describe('conformance over the public corpus (videojs/m3u8-parser fixtures)', () => {
  it('holds the whole corpus', () => {
    expect(corpus.length).toBe(60);
  });

  it.each(corpus.map((e) => [e.file, e] as const))(
    '%s: classified as the corpus says, never a crash, known verdict',
    (_name, entry) => {
      const text = read(entry.file);
      expect(classifyPlaylist(text)).toBe(entry.kind);
      const result = verdict(text, entry.kind);
      const base = entry.file.split('/').pop() as string;
      const deviation = KNOWN_DEVIATIONS[base];
      if (entry.expected === 'invalid') expect(result.valid).toBe(false);
      if (deviation === undefined) {
        expect(result.errors).toEqual([]);
      } else {
        expect(result.errors[0]?.rule).toBe(deviation[0]);
      }
    },
  );

  const masters = corpus.filter((e) => e.kind === 'master');
  it.each(masters.map((e) => [e.file, e] as const))(
    '%s: merges into an index that we, hls-parser strict and hls.js accept',
    async (_name, entry) => {
      const text = read(entry.file);
      const allowedHosts = hostsIn(text);
      if (!verdict(text, 'master', allowedHosts).valid) {
        expect(KNOWN_DEVIATIONS[entry.file.split('/').pop() as string]).toBeDefined();
        return;
      }
      const { text: merged } = mergeMasters(text, text, { allowedHosts });
      const parsed = await expectAcceptedEverywhere(merged, allowedHosts);
      expect(parsed.levels.length).toBeGreaterThan(0);
    },
  );
});
