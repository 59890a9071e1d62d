/**
 * The syntax rules of RFC 8216 §4 (and rfc8216bis variable substitution) that hostile and broken
 * playlists broke (issue 12, shared/repro/core): numbers, attribute lists, tag names, variables,
 * and the URI policy applied to every URI a player requests. Each test is named after its rule.
 */
import {
  MAX_LISTED_VIOLATIONS,
  PlaylistInvalidError,
  type Violation,
  validateMasterPlaylist,
  validateMediaPlaylist,
} from '../../../functions/hls';
import { parseDecimalInteger } from '../../../functions/hls/numbers';
import { readAttributeList } from '../../../functions/hls/scan';

const media = (...lines: string[]) => `#EXTM3U\n#EXT-X-TARGETDURATION:2\n${lines.join('\n')}\n`;
const master = (...lines: string[]) => `#EXTM3U\n${lines.join('\n')}\n`;
const rules = (violations: readonly Violation[]) => violations.map((v) => [v.rule, v.line]);
const segments = (n: number, first = 0) =>
  Array.from({ length: n }, (_, i) => `#EXTINF:2,\ns${first + i}.ts`).join('\n');

describe('decimal-integer: 0 to 2^64−1 (RFC 8216 §4.2)', () => {
  it.each([
    ['0', 0n],
    ['007', 7n],
    ['18446744073709551615', 2n ** 64n - 1n],
    ['18446744073709551616', undefined],
    [`1${'0'.repeat(400)}`, undefined],
    ['1e3', undefined],
    ['-1', undefined],
    ['1.5', undefined],
    ['NaN', undefined],
    ['Infinity', undefined],
    ['', undefined],
  ])('reads %s as %s', (text, expected) => {
    expect(parseDecimalInteger(text)).toBe(expected);
  });

  it('accepts a media sequence of 2^64−1 and refuses one above it (§4.3.3.2)', () => {
    expect(
      validateMediaPlaylist(media('#EXT-X-MEDIA-SEQUENCE:18446744073709551615', segments(1))).valid,
    ).toBe(true);
    const tooLarge = validateMediaPlaylist(media(`#EXT-X-MEDIA-SEQUENCE:1${'0'.repeat(400)}`, segments(1)));
    expect(rules(tooLarge.errors)).toEqual([['media-sequence-invalid', 3]]);
    expect(tooLarge.errors[0]?.message.length).toBeLessThan(200);
  });

  it('refuses a DISCONTINUITY-SEQUENCE that is not a decimal-integer (§4.3.3.3)', () => {
    expect(
      rules(validateMediaPlaylist(media('#EXT-X-DISCONTINUITY-SEQUENCE:abc', segments(1))).errors),
    ).toEqual([['discontinuity-sequence-invalid', 3]]);
  });

  it('refuses an EXT-X-VERSION that is not an integer, in both kinds of playlist (§4.3.1.2)', () => {
    for (const version of ['NaN', '2.5', '1e400', 'Infinity']) {
      expect(rules(validateMediaPlaylist(media(`#EXT-X-VERSION:${version}`, segments(1))).errors)).toEqual([
        ['version-invalid', 3],
      ]);
      const text = master(`#EXT-X-VERSION:${version}`, '#EXT-X-STREAM-INF:BANDWIDTH=1', 'v.m3u8');
      expect(rules(validateMasterPlaylist(text).errors)).toEqual([['version-invalid', 2]]);
    }
  });

  it('refuses a BANDWIDTH or AVERAGE-BANDWIDTH above 2^64−1 or not an integer (§4.3.4.2)', () => {
    for (const value of ['18446744073709551616', '8.000000000000001e+24', '1.5']) {
      const text = master(`#EXT-X-STREAM-INF:BANDWIDTH=${value},AVERAGE-BANDWIDTH=${value}`, 'v.m3u8');
      expect(rules(validateMasterPlaylist(text).errors)).toEqual([
        ['attribute-value-invalid', 2],
        ['attribute-value-invalid', 2],
      ]);
    }
  });

  it('returns at once for media sequences at 2^53 with a previous version: no loop over sequence numbers', () => {
    const text = media('#EXT-X-MEDIA-SEQUENCE:9007199254740991', segments(3));
    const result = validateMediaPlaylist(text, text);
    expect(result.valid).toBe(true);
    expect(rules(result.warnings)).toEqual([['live-sequence-unsafe', undefined]]);
  });

  it('compares live versions by position: a 50,000-segment overlap below 2^53 is checked, not walked by number', () => {
    const before = media('#EXT-X-MEDIA-SEQUENCE:9007199254690000', segments(50_000));
    const after = media('#EXT-X-MEDIA-SEQUENCE:9007199254690001', segments(49_999, 1));
    expect(validateMediaPlaylist(after, before)).toMatchObject({ valid: true, warnings: [] });
  });
});

