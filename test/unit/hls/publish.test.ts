/**
 * Published mode (issue 15): the playlists viewers read are written by the workflow from accepted
 * versions only, move forwards one segment at a time, and splice a change of encoder inside.
 */
import fc from 'fast-check';
import { parse } from 'hls-parser';
import { checkWithHlsParser } from '../../../functions/hls/parser';
import { PUBLISHED_MARKER, publishedFrom, publishPlaylist } from '../../../functions/hls/publish';
import { snapshotMediaPlaylist, validateMediaPlaylist } from '../../../functions/hls/validate-media';
import { type MediaSpec, mediaPlaylist, mismatches, urisBySequence } from '../../support/playlists';

const snapshot = (text: string) => {
  const s = snapshotMediaPlaylist(text);
  if (s === undefined) throw new Error(`not a playlist:\n${text}`);
  return s;
};

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
/** An encoder's playlist of segments first..first+count-1, 2 s each, dated from T0 (+ skew ms). */
function source(encoder: string, first: number, spec: MediaSpec & { skew?: number } = {}) {
  const text = mediaPlaylist({
    sequence: first,
    count: 4,
    dated: (n) => T0 + n * 2000 + (spec.skew ?? 0),
    ...spec,
  });
  return { encoder, text, snapshot: snapshot(text) };
}

type Published = { text: string; snapshot: ReturnType<typeof snapshot> };

/** An encoder's accepted version, from its text. */
const sourceOf = (encoder: string, text: string) => ({ encoder, text, snapshot: snapshot(text) });

/** What publishing `src` over `previous` gives: published, unchanged or refused. */
function attempt(src: ReturnType<typeof source>, previous?: Published, ended = false, rest = '360p.m3u8') {
  return publishPlaylist({ source: src, ...(previous === undefined ? {} : { previous }), rest, ended });
}

/** Publishes `src` over `previous`; throws unless it publishes. */
function publish(src: ReturnType<typeof source>, previous?: Published, ended = false, rest = '360p.m3u8') {
  const r = attempt(src, previous, ended, rest);
  if (r.kind !== 'publish') throw new Error(`${r.kind}: ${r.reason}`);
  return { ...r, published: { text: r.text, snapshot: snapshot(r.text) } };
}

/** Every version passes validation and the live-update rules (RFC 8216 §6.2.1) against the one before. */
function liveUpdateProblems(versions: readonly string[]): string[] {
  return versions.flatMap((text, i) => {
    const r = validateMediaPlaylist(text, i === 0 ? undefined : (versions[i - 1] as string));
    return r.valid ? [] : [`version ${i}: ${r.errors.map((e) => e.message).join('; ')}`];
  });
}

