/**
 * What the local runtime's HTTP servers check before they touch storage: object keys that would
 * leave the data directory, requests a web page on another site makes, bodies over the upload
 * limit, and clients that stop sending. Shared by the S3 endpoint, the origin and the status server.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isAbsolute, relative, resolve } from 'node:path';
import { Transform } from 'node:stream';

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

/** What {@link limitedBody} counted once its stream ended. */
export interface BodyDigest {
  size: number;
  md5: string;
}

/**
 * A pass-through that counts bytes and their MD5 and fails with {@link UploadTooLargeError} as
 * soon as more than `limit` bytes pass, so an oversized body is never stored whole.
 */
export function limitedBody(limit: number): { stream: Transform; digest: BodyDigest } {
  const hash = createHash('md5');
  const digest: BodyDigest = { size: 0, md5: '' };
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      digest.size += chunk.length;
      if (digest.size > limit) return callback(new UploadTooLargeError(limit));
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      digest.md5 = hash.digest('hex');
      callback();
    },
  });
  return { stream, digest };
}

/** The declared body length when it is over `limit`, else undefined (none declared, or within). */
export function declaredOverLimit(req: IncomingMessage, limit: number): number | undefined {
  const length = Number(req.headers['content-length']);
  return Number.isFinite(length) && length > limit ? length : undefined;
}