describe('decimal-floating-point and enumerated values (RFC 8216 §4.2, §4.3.2.1, §4.3.3.5)', () => {
  it('requires the comma after the EXTINF duration (§4.3.2.1: #EXTINF:<duration>,[<title>])', () => {
    expect(rules(validateMediaPlaylist(media('#EXTINF:2', 'a.ts')).errors)).toEqual([
      ['extinf-comma-missing', 3],
    ]);
  });

  it('refuses an EXT-X-PLAYLIST-TYPE other than EVENT or VOD (§4.3.3.5)', () => {
    expect(rules(validateMediaPlaylist(media('#EXT-X-PLAYLIST-TYPE:FOO', segments(1))).errors)).toEqual([
      ['playlist-type-invalid', 3],
    ]);
  });

  it('requires AUTOSELECT=YES when DEFAULT=YES (§4.3.4.1)', () => {
    const text = master(
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",DEFAULT=YES,AUTOSELECT=NO,URI="a.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO="a"',
      'v.m3u8',
    );
    expect(rules(validateMasterPlaylist(text).errors)).toEqual([['media-default-autoselect', 2]]);
  });

  it('warns about a segment URI listed twice (mediastreamvalidator; not an RFC MUST)', () => {
    const result = validateMediaPlaylist(media('#EXTINF:2,', 'a.ts', '#EXTINF:2,', 'a.ts'));
    expect(result.valid).toBe(true);
    expect(rules(result.warnings)).toEqual([['segment-uri-reused', 6]]);
  });
});

describe('attribute-list syntax (RFC 8216 §4.2)', () => {
  it.each([
    ['CODECS="avc1.4d401e', 'has no closing quote'],
    ['GROUP-ID=a"b"c', 'holds a quote'],
    ['URI="a"b"', 'followed by more text'],
    ['URI="a\rb"', 'CR or LF'],
    ['lower=1', 'may use only A-Z'],
    ['BANDWIDTH', 'has no value'],
    ['A=1,,B=2', 'empty attribute'],
  ])('reports %j as malformed (%s)', (list, problem) => {
    expect(readAttributeList(list).problems).toEqual([expect.stringContaining(problem)]);
  });

  it('keeps commas inside quoted-strings and reports a well-formed list as such', () => {
    const list = readAttributeList('BANDWIDTH=1,CODECS="avc1.4d401e,mp4a.40.2",RESOLUTION=640x360');
    expect(list).toEqual({
      attributes: [
        { name: 'BANDWIDTH', raw: '1' },
        { name: 'CODECS', raw: '"avc1.4d401e,mp4a.40.2"' },
        { name: 'RESOLUTION', raw: '640x360' },
      ],
      problems: [],
      duplicates: [],
    });
  });

  it('refuses an unbalanced quote that would swallow the attributes after it', () => {
    const text = master('#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS="avc1.4d401e', 'v.m3u8');
    expect(rules(validateMasterPlaylist(text).errors)).toEqual([['attribute-list-invalid', 2]]);
  });

  it('refuses an attribute given twice ("MUST NOT appear more than once"), in masters and media playlists', () => {
    expect(
      rules(validateMasterPlaylist(master('#EXT-X-STREAM-INF:BANDWIDTH=1,BANDWIDTH=9', 'v.m3u8')).errors),
    ).toEqual([['attribute-duplicate', 2]]);
    const key = '#EXT-X-KEY:METHOD=AES-128,URI="k1",URI="k2"';
    expect(rules(validateMediaPlaylist(media(key, segments(1))).errors)).toEqual([
      ['attribute-duplicate', 3],
    ]);
  });

  it('refuses a tag name followed by anything but ":" (RFC 8216 §4.1), which players may still read', () => {
    const text = master(
      '#EXT-X-I-FRAME-STREAM-INF :BANDWIDTH=1,URI="https://evil.example/i.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1',
      'v.m3u8',
    );
    expect(rules(validateMasterPlaylist(text).errors)).toEqual([['tag-malformed', 2]]);
  });
});

