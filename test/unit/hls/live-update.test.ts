/**
 * The live-update rules (functions/hls/live-update.ts), each against its reproducer from
 * shared/repro/core/rule-gaps (copied to fixtures/rule-gaps) and a version that keeps the rule.
 */
import { observeSnapshot, validateMediaPlaylist } from '../../../functions/hls';
import { fixture, mediaPlaylist } from '../../support/playlists';

const gap = (name: string) => fixture(`rule-gaps/${name}.m3u8`);
const errorsOf = (text: string, previous?: Parameters<typeof validateMediaPlaylist>[1]) =>
  validateMediaPlaylist(text, previous).errors.map((v) => [v.rule, v.line]);
/** Replaces whole lines of a playlist: `edit(text, ['#EXT-X-MEDIA-SEQUENCE:100', '#EXT-X-MEDIA-SEQUENCE:101'])`. */
const edit = (text: string, ...pairs: [string, string][]) =>
  pairs.reduce((t, [from, to]) => t.replace(`${from}\n`, to === '' ? '' : `${to}\n`), text);

describe('live playlist duration after a removal (RFC 8216 §6.2.2)', () => {
  it('rejects a removal that leaves less than 3 × the target duration ("The server MUST NOT remove a Media Segment from a Playlist file without an EXT-X-ENDLIST tag if that would produce a Playlist whose duration is less than three times the Target Duration")', () => {
    expect(errorsOf(gap('a-short'), gap('a-prev'))).toEqual([['live-playlist-too-short', 4]]);
  });

  it('accepts a removal that leaves exactly 3 × the target duration', () => {
    expect(errorsOf(mediaPlaylist({ sequence: 101, count: 3 }), gap('a-prev'))).toEqual([]);
  });

  it('accepts a short playlist when nothing was removed (a stream that is starting)', () => {
    const starting = mediaPlaylist({ sequence: 100, count: 1 });
    expect(errorsOf(mediaPlaylist({ sequence: 100, count: 2 }), starting)).toEqual([]);
  });

  it('accepts a short playlist that ends (EXT-X-ENDLIST)', () => {
    expect(errorsOf(mediaPlaylist({ sequence: 103, count: 1, endlist: true }), gap('a-prev'))).toEqual([]);
  });
});