describe('publishPlaylist', () => {
  it("publishes the source's segments under the viewer prefix, with its media sequence, pointing at the source encoder's objects", () => {
    const r = publish(source('primary', 100), undefined, false, '720p/index.m3u8');
    const parsed = parse(r.text) as { mediaSequenceBase?: number; segments: { uri: string }[] };
    expect(parsed.mediaSequenceBase).toBe(100);
    expect(parsed.segments.map((s) => s.uri)).toEqual([
      '../../primary/720p/seg_100.ts',
      '../../primary/720p/seg_101.ts',
      '../../primary/720p/seg_102.ts',
      '../../primary/720p/seg_103.ts',
    ]);
    expect(r.text.split('\n')[1]).toBe(`${PUBLISHED_MARKER}primary 0`);
    expect(publishedFrom(r.text)).toEqual({ encoder: 'primary', offset: 0 });
    expect(checkWithHlsParser(r.text)).toEqual({ success: true });
    expect(r.lastSequence).toBe(103);
  });

  it("publishes each segment once: the second encoder's event for the same segment, or a retry, changes nothing", () => {
    const first = publish(source('primary', 100));
    const again = attempt(source('failover', 100), first.published);
    expect(again).toEqual({ kind: 'unchanged', reason: 'segment 103 is published already' });
  });

  it('never goes backwards: an older version (a late event, a restarted encoder) publishes nothing', () => {
    const first = publish(source('primary', 100));
    const older = attempt(source('primary', 98), first.published);
    expect(older.kind).toBe('unchanged');
    expect(older.kind === 'unchanged' && older.reason).toMatch(/never backwards/);
  });

  it("a one-sided EXT-X-ENDLIST never reaches viewers, nor the stopped encoder's last segment (a stop cuts it short): the other encoder's whole one follows, same numbers", () => {
    const before = publish(source('primary', 100));
    // The primary stops mid-segment 104: its last segment lasts 0.9 s.
    const stopped = mediaPlaylist({
      sequence: 101,
      count: 4,
      dated: (n) => T0 + n * 2000,
      endlist: true,
    }).replace(/#EXTINF:2\.000,\nseg_104\.ts/, '#EXTINF:0.900,\nseg_104.ts');
    const r = attempt(sourceOf('primary', stopped), before.published);
    expect(r).toEqual({ kind: 'unchanged', reason: 'segment 103 is published already' });
    const after = publish(source('failover', 101, { skew: 60 }), before.published);
    expect(after.switched).toEqual({ from: 'primary', locked: true });
    expect(after.text).not.toContain('#EXT-X-ENDLIST');
    expect(urisBySequence(after.text).get(104)).toBe('../failover/seg_104.ts');
  });

  it('when every encoder has ended, the published playlist ends too, even with no new segment', () => {
    const live = publish(source('failover', 101));
    const ended = publish(source('failover', 101, { endlist: true }), live.published, true);
    expect(ended.text).toMatch(/#EXT-X-ENDLIST\n$/);
    expect(ended.lastSequence).toBe(104);
  });

  it('a switch between output-locked encoders keeps the numbering and timing: known segments keep their URIs, new ones point at the new encoder', () => {
    const before = publish(source('primary', 100));
    const after = publish(source('failover', 102, { skew: 60 }), before.published);
    expect(after.switched).toEqual({ from: 'primary', locked: true });
    expect([...urisBySequence(after.text)]).toEqual([
      [102, '../primary/seg_102.ts'],
      [103, '../primary/seg_103.ts'],
      [104, '../failover/seg_104.ts'],
      [105, '../failover/seg_105.ts'],
    ]);
    expect(after.text).not.toContain('#EXT-X-DISCONTINUITY\n');
    expect(publishedFrom(after.text)).toEqual({ encoder: 'failover', offset: 0 });
    expect(mismatches([before.text, after.text])).toEqual([]);
    expect(liveUpdateProblems([before.text, after.text])).toEqual([]);
  });

  it('a switch between encoders that are not locked (other numbering) splices with EXT-X-DISCONTINUITY, renumbered after the last published segment, resuming at the next date', () => {
    const before = publish(source('primary', 100));
    // The failover numbers 400 higher: its 503 is the primary's 103 in time (same date), 504 is next.
    const failover = mediaPlaylist({ sequence: 503, count: 4, dated: (n) => T0 + (n - 400) * 2000 });
    const after = publish(sourceOf('failover', failover), before.published);
    expect(after.switched).toMatchObject({ from: 'primary', locked: false });
    expect([...urisBySequence(after.text)]).toEqual([
      [103, '../primary/seg_103.ts'],
      [104, '../failover/seg_504.ts'],
      [105, '../failover/seg_505.ts'],
      [106, '../failover/seg_506.ts'],
    ]);
    expect(after.text).toMatch(
      /seg_103\.ts\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:[^\n]+\n#EXTINF:2,\n\.\.\/failover\/seg_504\.ts/,
    );
    expect(publishedFrom(after.text)).toEqual({ encoder: 'failover', offset: 104 - 504 });
    // The next failover upload goes on under the same offset.
    const next = mediaPlaylist({ sequence: 504, count: 4, dated: (n) => T0 + (n - 400) * 2000 });
    const later = publish(sourceOf('failover', next), after.published);
    expect(later.lastSequence).toBe(107);
    expect(urisBySequence(later.text).get(107)).toBe('../failover/seg_507.ts');
    expect(mismatches([before.text, after.text, later.text])).toEqual([]);
    expect(liveUpdateProblems([before.text, after.text, later.text])).toEqual([]);
  });

  it('EXT-X-DISCONTINUITY-SEQUENCE counts each discontinuity that slides out of the window (RFC 8216 §4.3.3.3)', () => {
    let published = publish(source('primary', 100)).published;
    const failover = (first: number) => {
      const text = mediaPlaylist({ sequence: first, count: 4, dated: (n) => T0 + (n - 400) * 2000 });
      return { encoder: 'failover', text, snapshot: snapshot(text) };
    };
    const versions = [published.text];
    for (let first = 501; first <= 508; first++) {
      published = publish(failover(first), published).published;
      versions.push(published.text);
    }
    expect(published.snapshot.discontinuitySequence).toBe(1);
    expect(published.text).not.toContain('#EXT-X-DISCONTINUITY\n');
    expect(liveUpdateProblems(versions)).toEqual([]);
    expect(mismatches(versions)).toEqual([]);
  });

  it("keeps EXT-X-MAP and EXT-X-KEY in effect across a switch, each pointing at its encoder's objects", () => {
    const fmp4 = (encoder: string, first: number) => {
      const lines = [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-TARGETDURATION:2',
        `#EXT-X-MEDIA-SEQUENCE:${first}`,
      ];
      lines.push('#EXT-X-KEY:METHOD=AES-128,URI="key.bin"', '#EXT-X-MAP:URI="init.mp4"');
      for (let n = first; n < first + 4; n++) lines.push('#EXTINF:2.000,', `seg_${n}.m4s`);
      const text = `${lines.join('\n')}\n`;
      return { encoder, text, snapshot: snapshot(text) };
    };
    const before = publish(fmp4('primary', 100), undefined, false, 'v/index.m3u8');
    const after = publish(fmp4('failover', 102), before.published, false, 'v/index.m3u8');
    expect(after.text).toMatch(/^#EXT-X-KEY:METHOD=AES-128,URI="\.\.\/\.\.\/primary\/v\/key\.bin"$/m);
    expect(after.text).toMatch(
      /seg_103\.m4s\n#EXT-X-KEY:METHOD=AES-128,URI="\.\.\/\.\.\/failover\/v\/key\.bin"\n#EXT-X-MAP:URI="\.\.\/\.\.\/failover\/v\/init\.mp4"\n#EXTINF:2,\n\.\.\/\.\.\/failover\/v\/seg_104\.m4s/,
    );
    expect(checkWithHlsParser(after.text)).toEqual({ success: true });
  });

  it('a new event after the published playlist ended starts a new published playlist (a player never reloads an ended one)', () => {
    const ended = publish(source('primary', 101, { endlist: true }), undefined, true);
    const next = publish(source('primary', 0), ended.published);
    expect(next.text).not.toContain('#EXT-X-ENDLIST');
    expect(next.published.snapshot.mediaSequence).toBe(0);
  });

  it('the same encoder restarting its numbering mid-stream is spliced in after EXT-X-DISCONTINUITY, renumbered, never going backwards', () => {
    const before = publish(source('primary', 100));
    const restarted = mediaPlaylist({ sequence: 0, count: 4, dated: (n) => T0 + (n + 104) * 2000 });
    const after = publish(sourceOf('primary', restarted), before.published);
    expect(after.lastSequence).toBe(107);
    expect(after.published.snapshot.mediaSequence).toBe(104);
    expect(after.text).toMatch(
      /#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:[^\n]+\n#EXTINF:2,\n\.\.\/primary\/seg_0\.ts/,
    );
    expect(mismatches([before.text, after.text])).toEqual([]);
  });

  it('an unlocked switch waits for a segment dated after the published ones rather than repeat content', () => {
    const before = publish(source('primary', 100));
    // Another numbering, and its newest segment is dated before the published end.
    const behind = mediaPlaylist({ sequence: 500, count: 4, dated: (n) => T0 + (n - 402) * 2000 });
    const r = attempt(sourceOf('failover', behind), before.published);
    expect(r.kind).toBe('unchanged');
    expect(r.kind === 'unchanged' && r.reason).toMatch(/no segment dated after the published ones yet/);
  });

  it('a source that lists no segment publishes nothing over a published playlist', () => {
    const before = publish(source('primary', 100));
    const empty = mediaPlaylist({ sequence: 104, count: 0 });
    const r = attempt(sourceOf('failover', empty), before.published);
    expect(r).toEqual({ kind: 'unchanged', reason: 'failover/360p.m3u8 lists no segment to publish' });
  });

  it.each([
    [
      'a delta update',
      '#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12\n#EXT-X-SKIP:SKIPPED-SEGMENTS=2',
      /delta update/,
    ],
    ['byte ranges', '#EXT-X-BYTERANGE:100@0', /byte ranges/],
  ])(
    'refuses a source it cannot publish whole (%s): the last published version stays',
    (_name, tag, reason) => {
      const text = mediaPlaylist({ sequence: 100, count: 4 }).replace('#EXTINF', `${tag}\n#EXTINF`);
      const s = snapshotMediaPlaylist(text);
      if (s === undefined) throw new Error('no snapshot');
      const r = publishPlaylist({
        source: { encoder: 'primary', text, snapshot: s },
        rest: '360p.m3u8',
        ended: false,
      });
      expect(r.kind).toBe('refused');
      expect(r.kind === 'refused' && r.reason).toMatch(reason);
    },
  );

  it('property: any run of uploads from two locked encoders, switching at any time, publishes a playlist that only moves forwards, validates against the version before, and never changes a known URI', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            encoder: fc.constantFrom('primary', 'failover'),
            advance: fc.integer({ min: 0, max: 3 }),
          }),
          {
            minLength: 1,
            maxLength: 25,
          },
        ),
        (uploads) => {
          let first = 100;
          let published: Published | undefined;
          const versions: string[] = [];
          for (const u of uploads) {
            first += u.advance;
            const r = publishPlaylist({
              source: source(u.encoder, first, { skew: u.encoder === 'failover' ? 60 : 0 }),
              ...(published === undefined ? {} : { previous: published }),
              rest: '360p.m3u8',
              ended: false,
            });
            if (r.kind === 'refused') throw new Error(r.reason);
            if (r.kind === 'unchanged') continue;
            published = { text: r.text, snapshot: snapshot(r.text) };
            versions.push(r.text);
          }
          expect(mismatches(versions)).toEqual([]);
          expect(liveUpdateProblems(versions)).toEqual([]);
          expect(versions.every((v) => !v.includes('#EXT-X-DISCONTINUITY\n'))).toBe(true);
        },
      ),
    );
  });
});
