import {
  classifyPlaylist,
  DEFAULT_MAX_PLAYLIST_CHARS,
  validateMasterPlaylist,
  validateMediaPlaylist,
} from '../../../functions/hls';
import { fixture, mediaPlaylist } from '../../support/playlists';

describe('bad input: a clear error or a documented tolerance, never a crash', () => {
  it('rejects an empty file (and whitespace only) with playlist-empty', () => {
    for (const text of ['', '  \n\n\t']) {
      expect(validateMediaPlaylist(text).errors).toEqual([
        expect.objectContaining({ rule: 'playlist-empty' }),
      ]);
      expect(validateMasterPlaylist(text).errors).toEqual([
        expect.objectContaining({ rule: 'playlist-empty' }),
      ]);
    }
  });

  it('rejects binary data (an MPEG-TS packet decoded as UTF-8) with playlist-not-text and its line', () => {
    const ts = Buffer.from([0x47, 0x40, 0x11, 0x10, 0x00, 0x42, 0xf0, 0x25, 0xff, 0xfe]).toString('utf8');
    const result = validateMediaPlaylist(`#EXTM3U\n${ts}`);
    expect(result.errors).toEqual([expect.objectContaining({ rule: 'playlist-not-text', line: 2 })]);
    expect(result.snapshot).toBeUndefined();
  });

  it('tolerates a UTF-8 BOM with a warning (RFC 8216 §4 forbids it; players accept it)', () => {
    const result = validateMediaPlaylist(`\uFEFF${mediaPlaylist()}`);
    expect(result.valid).toBe(true);
    expect(result.warnings).toEqual([expect.objectContaining({ rule: 'bom-present', line: 1 })]);
  });

  it('accepts CRLF line endings and keeps line numbers right', () => {
    const crlf = fixture('media-live.m3u8').replace(/\n/g, '\r\n');
    expect(validateMediaPlaylist(crlf).valid).toBe(true);
    const bad = '#EXTM3U\r\n#EXT-X-TARGETDURATION:2\r\n#EXTINF:3,\r\na.ts\r\n';
    expect(validateMediaPlaylist(bad).errors).toEqual([
      expect.objectContaining({ rule: 'extinf-exceeds-targetduration', line: 3 }),
    ]);
  });

  it('rejects a 10 MB playlist against the default size limit, and the limit is configurable', () => {
    const big = mediaPlaylist({ count: 400_000 });
    expect(big.length).toBeGreaterThan(DEFAULT_MAX_PLAYLIST_CHARS);
    const result = validateMediaPlaylist(big);
    expect(result.errors).toEqual([
      expect.objectContaining({
        rule: 'playlist-too-large',
        message: expect.stringMatching(/maxPlaylistChars/),
      }),
    ]);
    expect(
      validateMediaPlaylist(mediaPlaylist({ count: 100 }), undefined, { maxPlaylistChars: 100 }).errors[0]
        ?.rule,
    ).toBe('playlist-too-large');
  });

  it('rejects a playlist without #EXTM3U', () => {
    expect(
      validateMediaPlaylist(mediaPlaylist().replace('#EXTM3U\n', '')).errors.map((v) => v.rule),
    ).toContain('extm3u-first');
  });

  it('keeps quoted commas inside attribute values (RFC 8216 §4.2)', () => {
    const master =
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=640x360\nv.m3u8\n';
    const result = validateMasterPlaylist(master);
    expect(result.valid).toBe(true);
    expect(result.snapshot?.variants[0]?.attributes.map((a) => a.name)).toEqual([
      'BANDWIDTH',
      'CODECS',
      'RESOLUTION',
    ]);
  });

  it('warns that lowercase tags are comments (tags are case-sensitive, §4.1) and reports what that breaks', () => {
    const result = validateMediaPlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#extinf:2,\na.ts\n');
    expect(result.warnings).toEqual([expect.objectContaining({ rule: 'tag-lowercase', line: 3 })]);
    expect(result.errors.map((v) => v.rule)).toEqual(['segment-without-extinf']);
  });

  it('classifies what it cannot read as unknown', () => {
    expect(classifyPlaylist('')).toBe('unknown');
    expect(classifyPlaylist('hello')).toBe('unknown');
    expect(classifyPlaylist(mediaPlaylist())).toBe('media');
    expect(classifyPlaylist(fixture('master-simple.m3u8'))).toBe('master');
  });
});
