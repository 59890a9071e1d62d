/**
 * Dates the local ffmpeg encoders' media playlists as output-locked encoders date them: segment n
 * holds wall-clock time [n·S, (n+1)·S) since the Unix epoch (local/encoders.ts), so its
 * EXT-X-PROGRAM-DATE-TIME is n·S. ffmpeg dates segments from its own start-up clock instead
 * (`av_gettime()` when the muxer starts, plus the durations), so two encoders started on the same
 * boundary wrote dates 60–500 ms apart (measured), and a player that aligns playlists by date
 * (Shaka) saw a gap at each switch between them. ffmpeg writes its playlists through this small
 * HTTP relay, which rewrites the dates and forwards every request to the origin unchanged
 * otherwise; segments go to the origin directly.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { closeServer, listen } from './listen';

const PDT = '#EXT-X-PROGRAM-DATE-TIME:';
/** The local encoders' segment names: `<rendition>_<media sequence number>.ts`. */
export const SEGMENT_NUMBER = /_(\d+)\.ts$/;

/**
 * The playlist with each segment's EXT-X-PROGRAM-DATE-TIME set to its number × segmentSeconds
 * (epoch time); a playlist without dates, or a master, comes back as it was.
 */
export function dateSegments(text: string, segmentSeconds: number): string {
  if (!text.includes(PDT)) return text;
  const lines = text.split('\n');
  let dateLine: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line.startsWith(PDT)) dateLine = i;
    else if (line !== '' && !line.startsWith('#')) {
      const number = SEGMENT_NUMBER.exec(line)?.[1];
      if (dateLine !== undefined && number !== undefined)
        lines[dateLine] = `${PDT}${new Date(Number(number) * segmentSeconds * 1000).toISOString()}`;
      dateLine = undefined;
    }
  }
  return lines.join('\n');
}

/** The number of the playlist's last segment (NaN when it lists none of the local encoders'). */
function lastSegmentNumber(text: string): number {
  const numbers = text.split('\n').map((line) => SEGMENT_NUMBER.exec(line.trim())?.[1]);
  return Number(numbers.filter((n) => n !== undefined).at(-1) ?? Number.NaN);
}

export interface PlaylistDater {
  /** Where ffmpeg writes its playlists: `<url>/<channel>/<encoder>/<file>`, as on the origin. */
  readonly url: string;
  close(): Promise<void>;
}

const body = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** Attempts per request at the origin, 250 ms apart: a live encoder retries a failed playlist write. */
const ATTEMPTS = 3;
/** A forward slower than this is logged: the encoder's upload is late by as much. */
const SLOW_MS = 500;

/**
 * Starts the relay on 127.0.0.1 (a free port) in front of `originUrl`. `log` gets each failed
 * attempt at the origin, each forward slower than 0.5 s, and each media playlist update that did
 * not come (its last segment more than one past the one before).
 */
export async function startPlaylistDater(
  originUrl: string,
  segmentSeconds: number,
  log: (line: string) => void = () => undefined,
): Promise<PlaylistDater> {
  const origin = originUrl.replace(/\/+$/, '');
  const lastSegment = new Map<string, number>();
  const forward = async (method: string, path: string, headers: Record<string, string>, payload: Buffer) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await fetch(`${origin}${path}`, {
          method,
          headers,
          ...(payload.length > 0 || method === 'PUT' ? { body: payload } : {}),
          signal: AbortSignal.timeout(5_000),
        });
        if (answer.status < 500 || attempt === ATTEMPTS) return answer;
        log(`playlist dater: ${method} ${path}: the origin answered ${answer.status}; retrying`);
      } catch (error) {
        if (attempt === ATTEMPTS) throw error;
        log(`playlist dater: ${method} ${path}: ${(error as Error).message}; retrying`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      try {
        const received = await body(req);
        let payload = received;
        if (method === 'PUT' && path.endsWith('.m3u8')) {
          const text = received.toString('utf8');
          payload = Buffer.from(dateSegments(text, segmentSeconds));
          const last = lastSegmentNumber(text);
          const before = lastSegment.get(path);
          if (before !== undefined && last > before + 1)
            log(
              `playlist dater: no update of ${path} between segments ${before} and ${last} (a restart, or ffmpeg skipped one)`,
            );
          if (!Number.isNaN(last)) lastSegment.set(path, last);
        }
        const headers: Record<string, string> = {};
        const type = req.headers['content-type'];
        if (type !== undefined) headers['content-type'] = type;
        const sent = Date.now();
        const answer = await forward(method, path, headers, payload);
        if (Date.now() - sent > SLOW_MS)
          log(`playlist dater: ${method} ${path} took the origin ${Date.now() - sent} ms`);
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
        res.end(Buffer.from(await answer.arrayBuffer()));
      } catch (error) {
        log(`playlist dater: ${method} ${path} failed: ${(error as Error).message}`);
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`playlist dater: the origin did not answer: ${(error as Error).message}\n`);
      }
    })();
  });
  // ffmpeg shuts its side of the connection once the body is sent, then reads the answer: keep
  // the half-open connection until the answer is written (as the origin does).
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  const port = await listen(server, 0, '127.0.0.1');
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}
