/**
 * Splicing (issue 14): the failed encoder's playlist, live with the healthy encoder's segments,
 * only when the two are output-locked.
 */
import fc from 'fast-check';
import { parse } from 'hls-parser';
import { checkWithHlsParser } from '../../../functions/hls/parser';
import { checkLock, SPLICE_MARKER, splicedFrom, splicePlaylist } from '../../../functions/hls/splice';
import { snapshotMediaPlaylist } from '../../../functions/hls/validate-media';
import { mediaPlaylist, mismatches, urisBySequence } from '../../support/playlists';

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

describe('splicePlaylist', () => {
  const named = (prefix: string) => (n: number) => `${prefix}_${n}.ts`;

  it("keeps the healthy encoder's media sequence; segments the failed encoder listed keep their URIs, newer ones keep the healthy encoder's name and are copied into the failed folder", () => {
    const r = splicePlaylist({ ...pair({ uri: named('p') }, { uri: named('f') }), rest: '360p.m3u8' });
    if (r.kind !== 'spliced') throw new Error(r.reason);
    const parsed = parse(r.text) as { mediaSequenceBase?: number; segments: { uri: string }[] };
    expect(parsed.mediaSequenceBase).toBe(103);
    expect(parsed.segments.map((s) => s.uri)).toEqual(['p_103.ts', 'p_104.ts', 'f_105.ts', 'f_106.ts']);
    expect(r.copies).toEqual(['f_105.ts', 'f_106.ts']);
    expect(r.lock).toEqual({ locked: true, compared: 2, basis: 'durations' });
  });

  it('never changes the URI of a media sequence number viewers know (hls.js drops such a reload: "media sequence mismatch"), splice after splice', () => {
    const failedText = mediaPlaylist({ sequence: 101, count: 4, uri: named('p') });
    const versions = [failedText];
    let current = { snapshot: snapshot(failedText), spliced: false };
    for (let first = 103; first <= 110; first++) {
      const healthyText = mediaPlaylist({ sequence: first, count: 4, uri: named('f') });
      const r = splicePlaylist({
        healthy: { encoder: 'failover', text: healthyText, snapshot: snapshot(healthyText) },
        failed: { encoder: 'primary', ...current },
        rest: '360p.m3u8',
      });
      if (r.kind !== 'spliced') throw new Error(r.reason);
      versions.push(r.text);
      current = { snapshot: snapshot(r.text), spliced: true };
    }
    expect(mismatches(versions)).toEqual([]);
    expect(urisBySequence(versions.at(-1) as string).get(113)).toBe('f_113.ts');
  });

  it("encoders that name segments alike: the restarted encoder's own playlist lists each segment under the splice's URI (its failback changes no URI)", () => {
    const r = splicePlaylist({ ...pair(), rest: '360p.m3u8' });
    if (r.kind !== 'spliced') throw new Error(r.reason);
    const restarted = mediaPlaylist({ sequence: 105, count: 3 });
    expect(mismatches([mediaPlaylist({ sequence: 101, count: 4 }), r.text, restarted])).toEqual([]);
  });

  it('marks the splice with a comment after #EXTM3U that names the healthy encoder (RFC 8216 §4.1: clients ignore comments)', () => {
    const r = splicePlaylist({ ...pair(), rest: '360p.m3u8' });
    if (r.kind !== 'spliced') throw new Error(r.reason);
    expect(r.text.split('\n').slice(0, 2)).toEqual(['#EXTM3U', `${SPLICE_MARKER}failover`]);
    expect(splicedFrom(r.text)).toBe('failover');
    expect(splicedFrom(mediaPlaylist())).toBeUndefined();
  });

  it("copies from a rendition subfolder by the segment's path inside the encoder folder: 720p/index.m3u8 lists seg_105.ts, copied as 720p/seg_105.ts", () => {
    const r = splicePlaylist({ ...pair(), rest: '720p/index.m3u8' });
    if (r.kind !== 'spliced') throw new Error(r.reason);
    expect(r.text).toContain('\nseg_105.ts\n');
    expect(r.copies).toEqual(['720p/seg_105.ts', '720p/seg_106.ts']);
  });

  it('copies by the object key a URI names: its query dropped, its percent-encoding decoded, its dot segments resolved', () => {
    const uri = (n: number) => (n < 105 ? `seg_${n}.ts` : `../v/seg%20${n}.ts?token=${n}`);
    const r = splicePlaylist({ ...pair({}, { uri }), rest: 'v/360p.m3u8' });
    if (r.kind !== 'spliced') throw new Error(r.reason);
    expect(r.text).toContain('\n../v/seg%20105.ts?token=105\n');
    expect(r.copies).toEqual(['v/seg 105.ts', 'v/seg 106.ts']);
  });

  it('points EXT-X-MAP, EXT-X-KEY, EXT-X-PART and EXT-X-PRELOAD-HINT at the healthy encoder; absolute URIs, key schemes and rendition reports stay', () => {
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
    const failedText = mediaPlaylist({ sequence: 100, count: 4, uri: (n) => `seg_${n}.m4s` });
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
    expect(r.text).toContain('\nseg_103.m4s\n');
    expect(r.text).toContain('\nhttps://cdn.example/seg_104.m4s\n');
    expect(r.text).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="../../failover/v/seg_105.part0.m4s"');
    expect(r.text).toContain('#EXT-X-RENDITION-REPORT:URI="../1080p.m3u8",LAST-MSN=104');
    expect(r.copies).toEqual([]);
  });

  it.each([
    [
      'names a variable (EXT-X-DEFINE): its object cannot be copied',
      (n: number) => `{$base}seg_${n}.ts`,
      'segment "{$base}seg_105.ts" names a variable (EXT-X-DEFINE): its object cannot be copied',
    ],
    [
      "climbs out of the encoder's folder",
      (n: number) => `../../other/seg_${n}.ts`,
      `segment "../../other/seg_105.ts" climbs out of the encoder's folder`,
    ],
    [
      'is not valid percent-encoding',
      (n: number) => `seg%zz${n}.ts`,
      'segment "seg%zz105.ts" is not a valid percent-encoded path',
    ],
    [
      'takes a name the failed encoder uses for another segment',
      (n: number) => `seg_${n - 4}.ts`,
      'segment 105 of failover is named "seg_101.ts", which primary lists as segment 101',
    ],
  ])('refuses a newer segment whose URI %s', (_what, uri, reason) => {
    const healthyText = mediaPlaylist({ sequence: 103, uri: (n) => (n < 105 ? `seg_${n}.ts` : uri(n)) });
    const r = splicePlaylist({
      healthy: { encoder: 'failover', text: healthyText, snapshot: snapshot(healthyText) },
      failed: { encoder: 'primary', snapshot: snapshot(mediaPlaylist({ sequence: 101 })) },
      rest: '360p.m3u8',
    });
    expect(r).toEqual({ kind: 'refused', reason: `360p.m3u8: ${reason}` });
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
  it('for any locked pair, naming and rendition path: known segments keep their URIs, newer ones keep the healthy URI and are copied, and hls-parser reads it strictly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom('a.m3u8', 'v/720p.m3u8', 'x/y/z/index.m3u8'),
        fc.constantFrom('seg', 'p'),
        (start, ahead, count, rest, failedName) => {
          const failedText = mediaPlaylist({ sequence: start, count, uri: (n) => `${failedName}_${n}.ts` });
          const healthyText = mediaPlaylist({ sequence: start + ahead, count });
          const r = splicePlaylist({
            healthy: { encoder: 'failover', text: healthyText, snapshot: snapshot(healthyText) },
            failed: { encoder: 'primary', snapshot: snapshot(failedText) },
            rest,
          });
          if (ahead >= count) return r.kind === 'refused'; // no segment in common
          if (r.kind !== 'spliced' || !checkWithHlsParser(r.text).success) return false;
          const folder = rest.slice(0, rest.lastIndexOf('/') + 1);
          const expected = Array.from({ length: count }, (_, i) => start + ahead + i).map((n) =>
            n < start + count ? `${failedName}_${n}.ts` : `seg_${n}.ts`,
          );
          const copies = expected.filter((_, i) => start + ahead + i >= start + count).map((u) => folder + u);
          return (
            JSON.stringify([...urisBySequence(r.text).values()]) === JSON.stringify(expected) &&
            JSON.stringify(r.copies) === JSON.stringify(copies) &&
            mismatches([failedText, r.text]).length === 0
          );
        },
      ),
    );
  });
});
