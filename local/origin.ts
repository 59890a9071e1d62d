/**
 * The HTTP origin: serves the bucket the way CloudFront in front of S3 would (GET/HEAD with the
 * Cache-Control the workflow set, CORS for players on other origins; the health state is never
 * served), and accepts PUT/DELETE ingest the way a WebDAV origin does, so that
 * `ffmpeg -f hls -method PUT http://127.0.0.1:PORT/<channel>/primary/index.m3u8` works (chunked
 * transfer encoding included). Ingest writes to the bucket and so raises the same events.
 *
 * It is safe to leave running while browsing: a page on another site may read (GET, HEAD) but not
 * write; every answer carries a content type of HLS, a segment or JSON chosen by the key's
 * extension (never a stored one, so nothing served runs as a page) and `nosniff`; an upload is
 * received whole under a size limit before it reaches the bucket (in memory when small, spooled to
 * disk when large), and one that stops sending is dropped after the stall timeout.
 */

import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { listen } from './listen';
import {
  crossSiteProblem,
  DEFAULT_MAX_UPLOAD_BYTES,
  DEFAULT_SPOOL_ABOVE_BYTES,
  DEFAULT_STALL_TIMEOUT_MS,
  declaredOverLimit,
  decodePath,
  keyProblem,
  type LocalLimits,
  receiveBody,
  UploadTooLargeError,
  workflowObjectRefusal,
} from './request-guards';
import { createLocalS3Client, type S3Endpoint } from './s3-endpoint';
import type { StorageHealth } from './storage-health';

/** Players on any origin may read; no page may write (no CORS allowance for PUT/DELETE/POST). */
const READ_CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': 'Range, If-None-Match, If-Modified-Since',
  'access-control-expose-headers': 'ETag, Content-Length',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/mp4',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  cmfv: 'video/mp4',
  aac: 'audio/aac',
  m4a: 'audio/mp4',
  cmfa: 'audio/mp4',
  vtt: 'text/vtt',
  webvtt: 'text/vtt',
  json: 'application/json',
};

/** The content type the origin serves `key` with: by extension, `application/octet-stream` otherwise. */
export function contentTypeOf(key: string): string {
  const extension = /\.([^./\\]+)$/.exec(key)?.[1]?.toLowerCase() ?? '';
  return CONTENT_TYPES[extension] ?? 'application/octet-stream';
}

/** The S3 endpoint's answers to a write its disk refused (local/storage-health.ts), passed on as they are. */
const DISK_STATUSES: ReadonlySet<number> = new Set([503, 507]);

/** Live playlists must not be cached long; segments never change. */
function defaultCacheControl(key: string): string {
  return key.endsWith('.m3u8') || key.endsWith('.json') ? 'max-age=1' : 'max-age=86400';
}

export interface Origin {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startOrigin(
  options: {
    s3Endpoint: Pick<S3Endpoint, 'url' | 'credentials'>;
    bucket: string;
    statePrefix: string;
    port: number;
    host?: string;
    /**
     * What a key is when only the workflow may write or delete it (functions/keys.ts
     * workflowObjectOf): a PUT or DELETE of it gets 403 saying so. @default - none
     */
    workflowObject?: (key: string) => string | undefined;
    /** Where uploads above `spoolAboveBytes` are spooled before they are stored (emptied at start). */
    spoolDirectory: string;
    /** Where the disk's refusals of spool writes are reported. @default - answered only */
    storage?: StorageHealth;
    /**
     * Why viewers may not read `key`, if they may not: published mode keeps the encoders' own
     * playlists from viewers, as the bucket policy does for CloudFront. @default - none
     */
    viewerDenied?: (key: string) => string | undefined;
    /** Told of each request answered 502 (a storage error), with why. @default - answered only */
    log?: (line: string) => void;
  } & LocalLimits,
): Promise<Origin> {
  const { bucket, statePrefix, spoolDirectory } = options;
  const host = options.host ?? '127.0.0.1';
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const spoolAboveBytes = options.spoolAboveBytes ?? DEFAULT_SPOOL_ABOVE_BYTES;
  // Its own socket pool, one socket per request in flight: viewers and encoders waiting on one
  // busy key never take the sockets another key (or the workflow) needs. One attempt: the endpoint's
  // answer (a refused write's 503 or 507, a busy key's 503) goes to the client, who retries.
  const s3 = createLocalS3Client(options.s3Endpoint, {
    maxSockets: Number.POSITIVE_INFINITY,
    maxAttempts: 1,
  });
  await rm(spoolDirectory, { recursive: true, force: true });
  await mkdir(spoolDirectory, { recursive: true });

  /**
   * Reads an object whole. A read that got no answer from the endpoint (a connection reset, a
   * body cut short) is tried once more, as CloudFront retries an origin it could not reach
   * (`ConnectionAttempts`); an answer, such as 404 or a full disk's 503, is final.
   */
  const readWhole = async (
    key: string,
    attempt = 1,
  ): Promise<{ object: GetObjectCommandOutput; body: Buffer }> => {
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { object, body: Buffer.from((await object.Body?.transformToByteArray()) ?? []) };
    } catch (error) {
      if (error instanceof S3ServiceException || attempt > 1) throw error;
      return readWhole(key, attempt + 1);
    }
  };

