import { validateMasterPlaylist } from '../../../functions/hls';
import { fixture } from '../../support/playlists';

/** Errors and hosting-policy findings, in line order. */
const rules = (text: string, allowedHosts?: string[]) => {
  const result = validateMasterPlaylist(text, allowedHosts ? { allowedHosts } : {});
  return [...result.errors, ...result.policy]
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
    .map((v) => [v.rule, v.line]);
};
const master = (...lines: string[]) => `#EXTM3U\n${lines.join('\n')}\n`;

describe('validateMasterPlaylist', () => {
  it('accepts a master with audio, subtitles, closed captions, I-frames, session data and keys', () => {
    const result = validateMasterPlaylist(fixture('master-full.m3u8'));
    expect(result).toMatchObject({ valid: true, errors: [], warnings: [] });
    expect(result.snapshot?.variants).toHaveLength(4);
    expect(result.snapshot?.renditions.map((r) => r.type)).toEqual([
      'AUDIO',
      'AUDIO',
      'SUBTITLES',
      'CLOSED-CAPTIONS',
    ]);
  });

  it('requires BANDWIDTH on every variant (§4.3.4.2)', () => {
    expect(rules(master('#EXT-X-STREAM-INF:RESOLUTION=640x360', 'v.m3u8'))).toEqual([
      ['stream-inf-bandwidth-missing', 2],
    ]);
  });

  it('rejects DEFAULT=YES with AUTOSELECT=NO (§4.3.4.1: "If the AUTOSELECT attribute is present, its value MUST be YES if the value of the DEFAULT attribute is YES")', () => {
    expect(rules(fixture('rule-gaps/s-default-autoselect.m3u8'))).toEqual([['media-default-autoselect', 2]]);
    const rendition = (attributes: string) =>
      master(
        `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",${attributes},URI="a.m3u8"`,
        '#EXT-X-STREAM-INF:BANDWIDTH=1000,AUDIO="a"',
        'v.m3u8',
      );
    expect(rules(rendition('DEFAULT=YES,AUTOSELECT=YES'))).toEqual([]);
    expect(rules(rendition('DEFAULT=YES'))).toEqual([]);
    expect(rules(rendition('DEFAULT=NO,AUTOSELECT=NO'))).toEqual([]);
  });

  it('requires a URI line after EXT-X-STREAM-INF (§4.3.4.2)', () => {
    expect(rules(master('#EXT-X-STREAM-INF:BANDWIDTH=1'))).toEqual([['stream-inf-without-uri', 2]]);
  });

  it('requires every AUDIO / SUBTITLES / CLOSED-CAPTIONS reference to name an existing group of that TYPE (§4.3.4.2)', () => {
    const text = master(
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="a.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO="audio",SUBTITLES="aud",CLOSED-CAPTIONS="cc"',
      'v.m3u8',
    );
    expect(rules(text)).toEqual([
      ['group-not-found', 3],
      ['group-not-found', 3],
      ['group-not-found', 3],
    ]);
  });

  it('accepts CLOSED-CAPTIONS=NONE (§4.3.4.2)', () => {
    expect(rules(master('#EXT-X-STREAM-INF:BANDWIDTH=1,CLOSED-CAPTIONS=NONE', 'v.m3u8'))).toEqual([]);
  });

  it('rejects a duplicate variant', () => {
    expect(
      rules(master('#EXT-X-STREAM-INF:BANDWIDTH=1', 'v.m3u8', '#EXT-X-STREAM-INF:BANDWIDTH=1', 'v.m3u8')),
    ).toEqual([['variant-duplicate', 4]]);
  });

  it("finds URIs that climb above the encoder's folder, also percent-encoded or with backslashes (hosting policy)", () => {
    for (const uri of ['../other/v.m3u8', 'a/../../v.m3u8', '%2e%2e/v.m3u8', '..\\v.m3u8']) {
      expect(rules(master('#EXT-X-STREAM-INF:BANDWIDTH=1', uri))).toEqual([['uri-escapes-folder', 3]]);
    }
    expect(rules(master('#EXT-X-STREAM-INF:BANDWIDTH=1', 'a/../v.m3u8'))).toEqual([]);
  });

  it('finds absolute URLs to hosts that are not allowed, and root-relative paths (hosting policy)', () => {
    const text = master('#EXT-X-STREAM-INF:BANDWIDTH=1', 'https://elsewhere.example/v.m3u8');
    expect(rules(text)).toEqual([['uri-absolute', 3]]);
    expect(rules(text, ['elsewhere.example'])).toEqual([]);
    expect(rules(master('#EXT-X-STREAM-INF:BANDWIDTH=1', '/v.m3u8'))).toEqual([['uri-absolute', 3]]);
  });

  it('finds hostile schemes (javascript:, data:, file:) (hosting policy)', () => {
    for (const uri of ['javascript:alert(1)', 'data:application/x-mpegurl,#EXTM3U', 'file:///etc/passwd']) {
      expect(rules(master('#EXT-X-STREAM-INF:BANDWIDTH=1', uri))).toEqual([['uri-scheme', 3]]);
    }
  });

  it('checks rendition URIs and the rules of SUBTITLES and CLOSED-CAPTIONS renditions (§4.3.4.1)', () => {
    const text = master(
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="../a.m3u8"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="en"',
      '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="en",URI="cc.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,NAME="x"',
    );
    expect(rules(text)).toEqual([
      ['uri-escapes-folder', 2],
      ['media-uri-rules', 3],
      ['media-uri-rules', 4],
      ['media-uri-rules', 4],
      ['media-attribute-missing', 5],
    ]);
  });

  it('rejects media playlist tags in a master, and URI lines without EXT-X-STREAM-INF', () => {
    expect(rules(master('#EXT-X-TARGETDURATION:2', 'v.m3u8'))).toEqual([
      ['mixed-playlist', 2],
      ['uri-orphan', 3],
    ]);
  });

  it('keeps unknown tags with a warning', () => {
    const result = validateMasterPlaylist(
      master('#EXT-X-ACME-CHANNEL:7', '#EXT-X-STREAM-INF:BANDWIDTH=1', 'v.m3u8'),
    );
    expect(result.valid).toBe(true);
    expect(result.warnings).toEqual([expect.objectContaining({ rule: 'tag-unknown', line: 2 })]);
    expect(result.snapshot?.sessionTags).toEqual([{ line: 2, name: 'EXT-X-ACME-CHANNEL', value: '7' }]);
  });
});
