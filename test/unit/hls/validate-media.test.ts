import { validateMediaPlaylist } from '../../../functions/hls';
import { fixture, mediaPlaylist } from '../../support/playlists';

const rules = (text: string, previous?: string) =>
  validateMediaPlaylist(text, previous).errors.map((v) => v.rule);

describe('validateMediaPlaylist: single playlist (RFC 8216)', () => {
  it('accepts a live media playlist with a discontinuity and program date time', () => {
    const result = validateMediaPlaylist(fixture('media-live.m3u8'));
    expect(result).toMatchObject({ valid: true, errors: [], warnings: [] });
    expect(result.snapshot).toMatchObject({
      targetDuration: 2,
      mediaSequence: 100,
      discontinuitySequence: 4,
      endlist: false,
    });
    expect(result.snapshot?.segments.map((s) => s.discontinuity)).toEqual([false, false, true, false]);
  });

  it('understands LL-HLS, GAP, DATERANGE, MAP, KEY and BYTERANGE and keeps unknown tags as a warning (§6.3.1)', () => {
    const result = validateMediaPlaylist(fixture('media-ll-hls.m3u8'));
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([expect.objectContaining({ rule: 'tag-unknown', line: 11 })]);
  });

  it('requires #EXTM3U on the first line (§4.3.1.1)', () => {
    expect(validateMediaPlaylist('#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n').errors).toContainEqual(
      expect.objectContaining({ rule: 'extm3u-first', line: 1 }),
    );
  });

  it('requires EXT-X-TARGETDURATION (§4.3.3.1)', () => {
    expect(rules('#EXTM3U\n#EXTINF:2,\na.ts\n')).toContain('targetduration-missing');
  });

  it('rejects a target duration that is not a decimal-integer (§4.3.3.1)', () => {
    expect(rules('#EXTM3U\n#EXT-X-TARGETDURATION:2.5\n#EXTINF:2,\na.ts\n')).toContain(
      'targetduration-invalid',
    );
  });

  it('rejects an EXTINF that, rounded to the nearest integer, exceeds the target duration (§4.3.3.1), on its line', () => {
    const result = validateMediaPlaylist(mediaPlaylist({ targetDuration: 2, duration: 2.6 }));
    expect(result.errors[0]).toMatchObject({ rule: 'extinf-exceeds-targetduration', line: 5 });
    expect(result.errors).toHaveLength(4); // every segment is reported, not only the first
  });

  it('accepts an EXTINF that rounds down to the target duration (2.49 with TD 2)', () => {
    expect(validateMediaPlaylist(mediaPlaylist({ targetDuration: 2, duration: 2.49 })).valid).toBe(true);
  });

  it('requires an EXTINF before every segment URI (§4.3.2.1)', () => {
    expect(rules('#EXTM3U\n#EXT-X-TARGETDURATION:2\na.ts\n')).toContain('segment-without-extinf');
  });

  it('rejects an EXTINF that no URI follows', () => {
    expect(rules('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n')).toContain('extinf-without-uri');
  });

  it('rejects a non-numeric EXTINF duration', () => {
    expect(rules('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:two,\na.ts\n')).toContain('extinf-invalid');
  });

  it('requires EXT-X-MEDIA-SEQUENCE before the first segment (§4.3.3.2)', () => {
    expect(rules('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n#EXT-X-MEDIA-SEQUENCE:3\n')).toContain(
      'media-sequence-late',
    );
  });

  it('rejects a media playlist tag given twice (§4.3.3)', () => {
    const result = validateMediaPlaylist(
      '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n',
    );
    expect(result.errors).toContainEqual(expect.objectContaining({ rule: 'tag-duplicate', line: 3 }));
  });

  it('rejects segments after EXT-X-ENDLIST (§4.3.3.4)', () => {
    expect(rules('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-ENDLIST\n#EXTINF:2,\na.ts\n')).toContain(
      'content-after-endlist',
    );
  });

  it('rejects master playlist tags in a media playlist', () => {
    expect(rules(`${mediaPlaylist()}#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n`)).toContain('mixed-playlist');
  });

  it('reports every violation at once, each with its line', () => {
    const result = validateMediaPlaylist('#EXTM3U\n#EXTINF:x,\na.ts\nb.ts\n');
    expect(result.errors.map((v) => [v.rule, v.line])).toEqual([
      ['extinf-invalid', 2],
      ['segment-without-extinf', 4],
      ['targetduration-missing', 1],
    ]);
  });

  it('rejects an EXT-X-PLAYLIST-TYPE other than EVENT or VOD (§4.3.3.5: "#EXT-X-PLAYLIST-TYPE:<type-enum> where type-enum is either EVENT or VOD")', () => {
    expect(validateMediaPlaylist(fixture('rule-gaps/i-type-foo.m3u8')).errors).toEqual([
      expect.objectContaining({ rule: 'playlist-type-invalid', line: 3 }),
    ]);
    expect(rules(mediaPlaylist({ playlistType: 'VOD', endlist: true }))).toEqual([]);
  });

  it('rejects an EXTINF without its comma (§4.3.2.1: "#EXTINF:<duration>,[<title>]")', () => {
    expect(validateMediaPlaylist(fixture('rule-gaps/j-extinf-no-comma.m3u8')).errors).toEqual([
      expect.objectContaining({ rule: 'extinf-comma-missing', line: 4 }),
    ]);
    expect(rules('#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n')).toEqual([]);
  });

  it('warns, without failing, when a segment URI is listed twice (mediastreamvalidator-style; not an RFC MUST)', () => {
    const result = validateMediaPlaylist(fixture('rule-gaps/g-dup-uri.m3u8'));
    expect(result.valid).toBe(true);
    expect(result.warnings).toEqual([expect.objectContaining({ rule: 'segment-uri-reused', line: 10 })]);
  });

  it('lets byte ranges of one resource share its URI (EXT-X-BYTERANGE, §4.3.2.2)', () => {
    const ranges =
      '#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:2\n#EXT-X-BYTERANGE:100@0\n#EXTINF:2,\nall.ts\n#EXT-X-BYTERANGE:100\n#EXTINF:2,\nall.ts\n';
    expect(validateMediaPlaylist(ranges)).toMatchObject({ valid: true, warnings: [] });
  });

  it("reports hls-parser's strict findings when ours find nothing (EXT-X-VERSION too low for EXT-X-MAP)", () => {
    const text =
      '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2,\na.m4s\n';
    expect(validateMediaPlaylist(text).errors).toEqual([
      expect.objectContaining({ rule: 'parser-strict', message: expect.stringMatching(/EXT-X-VERSION/) }),
    ]);
  });
});