  /**
   * Receives the body (within the limit and the stall timeout; small ones in memory, larger ones
   * spooled to disk) and only then stores it: a client slow to send never holds the key's lock.
   */
  const store = async (req: IncomingMessage, key: string) => {
    // A body that stops arriving: Node closes the connection (as on the S3 endpoint).
    req.setTimeout(stallTimeoutMs);
    const body = await receiveBody(req, {
      limit: maxUploadBytes,
      spoolAboveBytes,
      spoolPath: join(spoolDirectory, randomBytes(8).toString('hex')),
    });
    req.setTimeout(0);
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: 'buffer' in body ? body.buffer : createReadStream(body.file),
          ContentLength: body.size,
          ContentType: contentTypeOf(key),
        }),
      );
    } finally {
      if ('file' in body) await rm(body.file, { force: true });
    }
  };

  const server: Server = createServer(async (req, res) => {
    const read = req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS';
    const headersWith = (headers: OutgoingHttpHeaders): OutgoingHttpHeaders => ({
      ...(read ? READ_CORS : {}),
      'x-content-type-options': 'nosniff',
      ...headers,
    });
    /** A status with a one-line text message, or none. */
    const answer = (status: number, message?: string, headers: OutgoingHttpHeaders = {}) =>
      void res
        .writeHead(
          status,
          headersWith({
            ...(message === undefined ? {} : { 'content-type': 'text/plain; charset=utf-8' }),
            ...headers,
          }),
        )
        .end(message === undefined ? undefined : `${message}\n`);
    try {
      // The raw path: URL parsing would resolve dot segments that the key check must see.
      const key = decodePath((req.url ?? '/').split('?', 1)[0]?.slice(1) ?? '');
      if (key === undefined) return answer(400, 'malformed %-escape in the path');
      if (req.method === 'OPTIONS') return answer(204);
      const problem = keyProblem(key);
      if (problem !== undefined) return answer(400, problem);
      // Viewers never learn what the reserved prefix holds; a write there is refused below, saying why.
      if (key === '' || (read && key.startsWith(statePrefix))) return answer(404, 'not found');
      if (req.method === 'GET' || req.method === 'HEAD') {
        const denied = options.viewerDenied?.(key);
        if (denied !== undefined) return answer(403, denied);
        try {
          const { object, body } = await readWhole(key);
          res.writeHead(
            200,
            headersWith({
              'content-type': contentTypeOf(key),
              'cache-control': object.CacheControl ?? defaultCacheControl(key),
              'content-length': body.length,
              ...(object.ETag ? { etag: object.ETag } : {}),
              ...(object.LastModified ? { 'last-modified': object.LastModified.toUTCString() } : {}),
            }),
          );
          return void res.end(req.method === 'HEAD' ? undefined : body);
        } catch (error) {
          if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404)
            return answer(404, 'not found');
          throw error;
        }
      }
      if (req.method !== 'PUT' && req.method !== 'POST' && req.method !== 'DELETE')
        return answer(405, undefined, { allow: 'GET, HEAD, PUT, DELETE, OPTIONS' });
      const crossSite = crossSiteProblem(req);
      if (crossSite !== undefined) return answer(403, crossSite);
      const owned = options.workflowObject?.(key);
      if (owned !== undefined) return answer(403, workflowObjectRefusal(key, owned));
      if (req.method === 'DELETE') {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        return answer(204);
      }
      const declared = declaredOverLimit(req, maxUploadBytes);
      if (declared !== undefined)
        return answer(413, `${new UploadTooLargeError(maxUploadBytes).message} (got ${declared} bytes)`, {
          connection: 'close',
        });
      await store(req, key);
      return answer(201);
    } catch (error) {
      if (error instanceof UploadTooLargeError) return answer(413, error.message, { connection: 'close' });
      if (res.headersSent || req.socket.destroyed) return void res.destroy();
      // A full or read-only disk, here (the spool) or at the S3 endpoint: its status and reason.
      const problem = options.storage?.failed(error, spoolDirectory);
      if (problem !== undefined) return answer(problem.status, problem.reason);
      if (error instanceof S3ServiceException && DISK_STATUSES.has(error.$metadata.httpStatusCode ?? 0))
        return answer(error.$metadata.httpStatusCode ?? 503, error.message);
      const reason = `storage error: ${(error as Error).message}`;
      options.log?.(`origin: ${req.method} ${req.url} answered 502 (${reason})`);
      answer(502, reason);
    }
  });
  // ffmpeg shuts its side of the connection once the body is sent, then reads the answer. Node
  // would drop the request at that FIN while the body still streams to disk (the pipeline having
  // paused the socket); half-open connections keep it until the answer is written.
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  const port = await listen(server, options.port, host);
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        s3.destroy();
      }),
  };
}
