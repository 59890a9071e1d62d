/**
 * The merge never writes an index it would refuse (issue 12): its output is valid HLS to our
 * validator and hls-parser strict, or the merge throws a typed error.
 */
import fc from 'fast-check';
import {
  assessFreshness,
  ConfigInvalidError,
  HlsFailoverError,
  type MasterSource,
  mergeMasters,
  PlaylistInvalidError,
  parseWithHlsParser,
  synthesizeMaster,
  validateMasterPlaylist,
} from '../../../functions/hls';

const master = (...lines: string[]) => `#EXTM3U\n${lines.join('\n')}\n`;
const lineAfter = (text: string, prefix: string) => {
  const lines = text.split('\n');
  return lines[lines.findIndex((l) => l.startsWith(prefix)) + 1];
};

describe('mergeMasters: output valid or a typed error', () => {
  it('keeps {$var} references verbatim, never percent-encoded (rfc8216bis §4.3)', () => {
    const text = master(
      '#EXT-X-VERSION:8',
      '#EXT-X-DEFINE:NAME="auth",VALUE="?auth_token=abc"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1000',
      'gear1/prog_index.m3u8{$auth}',
    );
    const { text: merged } = mergeMasters(text);
    expect(lineAfter(merged, '#EXT-X-STREAM-INF')).toBe('primary/gear1/prog_index.m3u8{$auth}');
    expect(merged).toContain('#EXT-X-DEFINE:NAME="auth",VALUE="?auth_token=abc"');
  });

  it('rebases EXT-X-SESSION-DATA and EXT-X-SESSION-KEY URIs like every other URI', () => {
    const text = master(
      '#EXT-X-SESSION-DATA:DATA-ID="com.example.lyrics",URI="lyrics.json"',
      '#EXT-X-SESSION-KEY:METHOD=AES-128,URI="keys/k.bin"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1000',
      'v.m3u8',
    );
    const { text: merged } = mergeMasters(text, text);
    expect(merged).toContain('#EXT-X-SESSION-DATA:DATA-ID="com.example.lyrics",URI="primary/lyrics.json"');
    expect(merged).toContain('#EXT-X-SESSION-KEY:METHOD=AES-128,URI="primary/keys/k.bin"');
  });

  it('refuses a master whose session tag URIs break the hosting policy', () => {
    const text = master(
      '#EXT-X-SESSION-KEY:METHOD=AES-128,URI="../../../other-channel/key.bin"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1000',
      'v.m3u8',
    );
    expect(() => mergeMasters(text)).toThrow(PlaylistInvalidError);
  });

  it('refuses a non-integer EXT-X-VERSION instead of writing one (§4.3.1.2)', () => {
    const text = master('#EXT-X-VERSION:1e400', '#EXT-X-STREAM-INF:BANDWIDTH=1000', 'v.m3u8');
    expect(() => mergeMasters(text)).toThrow(PlaylistInvalidError);
  });

  it('refuses options that cannot be quoted with ConfigInvalidError (steeringUri with a quote)', () => {
    const text = master('#EXT-X-STREAM-INF:BANDWIDTH=1000', 'v.m3u8');
    expect(() => mergeMasters(text, undefined, { steeringUri: 'a"b' })).toThrow(ConfigInvalidError);
  });

  it('writes BANDWIDTH of a media-only encoder as a decimal-integer, or refuses one above 2^64−1 (§4.2)', () => {
    const model = synthesizeMaster([
      { uri: 'v.m3u8', segments: [{ bytes: 1_000_000_000, duration: 0.001 }] },
    ]);
    expect(model.variants[0]?.attributes[0]).toEqual({ name: 'BANDWIDTH', raw: '8000000000000' });
    expect(() => synthesizeMaster([{ uri: 'v.m3u8', segments: [{ bytes: 1000, duration: 1e-21 }] }])).toThrow(
      ConfigInvalidError,
    );
  });

  it('applies the URI policy to media-only rendition URIs: no scheme, host or line break gets in', () => {
    for (const uri of [
      'http:x\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttps://evil.example/x.m3u8',
      'https://evil.example/x.m3u8',
      '../other/v.m3u8',
      'a"b.m3u8',
    ]) {
      expect(() => mergeMasters({ mediaOnly: [{ uri, segments: [{ bytes: 1000, duration: 2 }] }] })).toThrow(
        ConfigInvalidError,
      );
    }
  });

  it('refuses media-only codecs holding a quote with ConfigInvalidError', () => {
    expect(() =>
      synthesizeMaster([{ uri: 'v.m3u8', segments: [{ bytes: 1000, duration: 2 }], codecs: 'a"b' }]),
    ).toThrow(ConfigInvalidError);
  });

  it('every merge of valid inputs validates with our validator and hls-parser strict (property)', () => {
    const name = fc.stringMatching(/^[a-z0-9_]{1,8}$/);
    const text = fc.string({ maxLength: 12 });
    const variant = fc.record({
      bandwidth: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      average: fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
      codecs: fc.option(text),
      name,
      variable: fc.boolean(),
      iframe: fc.boolean(),
    });
    const masterText = fc
      .record({
        version: fc.option(fc.oneof(fc.integer({ min: 1, max: 12 }).map(String), text)),
        define: fc.option(fc.stringMatching(/^[a-z0-9_./?=&-]{0,12}$/)),
        sessionData: fc.option(
          fc.oneof(
            name.map((n) => `${n}.json`),
            text,
          ),
        ),
        audio: fc.option(text),
        variants: fc.uniqueArray(variant, { minLength: 1, maxLength: 6, selector: (v) => v.name }),
      })
      .map((m) => {
        const lines = ['#EXTM3U'];
        if (m.version !== null) lines.push(`#EXT-X-VERSION:${m.version}`);
        if (m.define !== null) lines.push(`#EXT-X-DEFINE:NAME="v",VALUE="${m.define}"`);
        if (m.sessionData !== null) lines.push(`#EXT-X-SESSION-DATA:DATA-ID="com.x",URI="${m.sessionData}"`);
        if (m.audio !== null)
          lines.push(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="${m.audio}",NAME="en",URI="a.m3u8"`);
        for (const v of m.variants) {
          const attributes = [`BANDWIDTH=${v.bandwidth}`];
          if (v.average !== null) attributes.push(`AVERAGE-BANDWIDTH=${v.average}`);
          if (v.codecs !== null) attributes.push(`CODECS="${v.codecs}"`);
          if (m.audio !== null && !v.iframe) attributes.push(`AUDIO="${m.audio}"`);
          const uri = `${v.name}/index.m3u8${v.variable ? '{$v}' : ''}`;
          if (v.iframe) lines.push(`#EXT-X-I-FRAME-STREAM-INF:${attributes.join(',')},URI="${uri}"`);
          else lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, uri);
        }
        return `${lines.join('\n')}\n`;
      });
    const mediaOnly = fc
      .array(
        fc.record({
          uri: fc.oneof(
            name.map((n) => `${n}.m3u8`),
            text,
          ),
          segments: fc.array(
            fc.record({ bytes: fc.double({ min: 0, noNaN: false }), duration: fc.double({ noNaN: false }) }),
            { minLength: 1, maxLength: 3 },
          ),
          codecs: fc.option(text),
        }),
        { minLength: 1, maxLength: 3 },
      )
      .map(
        (renditions): MasterSource => ({
          mediaOnly: renditions.map(({ codecs, ...r }) => (codecs === null ? r : { ...r, codecs })),
        }),
      );
    let mergedCount = 0;
    fc.assert(
      fc.property(fc.oneof(masterText, mediaOnly), fc.boolean(), (source, steering) => {
        let merged: string;
        try {
          merged = mergeMasters(source, source, { steering }).text;
        } catch (e) {
          // Invalid inputs end in a typed error, never a TypeError or RangeError.
          expect(e).toBeInstanceOf(HlsFailoverError);
          return;
        }
        expect(validateMasterPlaylist(merged)).toMatchObject({ valid: true, errors: [], policy: [] });
        expect(parseWithHlsParser(merged, true)).toMatchObject({ success: true });
        expect(merged).not.toMatch(/%7B\$|e\+\d|Infinity|NaN/);
        mergedCount++;
      }),
      { numRuns: 400, seed: 12 },
    );
    // The generators are not so hostile that nothing merges (93 of 400 with this seed).
    expect(mergedCount).toBeGreaterThan(50);
  });
});

describe('assessFreshness: a clock outside the range of Date is a typed error', () => {
  it.each([Number.NaN, 1e20, -1e20, Number.POSITIVE_INFINITY])(
    'refuses now = %s with ConfigInvalidError',
    (now) => {
      const playlist = {
        mediaSequence: 1,
        lastSequence: 3,
        targetDuration: 2,
        endlist: true,
        lastModified: 0,
      };
      expect(() =>
        assessFreshness(undefined, {
          now,
          renditions: [{ encoder: 'primary', rendition: 'v.m3u8', playlist }],
        }),
      ).toThrow(ConfigInvalidError);
    },
  );
});