describe('validateMediaPlaylist: live updates against the previous version (rfc8216bis §6.2.1–6.2.2)', () => {
  const previous = mediaPlaylist({ sequence: 100, count: 4 });

  it('accepts the next version that drops one segment from the head and appends one', () => {
    expect(rules(mediaPlaylist({ sequence: 101, count: 4 }), previous)).toEqual([]);
  });

  it('accepts an identical version (a duplicate upload)', () => {
    expect(rules(previous, previous)).toEqual([]);
  });

  it('rejects a media sequence that goes backwards (§6.2.2)', () => {
    expect(rules(mediaPlaylist({ sequence: 99, count: 4 }), previous)).toEqual([
      'live-media-sequence-decreased',
    ]);
  });

  it('rejects a media sequence that does not advance by the number of segments removed (§6.2.2)', () => {
    // seg_101 was number 101 and is now number 100: two segments removed, sequence advanced by one.
    const next = mediaPlaylist({ sequence: 100, count: 4, uri: (n) => `seg_${n + 1}.ts` });
    expect(rules(next, previous)).toEqual(['live-media-sequence-mismatch']);
  });

  it('rejects a target duration that changes (§6.2.1)', () => {
    // Five segments of 2 s keep the playlist at 3 × the new target duration (§6.2.2).
    expect(rules(mediaPlaylist({ sequence: 101, count: 5, targetDuration: 3 }), previous)).toEqual([
      'live-targetduration-changed',
    ]);
  });

  it('rejects a published segment that is rewritten (§6.2.1)', () => {
    const next = mediaPlaylist({
      sequence: 101,
      count: 4,
      uri: (n) => (n === 102 ? 'other.ts' : `seg_${n}.ts`),
    });
    const result = validateMediaPlaylist(next, previous);
    expect(result.errors).toEqual([expect.objectContaining({ rule: 'live-segment-rewritten', line: 8 })]);
  });

  it('rejects segments removed from the end (§6.2.1: only the head shrinks)', () => {
    expect(rules(mediaPlaylist({ sequence: 100, count: 3 }), previous)).toEqual(['live-segment-removed']);
  });

  it('requires the discontinuity sequence to grow by the discontinuities removed from the head (§6.2.2)', () => {
    const before = mediaPlaylist({ sequence: 100, discontinuitySequence: 4, discontinuities: [101] });
    const good = mediaPlaylist({ sequence: 102, discontinuitySequence: 5 });
    const forgot = mediaPlaylist({ sequence: 102, discontinuitySequence: 4 });
    expect(rules(good, before)).toEqual([]);
    expect(rules(forgot, before)).toEqual(['live-discontinuity-sequence']);
  });

  it('treats EXT-X-ENDLIST as final: no change after it', () => {
    const ended = mediaPlaylist({ sequence: 100, endlist: true });
    expect(rules(ended, ended)).toEqual([]);
    expect(rules(mediaPlaylist({ sequence: 101 }), ended)).toEqual(['live-after-endlist']);
  });

  it('rejects an EVENT playlist that removes segments (§4.3.3.5)', () => {
    const before = mediaPlaylist({ sequence: 0, playlistType: 'EVENT' });
    expect(rules(mediaPlaylist({ sequence: 1, playlistType: 'EVENT' }), before)).toContain(
      'live-event-segment-removed',
    );
  });

  it('warns, without failing, when versions in between were not seen', () => {
    const result = validateMediaPlaylist(mediaPlaylist({ sequence: 200 }), previous);
    expect(result.valid).toBe(true);
    expect(result.warnings.map((v) => v.rule)).toEqual(['live-sequence-gap']);
  });

  it('accepts the previous version as a stored snapshot as well as text', () => {
    const snapshot = validateMediaPlaylist(previous).snapshot;
    expect(
      validateMediaPlaylist(mediaPlaylist({ sequence: 99 }), snapshot).errors.map((v) => v.rule),
    ).toEqual(['live-media-sequence-decreased']);
  });
});