describe('a published segment\'s tags never change (RFC 8216 §6.2.1: "The server MUST NOT change the Media Playlist file, except to" append, remove from the head, increment the sequences, add EXT-X-ENDLIST)', () => {
  it('rejects a rewritten EXT-X-PROGRAM-DATE-TIME, on its line', () => {
    expect(errorsOf(gap('b-pdt-rewritten'), gap('b-prev'))).toEqual([['live-program-date-time-changed', 5]]);
  });

  it('accepts a date written for the new first segment when it matches the date derived before (a removed head takes its tag along)', () => {
    const next = edit(gap('b-pdt-rewritten'), [
      '#EXT-X-PROGRAM-DATE-TIME:2025-06-01T00:00:00.000Z',
      '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:02.000Z',
    ]);
    expect(errorsOf(next, gap('b-prev'))).toEqual([]);
  });

  it('accepts sub-second drift between a written date and a derived one (rfc8216bis §6.2.1: "small (sub-second) overlaps")', () => {
    const next = edit(gap('b-pdt-rewritten'), [
      '#EXT-X-PROGRAM-DATE-TIME:2025-06-01T00:00:00.000Z',
      '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:02.040Z',
    ]);
    expect(errorsOf(next, gap('b-prev'))).toEqual([]);
  });

  it('rejects a changed EXT-X-KEY, on its line', () => {
    expect(errorsOf(gap('e-key-changed'), gap('e-prev'))).toEqual([['live-key-changed', 5]]);
  });

  it('rejects a removed EXT-X-KEY that still applies (§6.2.3: "The server MUST NOT remove an EXT-X-KEY tag from the Playlist file if it applies to any Media Segment in the Playlist file")', () => {
    const next = edit(gap('e-key-changed'), ['#EXT-X-KEY:METHOD=AES-128,URI="k2.key"', '']);
    expect(errorsOf(next, gap('e-prev'))).toEqual([['live-key-changed', 6]]);
  });

  it('accepts a key rotation: the old key kept for published segments, the new one before the first new segment', () => {
    const next = edit(
      gap('e-key-changed'),
      ['#EXT-X-KEY:METHOD=AES-128,URI="k2.key"', '#EXT-X-KEY:METHOD=AES-128,URI="k1.key"'],
      ['seg_103.ts', 'seg_103.ts\n#EXT-X-KEY:METHOD=AES-128,URI="k2.key"'],
    );
    expect(errorsOf(next, gap('e-prev'))).toEqual([]);
  });

  it('rejects a changed EXT-X-MAP', () => {
    const withMap = (uri: string, sequence: number) =>
      mediaPlaylist({ sequence })
        .replace('#EXT-X-VERSION:3', '#EXT-X-VERSION:6')
        .replace(/(#EXT-X-MEDIA-SEQUENCE:\d+\n)/, `$1#EXT-X-MAP:URI="${uri}"\n`);
    expect(errorsOf(withMap('init-2.mp4', 101), withMap('init-1.mp4', 100))).toEqual([
      ['live-map-changed', 5],
    ]);
    expect(errorsOf(withMap('init-1.mp4', 101), withMap('init-1.mp4', 100))).toEqual([]);
  });

  it('rejects a changed EXT-X-VERSION (§6.2.1; no rule allows it, so an error, not a warning)', () => {
    expect(errorsOf(gap('f-version-changed'), gap('a-prev'))).toEqual([['live-version-changed', 2]]);
  });

  it('accepts the next version at the same EXT-X-VERSION', () => {
    expect(errorsOf(mediaPlaylist({ sequence: 101 }), gap('a-prev'))).toEqual([]);
  });

  it('skips the tag rules against a snapshot stored before versions and tags were recorded', () => {
    const { version: _, ...stored } = validateMediaPlaylist(gap('e-prev')).snapshot ?? { version: 0 };
    expect(errorsOf(gap('e-key-changed'), stored as never)).toEqual([]);
  });
});

describe('EVENT and VOD playlists (RFC 8216 §4.3.3.5)', () => {
  it('rejects an EVENT playlist that dropped segments and its type ("If the EXT-X-PLAYLIST-TYPE value is EVENT, Media Segments can only be added to the end of the Media Playlist")', () => {
    expect(errorsOf(gap('c-event-dropped'), gap('c-event'))).toEqual([
      ['live-playlist-type-changed', 1],
      ['live-event-segment-removed', 4],
    ]);
  });

  it('accepts an EVENT playlist that appends, then ends', () => {
    const grown = `${gap('c-event')}#EXTINF:2.000,\nseg_104.ts\n`;
    expect(errorsOf(grown, gap('c-event'))).toEqual([]);
    expect(errorsOf(`${grown}#EXT-X-ENDLIST\n`, grown)).toEqual([]);
  });

  it('rejects a VOD playlist that grew ("If the EXT-X-PLAYLIST-TYPE is VOD, the Media Playlist cannot change")', () => {
    expect(errorsOf(gap('d-vod-grown'), gap('d-vod'))).toEqual([['live-vod-changed', 3]]);
  });

  it('accepts a VOD playlist uploaded again unchanged', () => {
    expect(errorsOf(gap('d-vod'), gap('d-vod'))).toEqual([]);
  });
});

/** A full LL-HLS playlist like r-llhls-full.m3u8, segments `sequence` … `sequence + count - 1`. */
const llhls = (sequence: number, count: number) =>
  gap('r-llhls-full').split('#EXTINF')[0]?.replace('MEDIA-SEQUENCE:100', `MEDIA-SEQUENCE:${sequence}`) +
  Array.from({ length: count }, (_, i) => `#EXTINF:2.000,\nseg_${sequence + i}.ts\n`).join('');

describe('LL-HLS delta updates (rfc8216bis §4.4.5.2 EXT-X-SKIP, §6.2.5.1)', () => {
  it('accepts a valid delta update and keeps the whole playlist as the accepted snapshot', () => {
    const result = validateMediaPlaylist(gap('r-llhls-delta'), gap('r-llhls-full'));
    expect(result).toMatchObject({ valid: true, errors: [], warnings: [] });
    expect(result.snapshot?.mediaSequence).toBe(101);
    expect(result.snapshot?.skippedSegments).toBeUndefined();
    expect(result.snapshot?.segments.map((s) => s.uri)).toEqual(
      Array.from({ length: 12 }, (_, i) => `seg_${101 + i}.ts`),
    );
  });

  it('compares the next full version against the filled-in delta', () => {
    const filled = validateMediaPlaylist(gap('r-llhls-delta'), gap('r-llhls-full')).snapshot;
    expect(errorsOf(llhls(102, 12), filled)).toEqual([]);
    expect(errorsOf(llhls(101, 13).replace('seg_104.ts', 'other.ts'), filled)).toEqual([
      ['live-segment-rewritten', 13],
    ]);
  });

  it('rejects a delta update whose skipped count misplaces the listed segments', () => {
    const wrong = gap('r-llhls-delta').replace('SKIPPED-SEGMENTS=6', 'SKIPPED-SEGMENTS=5');
    expect(errorsOf(wrong, gap('r-llhls-full'))).toEqual([['live-media-sequence-mismatch', 8]]);
  });

  it('warns when the skipped segments were never seen, and counts them in the last media sequence', () => {
    const result = validateMediaPlaylist(gap('r-llhls-delta'), llhls(90, 4));
    expect(result.valid).toBe(true);
    expect(result.warnings.map((v) => v.rule)).toContain('live-sequence-gap');
    const alone = validateMediaPlaylist(gap('r-llhls-delta')).snapshot;
    expect(alone?.skippedSegments).toBe(6);
    expect(alone && observeSnapshot(alone, 0).lastSequence).toBe(112);
  });

  it('rejects an EXT-X-SKIP without a decimal-integer SKIPPED-SEGMENTS (§4.4.5.2: "This attribute is REQUIRED")', () => {
    const broken = gap('r-llhls-delta').replace('SKIPPED-SEGMENTS=6', 'SKIPPED-SEGMENTS=six');
    expect(errorsOf(broken)).toEqual([['skip-invalid', 6]]);
  });
});
