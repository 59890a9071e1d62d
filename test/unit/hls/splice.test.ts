/**
 * Splicing (issue 14): the failed encoder's playlist, live with the healthy encoder's segments,
 * only when the two are output-locked.
 */
import fc from 'fast-check';
import { parse } from 'hls-parser';
import { checkWithHlsParser } from '../../../functions/hls/parser';
import { checkLock, SPLICE_MARKER, splicedFrom, splicePlaylist } from '../../../functions/hls/splice';
import { snapshotMediaPlaylist } from '../../../functions/hls/validate-media';
import { mediaPlaylist } from '../../support/playlists';

const snapshot = (text: string) => {
  const s = snapshotMediaPlaylist(text);
  if (s === undefined) throw new Error(`not a playlist:\n${text}`);
  return s;
};

/** The healthy encoder (failover) is at 103–106; the failed one (primary) stopped at 101–104. */
function pair(failedSpec = {}, healthySpec = {}) {
  const failed = mediaPlaylist({ sequence: 101, count: 4, ...failedSpec });
  const healthy = mediaPlaylist({ sequence: 103, count: 4, ...healthySpec });
  return {
    failed: { encoder: 'primary', snapshot: snapshot(failed) },
    healthy: { encoder: 'failover', text: healthy, snapshot: snapshot(healthy) },
  };
}

/** Where a URI written in the playlist at `ch/<encoder>/<rest>` leads. */
const resolve = (uri: string, encoder: string, rest: string) =>
  new URL(uri, `http://cdn/ch/${encoder}/${rest}`).href;

describe('splicePlaylist', () => {
  it("keeps the healthy encoder's media sequence and points every segment at its objects", () => {
    const r = splicePlaylist({ ...pair(), rest: '360p.m3u8' });
    if (r.kind !== 'spliced') throw new Error(r.reason);
    const parsed = parse(r.text) as { mediaSequenceBase?: number; segments: { uri: string }[] };
    expect(parsed.mediaSequenceBase).toBe(103);
    expect(parsed.segments.map((s) => s.uri)).toEqual([
      '../failover/seg_103.ts',
      '../failover/seg_104.ts',
      '../failover/seg_105.ts',
      '../failover/seg_106.ts',
    ]);
    expect(r.lock).toEqual({ locked: true, compared: 2, basis: 'durations' });
  });

  it('marks the splice with a comment after #EXTM3U that names the healthy encoder (RFC 8216 §4.1: clients ignore comments)', () => {
    const r = splicePlaylist({ ...pair(), rest: '360p.m3u8' });
    if (r.kind !== 'spliced') throw new Error(r.reason);
    expect(r.text.split('\n').slice(0, 2)).toEqual(['#EXTM3U', `${SPLICE_MARKER}failover`]);
    expect(splicedFrom(r.text)).toBe('failover');
    expect(splicedFrom(mediaPlaylist())).toBeUndefined();
  });

  it('climbs out of a rendition subfolder: 720p/index.m3u8 lists ../../failover/720p/<segment>', () => {
    const r = splicePlaylist({ ...pair(), rest: '720p/index.m3u8' });
    if (r.kind !== 'spliced') throw new Error(r.reason);
    expect(r.text).toContain('\n../../failover/720p/seg_103.ts\n');
    expect(resolve('../../failover/720p/seg_103.ts', 'primary', '720p/index.m3u8')).toBe(
      'http://cdn/ch/failover/720p/seg_103.ts',
    );
  });

  it('rewrites the URI of EXT-X-MAP, EXT-X-KEY, EXT-X-PART and EXT-X-PRELOAD-HINT; absolute URIs, key schemes and rendition reports stay', () => {
    const healthyText = [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-MEDIA-SEQUENCE:103',
      '#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"',
      '#EXT-X-KEY:METHOD=AES-128,URI="keys/k1.bin",IV=0x00000000000000000000000000000001',
      '#EXT-X-KEY:METHOD=SAMPLE-AES,KEYFORMAT="com.apple.streamingkeydelivery",URI="skd://key-1"',
      '#EXTINF:2.0,',
      'seg_103.m4s',
      '#EXT-X-PART:DURATION=1.0,URI="seg_104.part0.m4s"',
      '#EXTINF:2.0,',
      'https://cdn.example/seg_104.m4s',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_105.part0.m4s"',
      '#EXT-X-RENDITION-REPORT:URI="../1080p.m3u8",LAST-MSN=104',
    ].join('\n');
    const failedText = mediaPlaylist({ sequence: 101, count: 4 });
    const r = splicePlaylist({
      healthy: { encoder: 'failover', text: healthyText, snapshot: snapshot(healthyText) },
      failed: { encoder: 'primary', snapshot: snapshot(failedText) },
      rest: 'v/720p.m3u8',
    });
    if (r.kind !== 'spliced') throw new Error(r.reason);
    expect(r.text).toContain('#EXT-X-MAP:URI="../../failover/v/init.mp4",BYTERANGE="720@0"');
    expect(r.text).toContain('URI="../../failover/v/keys/k1.bin",IV=0x00000000000000000000000000000001');
    expect(r.text).toContain('URI="skd://key-1"');
    expect(r.text).toContain('#EXT-X-PART:DURATION=1.0,URI="../../failover/v/seg_104.part0.m4s"');
    expect(r.text).toContain('\nhttps://cdn.example/seg_104.m4s\n');
    expect(r.text).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="../../failover/v/seg_105.part0.m4s"');
    expect(r.text).toContain('#EXT-X-RENDITION-REPORT:URI="../1080p.m3u8",LAST-MSN=104');
  });

  it('keeps a variable reference in a URI as written (substituted by the client, rfc8216bis §4.3)', () => {
    const healthyText = mediaPlaylist({ sequence: 103, uri: (n) => `{$base}seg_${n}.ts` }).replace(
      '#EXT-X-VERSION:3',
      '#EXT-X-VERSION:8\n#EXT-X-DEFINE:NAME="base",VALUE="v1/"',
    );
    const r = splicePlaylist({
      healthy: { encoder: 'failover', text: healthyText, snapshot: snapshot(healthyText) },
      failed: { encoder: 'primary', snapshot: snapshot(mediaPlaylist({ sequence: 101 })) },
      rest: '360p.m3u8',
    });
    if (r.kind !== 'spliced') throw new Error(r.reason);
    expect(r.text).toContain('\n../failover/{$base}seg_103.ts');
  });

  it('refuses to take viewers backwards: the healthy playlist ends before the failed one did', () => {
    const r = splicePlaylist({ ...pair({ sequence: 105 }, { sequence: 101 }), rest: '360p.m3u8' });
    expect(r).toEqual({
      kind: 'refused',
      reason: "failover/360p.m3u8 ends at segment 104, before primary's 108: viewers would go backwards",
    });
  });

  it('refuses without an accepted version of the failed encoder to check the lock against', () => {
    const { healthy } = pair();
    const r = splicePlaylist({
      healthy,
      failed: { encoder: 'primary', snapshot: undefined },
      rest: '360p.m3u8',
    });
    expect(r.kind).toBe('refused');
  });

  it('refuses encoders that are not output-locked, and says why', () => {
    const r = splicePlaylist({ ...pair({ duration: 2 }, { duration: 1.92 }), rest: '360p.m3u8' });
    expect(r).toEqual({
      kind: 'refused',
      reason: '360p.m3u8: not output-locked: segment 103 lasts 2 s in one encoder and 1.92 s in the other',
    });
  });
});

