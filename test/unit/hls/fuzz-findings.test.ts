/**
 * What the fuzz bench found before issue 12, one named test per finding, each on its minimal
 * reproducer in fuzz-findings/ (the `.expected` file beside it says the property).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assessFreshness,
  ConfigInvalidError,
  mergeMasters,
  observeSnapshot,
  snapshotMediaPlaylist,
  validateMasterPlaylist,
  validateMediaPlaylist,
} from '../../../functions/hls';

const finding = (name: string) => readFileSync(join(__dirname, 'fuzz-findings', name), 'utf8');
const jsonBytes = (value: unknown) => JSON.stringify(value).length;

describe('fuzz findings (issue 12), each a named rule', () => {
  it('01: a media sequence past 2^53 (valid up to 2^64−1, RFC 8216 §4.3.3.2) with a previous version returns, with a warning', () => {
    const text = finding('01-hang-media-sequence-past-2p53.m3u8');
    for (const previous of [text, snapshotMediaPlaylist(text)]) {
      const result = validateMediaPlaylist(text, previous);
      expect(result.valid).toBe(true);
      expect(result.warnings.map((w) => w.rule)).toContain('live-sequence-unsafe');
    }
  });

  it('02: freshness with a clock outside the Date range throws ConfigInvalidError, never RangeError', () => {
    const snapshot = snapshotMediaPlaylist(finding('02-freshness-clock-out-of-range.m3u8'));
    if (snapshot === undefined) throw new Error('the reproducer must be readable');
    const renditions = [
      { encoder: 'primary', rendition: 'i.m3u8', playlist: observeSnapshot(snapshot, 9007199254740991) },
    ];
    expect(() => assessFreshness(undefined, { now: 10007199254740992, renditions })).toThrow(
      ConfigInvalidError,
    );
  });

  it('03: a media-only merge whose rendition URI is outside the hosting policy throws ConfigInvalidError instead of writing an index', () => {
    const snapshot = snapshotMediaPlaylist(finding('03-media-only-rendition-uri-absolute.m3u8'));
    const segments = (snapshot?.segments ?? []).map((s) => ({ bytes: 100_000, duration: s.duration }));
    const encoder = { mediaOnly: [{ uri: 'https://evil.example/i.m3u8', segments }] };
    expect(() => mergeMasters(encoder, encoder)).toThrow(ConfigInvalidError);
    expect(() => mergeMasters(encoder, encoder)).toThrow(/evil\.example/);
  });

  it('04: 3,000 lowercase #ext lines give at most 100 warnings and a count (violations-truncated), under 64 KiB', () => {
    const text = finding('04-unbounded-warnings-lowercase-tags.m3u8');
    for (const result of [validateMediaPlaylist(text), validateMasterPlaylist(text)]) {
      expect(result.warnings).toHaveLength(101);
      expect(result.warnings.at(-1)?.rule).toBe('violations-truncated');
      expect(jsonBytes(result.warnings)).toBeLessThan(64 * 1024);
    }
  });
});