describe('variable substitution (rfc8216bis §4.3, EXT-X-DEFINE §4.4.2.3)', () => {
  it('refuses a reference to a variable no EXT-X-DEFINE defines', () => {
    const text = master('#EXT-X-STREAM-INF:BANDWIDTH=1', 'v.m3u8{$undefined}');
    expect(rules(validateMasterPlaylist(text).errors)).toEqual([['variable-undefined', 3]]);
  });

  it('refuses a variable defined twice, or a DEFINE without VALUE', () => {
    const text = master(
      '#EXT-X-DEFINE:NAME="a",VALUE="1"',
      '#EXT-X-DEFINE:NAME="a",VALUE="2"',
      '#EXT-X-DEFINE:NAME="b"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1',
      'v.m3u8',
    );
    expect(rules(validateMasterPlaylist(text).errors)).toEqual([
      ['define-invalid', 3],
      ['define-invalid', 4],
    ]);
  });

  it('applies the URI policy after substitution: a variable cannot hide ../../other-channel', () => {
    const text = master(
      '#EXT-X-VERSION:8',
      '#EXT-X-DEFINE:NAME="up",VALUE="../../other-channel/primary"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1000',
      '{$up}/video.m3u8',
    );
    const result = validateMasterPlaylist(text);
    expect(result.valid).toBe(true);
    expect(rules(result.policy)).toEqual([['uri-escapes-folder', 5]]);
  });
});

describe('the hosting policy, apart from validity, on every URI a player requests', () => {
  it('checks segment, EXT-X-KEY, EXT-X-MAP, EXT-X-PART, EXT-X-PRELOAD-HINT and EXT-X-RENDITION-REPORT URIs', () => {
    const text = media(
      '#EXT-X-KEY:METHOD=AES-128,URI="https://evil.example/key"',
      '#EXT-X-MAP:URI="../init.mp4"',
      '#EXTINF:2,',
      '../../other-channel/primary/seg1.ts',
      '#EXTINF:2,',
      'javascript:alert(1)',
      '#EXT-X-PART:DURATION=1,URI="/part.mp4"',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="https://evil.example/p.mp4"',
      '#EXT-X-RENDITION-REPORT:URI="../../x/v.m3u8",LAST-MSN=1',
    );
    const result = validateMediaPlaylist(text);
    expect(result.policy.map((v) => v.line)).toEqual([3, 4, 6, 8, 9, 10, 11]);
    expect(result.policy.every((v) => v.severity === 'policy')).toBe(true);
    expect(validateMediaPlaylist(text, undefined, { allowedHosts: ['evil.example'] }).policy).toHaveLength(5);
  });

  it('leaves DRM key URIs (skd:, data:) to the key system', () => {
    const text = media(
      '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://key-id",KEYFORMAT="com.apple.streamingkeydelivery"',
    );
    expect(validateMediaPlaylist(`${text}${segments(1)}\n`).policy).toEqual([]);
  });

  it('checks EXT-X-SESSION-DATA and EXT-X-SESSION-KEY URIs of a master', () => {
    const text = master(
      '#EXT-X-SESSION-DATA:DATA-ID="com.example.x",URI="https://evil.example/x.json"',
      '#EXT-X-SESSION-KEY:METHOD=AES-128,URI="../../../other-channel/key.bin"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1',
      'v.m3u8',
    );
    expect(rules(validateMasterPlaylist(text).policy)).toEqual([
      ['uri-absolute', 2],
      ['uri-escapes-folder', 3],
    ]);
  });

  it('says a playlist with only policy findings is valid HLS', () => {
    const result = validateMasterPlaylist(master('#EXT-X-STREAM-INF:BANDWIDTH=1', '/root/v.m3u8'));
    expect(result).toMatchObject({ valid: true, errors: [] });
    expect(rules(result.policy)).toEqual([['uri-absolute', 3]]);
  });
});

describe('bounded output: what the workflow carries stays far below the 256 KiB state quota', () => {
  it(`lists at most ${MAX_LISTED_VIOLATIONS} warnings and counts the rest`, () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `#ext-x-comment-${i}\n#EXTINF:2,\ns${i}.ts`);
    const result = validateMediaPlaylist(media(...lines));
    expect(result.warnings).toHaveLength(MAX_LISTED_VIOLATIONS + 1);
    expect(result.warnings.at(-1)).toMatchObject({
      rule: 'violations-truncated',
      message: '… and 2900 more warning findings not listed',
    });
    expect(JSON.stringify(result.warnings).length).toBeLessThan(64 * 1024);
  });

  it('clips each message: a 1 MB URI line is not copied into every violation', () => {
    const uri = `${'a'.repeat(1_000_000)}.ts`;
    const result = validateMediaPlaylist(media('#EXTINF:3,', uri));
    expect(result.errors[0]?.message.length).toBeLessThanOrEqual(400);
  });

  it('caps the violations a PlaylistInvalidError carries', () => {
    const many = Array.from({ length: 500 }, (_, i) => ({
      rule: 'extinf-invalid' as const,
      severity: 'error' as const,
      message: `x${i}`,
    }));
    expect(new PlaylistInvalidError(many).violations).toHaveLength(MAX_LISTED_VIOLATIONS + 1);
  });
});