describe('checkLock', () => {
  const withDates = (text: string, startMs: number) =>
    text.replace(/#EXTINF:/, `#EXT-X-PROGRAM-DATE-TIME:${new Date(startMs).toISOString()}\n#EXTINF:`);

  it('the same sequence, durations and dates within 250 ms (encoders dating from their own start, like ffmpeg): locked on durations and dates', () => {
    const failed = snapshot(withDates(mediaPlaylist({ sequence: 101 }), Date.UTC(2026, 0, 1, 0, 0, 0)));
    const healthy = snapshot(withDates(mediaPlaylist({ sequence: 103 }), Date.UTC(2026, 0, 1, 0, 0, 4, 240)));
    expect(checkLock(failed, healthy)).toEqual({ locked: true, compared: 2, basis: 'durations and dates' });
  });

  it('dates more than 250 ms apart for one media sequence number: not locked, and by how much', () => {
    const failed = snapshot(withDates(mediaPlaylist({ sequence: 101 }), Date.UTC(2026, 0, 1, 0, 0, 0)));
    const healthy = snapshot(withDates(mediaPlaylist({ sequence: 103 }), Date.UTC(2026, 0, 1, 0, 0, 4, 260)));
    const lock = checkLock(failed, healthy);
    expect(lock).toEqual({
      locked: false,
      reason:
        'segment 103 is dated 2026-01-01T00:00:04.000Z in one encoder and 2026-01-01T00:00:04.260Z in the other (260 ms apart, tolerance 250 ms)',
    });
  });

  it('a discontinuity in one encoder only: not locked (EXT-X-DISCONTINUITY-SEQUENCE would disagree)', () => {
    const failed = snapshot(mediaPlaylist({ sequence: 101, discontinuities: [103] }));
    const healthy = snapshot(mediaPlaylist({ sequence: 103 }));
    expect(checkLock(failed, healthy)).toEqual({
      locked: false,
      reason: 'segment 103 is in discontinuity sequence 1 in one encoder and 0 in the other',
    });
  });

  it('no segment in common: the lock cannot be verified', () => {
    const lock = checkLock(
      snapshot(mediaPlaylist({ sequence: 90 })),
      snapshot(mediaPlaylist({ sequence: 103 })),
    );
    expect(lock.locked).toBe(false);
  });
});

describe('splice properties', () => {
  it('for any locked pair and rendition path, every spliced URI leads where the healthy one led, and hls-parser reads it strictly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom('a.m3u8', 'v/720p.m3u8', 'x/y/z/index.m3u8'),
        (start, ahead, count, rest) => {
          const failedText = mediaPlaylist({ sequence: start, count });
          const healthyText = mediaPlaylist({ sequence: start + ahead, count });
          const r = splicePlaylist({
            healthy: { encoder: 'failover', text: healthyText, snapshot: snapshot(healthyText) },
            failed: { encoder: 'primary', snapshot: snapshot(failedText) },
            rest,
          });
          if (ahead >= count) return r.kind === 'refused'; // no segment in common
          if (r.kind !== 'spliced' || !checkWithHlsParser(r.text).success) return false;
          const spliced = (parse(r.text) as { segments: { uri: string }[] }).segments.map((s) =>
            resolve(s.uri, 'primary', rest),
          );
          const original = (parse(healthyText) as { segments: { uri: string }[] }).segments.map((s) =>
            resolve(s.uri, 'failover', rest),
          );
          return JSON.stringify(spliced) === JSON.stringify(original);
        },
      ),
    );
  });
});
