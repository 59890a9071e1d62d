/**
 * The pre-made publisher's live playlists, version after version as it writes them, against the
 * project's validator with the live-update rules (rfc8216bis §6.2.1–6.2.2): across loop wraps,
 * after a stall (catch-up), a kill and restart, and a stop.
 */
import { validateMediaPlaylist } from '../../../functions/hls';
import { LIST_SIZE } from '../../../local/encoder-base';
import { loadDemoMedia, loopedMediaPlaylist, loopOf } from '../../../local/premade-encoder';

const media = loadDemoMedia();

function playlist(segmentSeconds: number, stream: string, first: number, last: number, ended = false) {
  const loop = loopOf(media, segmentSeconds);
  const durations = loop.streams.find((s) => s.name === stream)?.segments.map((s) => s.duration) ?? [];
  return loopedMediaPlaylist({ stream, durations, targetDuration: loop.targetDuration, first, last, ended });
}

/** The window the publisher writes when segment `last` is done, in a run that began at `runFirst`. */
const window = (runFirst: number, last: number) => [Math.max(runFirst, last - LIST_SIZE + 1), last] as const;

describe('pre-made media', () => {
  it('ships a master with an audio group and streams of equal length, well under 1 MB', () => {
    expect(media.master).toMatch(/#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="[^"]+".*URI="audio\.m3u8"/);
    expect(media.streams.map((s) => s.name).sort()).toEqual(['180p', '360p', 'audio']);
    const bytes = media.streams.flatMap((s) => s.pieces).reduce((sum, p) => sum + p.bytes.length, 0);
    expect(bytes).toBeLessThan(600_000);
  });

  it('joins pieces into whole MPEG-TS segments (188-byte packets, sync byte 0x47) for 1, 2, 4 and 8 s', () => {
    for (const seconds of [1, 2, 4, 8]) {
      const loop = loopOf(media, seconds);
      expect(loop.length).toBe(8 / seconds);
      expect(loop.targetDuration).toBe(seconds);
      for (const stream of loop.streams)
        for (const segment of stream.segments) {
          expect(segment.bytes.length % 188).toBe(0);
          expect(segment.bytes[0]).toBe(0x47);
          expect(Math.round(segment.duration)).toBeLessThanOrEqual(seconds);
        }
    }
  });

  it('refuses a segment length that does not divide the loop, naming the ones that do', () => {
    expect(() => loopOf(media, 3)).toThrow(
      /segmentSeconds must be one of 1, 2, 4, 8 \(got 3\); or install ffmpeg/,
    );
  });
});

describe('pre-made live playlists', () => {
  it.each([1, 2, 4])(
    'every version passes the live-update rules against the one before, across loop wraps (%i s segments)',
    (seconds) => {
      const start = 1_000_003; // any wall-clock sequence number: not a multiple of the loop
      for (const stream of ['audio', '360p']) {
        let previous: string | undefined;
        for (let last = start; last < start + 30; last++) {
          const [first] = window(start, last);
          const text = playlist(seconds, stream, first, last);
          const result = validateMediaPlaylist(text, previous);
          expect({ last, errors: result.errors, warnings: result.warnings }).toEqual({
            last,
            errors: [],
            warnings: [],
          });
          previous = text;
        }
      }
    },
  );

  it('starts each wrap of the loop with EXT-X-DISCONTINUITY and counts wraps that left the window in EXT-X-DISCONTINUITY-SEQUENCE (RFC 8216 §6.2.2)', () => {
    // 2 s segments: a loop of 4; segments 8 and 12 start a wrap.
    const before = playlist(2, '360p', 7, 12);
    expect(before).toMatch(/#EXT-X-DISCONTINUITY-SEQUENCE:2\n/);
    expect(before).toMatch(/#EXT-X-DISCONTINUITY\n#EXTINF:2\.000000,\n360p_8\.ts\n/);
    expect(before).toMatch(/#EXT-X-DISCONTINUITY\n#EXTINF:2\.000000,\n360p_12\.ts\n/);
    // Segment 8 (with its discontinuity) leaves the window: the sequence goes up by one.
    const after = playlist(2, '360p', 9, 14);
    expect(after).toMatch(/#EXT-X-DISCONTINUITY-SEQUENCE:3\n/);
    expect(validateMediaPlaylist(after, playlist(2, '360p', 8, 13)).errors).toEqual([]);
  });

  it('after a stall it catches up with a jump the validator accepts (a gap it cannot check, no error)', () => {
    const stalledAt = playlist(2, '360p', ...window(100, 110));
    const caughtUp = playlist(2, '360p', ...window(100, 125));
    expect(validateMediaPlaylist(caughtUp, stalledAt).errors).toEqual([]);
  });

  it('after a kill a restarted run continues the numbering: valid against the last version before the kill once its window holds 3 × the target duration (RFC 8216 §6.2.2)', () => {
    const beforeKill = playlist(2, '360p', ...window(100, 110));
    for (const restartAt of [110, 111, 130]) {
      const rules = (last: number) =>
        validateMediaPlaylist(playlist(2, '360p', ...window(restartAt, last)), beforeKill).errors.map(
          (v) => v.rule,
        );
      // A fresh window of one or two 2 s segments has dropped the old ones: shorter than 3 × 2 s.
      expect({ restartAt, rules: rules(restartAt + 1) }).toEqual({
        restartAt,
        rules: ['live-playlist-too-short'],
      });
      expect({ restartAt, rules: rules(restartAt + 2) }).toEqual({ restartAt, rules: [] });
    }
  });

  it('a stop ends the playlist with EXT-X-ENDLIST and changes no segment', () => {
    const live = playlist(2, 'audio', ...window(100, 110));
    const ended = playlist(2, 'audio', ...window(100, 110), true);
    expect(ended).toBe(`${live}#EXT-X-ENDLIST\n`);
    expect(validateMediaPlaylist(ended, live).errors).toEqual([]);
  });
});
