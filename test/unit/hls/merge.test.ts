import fc from 'fast-check';
import {
  ConfigInvalidError,
  LadderMismatchError,
  mergeMasters,
  PlaylistInvalidError,
  validateMasterPlaylist,
} from '../../../functions/hls';
import { expectAcceptedEverywhere } from '../../support/accept';
import { fixture } from '../../support/playlists';

const full = fixture('master-full.m3u8');
const simple = fixture('master-simple.m3u8');
const linesOf = (text: string, prefix: string) => text.split('\n').filter((l) => l.startsWith(prefix));

describe('mergeMasters (docs/design.md, the merged index)', () => {
  it('lists every variant once per encoder with identical attributes and its own PATHWAY-ID', async () => {
    const { text, order } = mergeMasters(simple, simple);
    expect(order).toEqual(['primary', 'failover']);
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-CONTENT-STEERING:SERVER-URI="steering.json",PATHWAY-ID="primary"',
        '#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,PATHWAY-ID="primary"',
        'primary/720p.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,PATHWAY-ID="primary"',
        'primary/360p.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,PATHWAY-ID="failover"',
        'failover/720p.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,PATHWAY-ID="failover"',
        'failover/360p.m3u8',
        '',
      ].join('\n'),
    );
    const parsed = await expectAcceptedEverywhere(text);
    // hls.js with content steering plays the pathway the index names first.
    expect(parsed.levels.map((l) => l.pathwayId)).toEqual(['primary', 'primary']);
  });

  it("duplicates audio and subtitle groups per encoder and points each encoder's variants at its own groups", async () => {
    const { text } = mergeMasters(full, full);
    expect(linesOf(text, '#EXT-X-MEDIA:TYPE=AUDIO').map((l) => /GROUP-ID="([^"]+)"/.exec(l)?.[1])).toEqual([
      'primary-aud',
      'primary-aud',
      'failover-aud',
      'failover-aud',
    ]);
    expect(text).toContain(
      'GROUP-ID="failover-subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="failover/subs/en/index.m3u8"',
    );
    for (const line of linesOf(text, '#EXT-X-STREAM-INF')) {
      const pathway = /PATHWAY-ID="([^"]+)"/.exec(line)?.[1];
      expect(line).toContain(`AUDIO="${pathway}-aud",SUBTITLES="${pathway}-subs"`);
    }
    const parsed = await expectAcceptedEverywhere(text);
    expect(parsed.audioTracks).toBeGreaterThan(0);
  });

  it('shares CLOSED-CAPTIONS groups (no URI: the captions travel in the video)', () => {
    const { text } = mergeMasters(full, full);
    expect(linesOf(text, '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS')).toEqual([
      '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="English CC",LANGUAGE="en",INSTREAM-ID="CC1"',
    ]);
    expect(linesOf(text, '#EXT-X-STREAM-INF').every((l) => l.includes('CLOSED-CAPTIONS="cc"'))).toBe(true);
  });

  it('duplicates I-frame variants per encoder', () => {
    const { text } = mergeMasters(full, full);
    expect(
      linesOf(text, '#EXT-X-I-FRAME-STREAM-INF').map((l) =>
        /URI="([^"]+)".*PATHWAY-ID="([^"]+)"/.exec(l)?.slice(1),
      ),
    ).toEqual([
      ['primary/1080p/iframes.m3u8', 'primary'],
      ['primary/720p/iframes.m3u8', 'primary'],
      ['failover/1080p/iframes.m3u8', 'failover'],
      ['failover/720p/iframes.m3u8', 'failover'],
    ]);
  });

  it('writes session-level tags once (VERSION, INDEPENDENT-SEGMENTS, START, SESSION-DATA, SESSION-KEY)', () => {
    const { text } = mergeMasters(full, full);
    for (const tag of [
      '#EXT-X-VERSION',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-START',
      '#EXT-X-SESSION-DATA',
      '#EXT-X-SESSION-KEY',
    ]) {
      expect(linesOf(text, tag)).toHaveLength(1);
    }
  });

  it('lists the preferred encoder first and names it in EXT-X-CONTENT-STEERING', async () => {
    const { text, order } = mergeMasters(full, full, { prefer: 'failover' });
    expect(order).toEqual(['failover', 'primary']);
    expect(text).toContain('#EXT-X-CONTENT-STEERING:SERVER-URI="steering.json",PATHWAY-ID="failover"');
    expect(linesOf(text, '#EXT-X-STREAM-INF')[0]).toContain('PATHWAY-ID="failover"');
    const parsed = await expectAcceptedEverywhere(text);
    expect(parsed.levels.every((l) => l.url.includes('/ch/failover/'))).toBe(true);
  });

  it('without steering writes plain redundant variants: no CONTENT-STEERING, no PATHWAY-ID', async () => {
    const { text } = mergeMasters(simple, simple, { steering: false });
    expect(text).not.toMatch(/CONTENT-STEERING|PATHWAY-ID/);
    const parsed = await expectAcceptedEverywhere(text);
    expect(parsed.levels).toHaveLength(2); // hls.js folds each redundant pair into one level
  });

  it('puts URIs under a base URL per encoder (one CDN per encoder)', async () => {
    const { text } = mergeMasters(full, full, {
      baseUrls: {
        primary: 'https://a.cdn.example/live/ch1/primary',
        failover: 'https://b.cdn.example/live/ch1/failover/',
      },
    });
    expect(text).toContain('\nhttps://a.cdn.example/live/ch1/primary/1080p/index.m3u8\n');
    expect(text).toContain('URI="https://b.cdn.example/live/ch1/failover/audio/en/index.m3u8"');
    await expectAcceptedEverywhere(text, ['a.cdn.example', 'b.cdn.example']);
  });

  it("resolves URIs relative to the master's folder inside the encoder folder", () => {
    const { text } = mergeMasters(simple, undefined, { masterDirs: { primary: 'hls' } });
    expect(text).toContain('\nprimary/hls/720p.m3u8\n');
  });

  it('reports a ladder mismatch as a typed error naming the differences', () => {
    const other = simple.replace('BANDWIDTH=800000', 'BANDWIDTH=900000');
    expect(() => mergeMasters(simple, other)).toThrow(LadderMismatchError);
    try {
      mergeMasters(simple, other);
    } catch (e) {
      expect((e as LadderMismatchError).differences).toEqual([
        expect.stringMatching(/^only primary has EXT-X-STREAM-INF BANDWIDTH=800000/),
        expect.stringMatching(/^only failover has EXT-X-STREAM-INF BANDWIDTH=900000/),
      ]);
      expect((e as Error).name).toBe('LadderMismatch');
    }
  });

  it('merges a mismatched ladder with warnings when asked to be lenient', async () => {
    const other = simple.replace('BANDWIDTH=800000', 'BANDWIDTH=900000');
    const { text, warnings } = mergeMasters(simple, other, { lenient: true });
    expect(warnings).toHaveLength(2);
    await expectAcceptedEverywhere(text);
  });

  it('rejects an invalid input master with every violation', () => {
    const bad = '#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1\n../v.m3u8\n';
    expect(() => mergeMasters(bad, simple)).toThrow(PlaylistInvalidError);
    try {
      mergeMasters(bad, simple);
    } catch (e) {
      expect((e as PlaylistInvalidError).violations.map((v) => v.rule)).toEqual([
        'stream-inf-bandwidth-missing',
        'uri-escapes-folder',
      ]);
      expect((e as Error).message).toMatch(/^primary master is invalid/);
    }
  });

  it('synthesizes a master for an encoder that writes only media playlists (BANDWIDTH = peak segment bit rate)', async () => {
    const mediaOnly = [
      {
        uri: '720p/index.m3u8',
        segments: [
          { bytes: 500_000, duration: 2 },
          { bytes: 700_000, duration: 2 },
        ],
        codecs: 'avc1.64001f,mp4a.40.2',
        resolution: '1280x720',
      },
      { uri: '360p/index.m3u8', segments: [{ bytes: 200_000, duration: 2 }] },
    ];
    const { text } = mergeMasters({ mediaOnly }, { mediaOnly });
    expect(linesOf(text, '#EXT-X-STREAM-INF')[0]).toBe(
      '#EXT-X-STREAM-INF:BANDWIDTH=2800000,AVERAGE-BANDWIDTH=2400000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,PATHWAY-ID="primary"',
    );
    await expectAcceptedEverywhere(text);
  });

  it('gives two media-only encoders one measured BANDWIDTH per rendition (their segment sizes differ slightly)', async () => {
    const primary = { mediaOnly: [{ uri: '180p.m3u8', segments: [{ bytes: 100_000, duration: 2 }] }] };
    const failover = { mediaOnly: [{ uri: '180p.m3u8', segments: [{ bytes: 95_000, duration: 2 }] }] };
    const { text, warnings } = mergeMasters(primary, failover);
    expect(warnings).toEqual([]);
    expect(linesOf(text, '#EXT-X-STREAM-INF')).toEqual([
      '#EXT-X-STREAM-INF:BANDWIDTH=400000,AVERAGE-BANDWIDTH=390000,PATHWAY-ID="primary"',
      '#EXT-X-STREAM-INF:BANDWIDTH=400000,AVERAGE-BANDWIDTH=390000,PATHWAY-ID="failover"',
    ]);
    await expectAcceptedEverywhere(text);
  });

  it('builds an index from one encoder alone, and from the failover alone', () => {
    expect(linesOf(mergeMasters(simple).text, '#EXT-X-STREAM-INF')).toHaveLength(2);
    const { text, order } = mergeMasters(undefined, simple);
    expect(order).toEqual(['failover']);
    expect(text).toContain('PATHWAY-ID="failover"');
  });

  it('reports every bad option at once', () => {
    expect(() =>
      mergeMasters(undefined, undefined, {
        encoders: ['a b', 'a b'],
        prefer: 'x',
        baseUrls: { zz: 'ftp://x' },
      }),
    ).toThrow(ConfigInvalidError);
    try {
      mergeMasters(undefined, undefined, {
        encoders: ['a b', 'a b'],
        prefer: 'x',
        baseUrls: { zz: 'ftp://x' },
      });
    } catch (e) {
      expect((e as ConfigInvalidError).problems).toHaveLength(7);
    }
  });

  it('is deterministic and byte-stable, and its output always validates (property)', () => {
    const variant = fc.record({
      bandwidth: fc.integer({ min: 1, max: 50_000_000 }),
      height: fc.constantFrom(144, 360, 720, 1080),
      name: fc.stringMatching(/^[a-z0-9_]{1,8}$/),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(variant, { minLength: 1, maxLength: 8, selector: (v) => v.name }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('primary', 'failover'),
        (variants, withAudio, steering, prefer) => {
          const lines = ['#EXTM3U', '#EXT-X-VERSION:4'];
          if (withAudio)
            lines.push('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",DEFAULT=YES,URI="a/en.m3u8"');
          for (const v of variants) {
            lines.push(
              `#EXT-X-STREAM-INF:BANDWIDTH=${v.bandwidth},RESOLUTION=${(v.height * 16) / 9}x${v.height}${withAudio ? ',AUDIO="a"' : ''}`,
              `${v.name}/index.m3u8`,
            );
          }
          const master = `${lines.join('\n')}\n`;
          const first = mergeMasters(master, master, { steering, prefer });
          const second = mergeMasters(master, master, { steering, prefer });
          expect(second.text).toBe(first.text);
          expect(validateMasterPlaylist(first.text).errors).toEqual([]);
          expect(linesOf(first.text, '#EXT-X-STREAM-INF')).toHaveLength(variants.length * 2);
        },
      ),
      { numRuns: 200 },
    );
  });
});
