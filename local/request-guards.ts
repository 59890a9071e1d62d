/**
 * What the local runtime's HTTP servers check before they touch storage: object keys that would
 * leave the data directory, requests a web page on another site makes, bodies over the upload
 * limit, and clients that stop sending. Shared by the S3 endpoint, the origin and the status server.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { isAbsolute, relative, resolve } from 'node:path';

/** Default {@link LocalLimits.maxUploadBytes}: 64 MiB, far above any HLS segment. */
export const DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
/** Default {@link LocalLimits.stallTimeoutMs}. */
export const DEFAULT_STALL_TIMEOUT_MS = 10_000;

/** Bounds every local server applies to a request. */
export interface LocalLimits {
  /** The largest object a PUT may store. @default 64 MiB */
  readonly maxUploadBytes?: number | undefined;
  /**
   * A request that moves no byte for this long while it holds (or streams into) a key is closed,
   * and its key released. @default 10 s
   */
  readonly stallTimeoutMs?: number | undefined;
  /**
   * A PUT body up to this size is kept in memory and stored from there; a larger one is spooled
   * to disk as it arrives. @default 1 MiB
   */
  readonly spoolAboveBytes?: number | undefined;
}

/**
 * Why `key` cannot be stored, or undefined when it can. S3 itself accepts keys with `.` or `..`
 * path segments; this emulator stores each key as a file under its data directory, so it refuses
 * them (a `\` counts as a separator too, whatever the platform), and NUL, which no file name holds.
 */
export function keyProblem(key: string): string | undefined {
  if (key.includes('\0')) return `key "${printable(key)}" contains a NUL character`;
  const dot = key.split(/[/\\]/).find((segment) => segment === '.' || segment === '..');
  return dot === undefined
    ? undefined
    : `key "${printable(key)}" has a "${dot}" path segment: S3 allows it, but this local emulator stores keys as files under its data directory and refuses keys that could resolve outside it; rename the object`;
}

/**
 * The answer to ingest writing or deleting an object the workflow owns (`what` says which, from
 * functions/keys.ts workflowObjectOf).
 */
export function workflowObjectRefusal(key: string, what: string): string {
  return `"${printable(key)}" is ${what}, which only the workflow writes: ingest (encoders, the origin's PUT and DELETE, S3 clients without the workflow's credentials) may not write or delete it; encoders write inside their own folders, <channel>/<encoder>/…`;
}

/** The key as an error message may quote it: control characters shown as `?`. */
const printable = (text: string) => [...text].map((c) => ((c.codePointAt(0) ?? 0) < 0x20 ? '?' : c)).join('');

/** True when `path`, once resolved, is `root` or lies under it. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Decodes one URL-encoded path; undefined for a malformed `%` escape. */
export function decodePath(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

/**
 * Why a browser page on another site must not make this request, or undefined when it may: a
 * request whose `Origin` is not this server's own, or that the browser marks `Sec-Fetch-Site:
 * cross-site`. Encoders and scripts send neither header.
 */
export function crossSiteProblem(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  const own = `http://${req.headers.host ?? ''}`;
  if (origin !== undefined && origin !== own)
    return `cross-site ${req.method} refused: a page on ${origin} may not change this server (${own}); browsers may only GET and HEAD`;
  if (req.headers['sec-fetch-site'] === 'cross-site')
    return `cross-site ${req.method} refused: browsers may only GET and HEAD here`;
  return undefined;
}

/** Thrown when a body runs past the upload limit. */
export class UploadTooLargeError extends Error {
  override readonly name = 'UploadTooLargeError';
  constructor(readonly limit: number) {
    super(
      `the upload is larger than the limit of ${limit} bytes (${(limit / 1048576).toFixed(0)} MiB); raise it with --max-upload-mb`,
    );
  }
}

/** Default {@link LocalLimits.spoolAboveBytes}: 1 MiB, above any playlist and most segments. */
export const DEFAULT_SPOOL_ABOVE_BYTES = 1024 * 1024;

/** Past this much body waiting for the disk, the source is paused until the disk catches up. */
const SPOOL_BUFFER_BYTES = 8 * 1024 * 1024;

/** A body as {@link receiveBody} kept it: in memory, or in the file it was spooled to. */
export type ReceivedBody = { readonly size: number; readonly md5: string } & (
  | { readonly buffer: Buffer }
  | { readonly file: string }
);

/**
 * Reads `source` to its end, counting its bytes and their MD5, and rejects with
 * {@link UploadTooLargeError} as soon as more than `limit` bytes arrive, so an oversized body is
 * never kept whole. A body of at most `spoolAboveBytes` stays in memory: the playlists encoders
 * send every segment are stored with no disk round trip, which the e2e detection budget measured
 * (issue 16). A larger one is written to `spoolPath` as it arrives, never held in memory.
 *
 * The body is read as it arrives rather than piped with backpressure: Node drops a request whose
 * client closes the connection once it has sent everything (ffmpeg at exit does) and discards
 * whatever body the request still buffers, so a paused request would lose its tail. Only a disk
 * far behind (over {@link SPOOL_BUFFER_BYTES}) pauses it. A source that closes or fails before its
 * end rejects too; on any rejection nothing is left at `spoolPath`.
 */
export function receiveBody(
  source: NodeJS.ReadableStream,
  options: { readonly limit: number; readonly spoolAboveBytes: number; readonly spoolPath: string },
): Promise<ReceivedBody> {
  const { limit, spoolAboveBytes, spoolPath } = options;
  return new Promise((resolve, reject) => {
    const hash = createHash('md5');
    const chunks: Buffer[] = [];
    let size = 0;
    let file: WriteStream | undefined;
    let ended = false;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      source.removeListener('data', onData);
      outcome();
    };
    const fail = (error: Error) =>
      settle(() => {
        if (file === undefined) return reject(error);
        file.destroy();
        rm(spoolPath, { force: true }).then(
          () => reject(error),
          () => reject(error),
        );
      });
    const onData = (data: Buffer | string) => {
      const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data);
      size += chunk.length;
      if (size > limit) return fail(new UploadTooLargeError(limit));
      hash.update(chunk);
      if (file === undefined) {
        chunks.push(chunk);
        if (size <= spoolAboveBytes) return;
        file = createWriteStream(spoolPath);
        file.on('error', fail);
        for (const held of chunks.splice(0)) file.write(held);
      } else file.write(chunk);
      if (file.writableLength > SPOOL_BUFFER_BYTES) {
        source.pause();
        file.once('drain', () => source.resume());
      }
    };
    source.on('data', onData);
    source.once('error', fail);
    source.once('close', () => {
      if (!ended) fail(new Error('the client closed the connection before the body ended'));
    });
    source.once('end', () => {
      ended = true;
      const md5 = hash.digest('hex');
      if (file === undefined)
        return settle(() => resolve({ size, md5, buffer: Buffer.concat(chunks, size) }));
      file.end((error?: Error | null) =>
        error ? fail(error) : settle(() => resolve({ size, md5, file: spoolPath })),
      );
    });
  });
}

/** The declared body length when it is over `limit`, else undefined (none declared, or within). */
export function declaredOverLimit(req: IncomingMessage, limit: number): number | undefined {
  const length = Number(req.headers['content-length']);
  return Number.isFinite(length) && length > limit ? length : undefined;
}
