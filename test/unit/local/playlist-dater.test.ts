import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dateSegments, startPlaylistDater } from '../../../local/playlist-dater';

/** What ffmpeg 5.1 writes with `-hls_flags program_date_time`: dates from its own start-up clock. */
const FFMPEG_PLAYLIST = [
  '#EXTM3U',
  '#EXT-X-VERSION:3',
  '#EXT-X-TARGETDURATION:2',
  '#EXT-X-MEDIA-SEQUENCE:898066519',
  '#EXT-X-PROGRAM-DATE-TIME:2026-12-01T13:50:38.302+0000',
  '#EXTINF:2.000000,',
  '270p_898066519.ts',
  '#EXT-X-PROGRAM-DATE-TIME:2026-12-01T13:50:40.302+0000',
  '#EXTINF:2.000000,',
  '270p_898066520.ts',
  '',
].join('\n');

describe('dateSegments: segment n of a locked encoder starts at n × S since the epoch', () => {
  it("replaces ffmpeg's start-up-clock dates with each segment's place on the locked timeline", () => {
    const dated = dateSegments(FFMPEG_PLAYLIST, 2);
    expect(dated).toContain(
      '#EXT-X-PROGRAM-DATE-TIME:2026-12-01T13:50:38.000Z\n#EXTINF:2.000000,\n270p_898066519.ts',
    );
    expect(dated).toContain(
      '#EXT-X-PROGRAM-DATE-TIME:2026-12-01T13:50:40.000Z\n#EXTINF:2.000000,\n270p_898066520.ts',
    );
    // Nothing else changes.
    expect(dated.replace(/^#EXT-X-PROGRAM-DATE-TIME:.*$/gm, '')).toBe(
      FFMPEG_PLAYLIST.replace(/^#EXT-X-PROGRAM-DATE-TIME:.*$/gm, ''),
    );
  });

  it('leaves a playlist without dates, and a master playlist, as they are', () => {
    const undated = FFMPEG_PLAYLIST.replace(/^#EXT-X-PROGRAM-DATE-TIME:.*\n/gm, '');
    expect(dateSegments(undated, 2)).toBe(undated);
    const master = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n270p.m3u8\n';
    expect(dateSegments(master, 2)).toBe(master);
  });
});

describe('startPlaylistDater', () => {
  it("forwards a PUT to the origin with the dates rewritten, and answers with the origin's status", async () => {
    const received: { method: string; url: string; body: string }[] = [];
    const origin = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          method: req.method ?? '',
          url: req.url ?? '',
          body: Buffer.concat(chunks).toString(),
        });
        res.writeHead(201).end();
      });
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const dater = await startPlaylistDater(`http://127.0.0.1:${(origin.address() as AddressInfo).port}`, 2);
    try {
      const answer = await fetch(`${dater.url}/ch/primary/270p.m3u8`, {
        method: 'PUT',
        body: FFMPEG_PLAYLIST,
      });
      expect(answer.status).toBe(201);
      expect(received).toEqual([
        { method: 'PUT', url: '/ch/primary/270p.m3u8', body: dateSegments(FFMPEG_PLAYLIST, 2) },
      ]);
      expect(received[0]?.body).not.toBe(FFMPEG_PLAYLIST);
    } finally {
      await dater.close();
      await new Promise<void>((resolve) => origin.close(() => resolve()));
    }
  });
});
