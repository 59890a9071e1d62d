/**
 * The HTTP origin: serves the bucket the way CloudFront in front of S3 would (GET/HEAD with the
 * Content-Type and Cache-Control the workflow set, CORS for players on other origins; the health
 * state is never served), and accepts PUT/DELETE ingest the way a WebDAV origin does, so that
 * `ffmpeg -f hls -method PUT http://127.0.0.1:PORT/<channel>/primary/index.m3u8` works (chunked
 * transfer encoding included). Ingest writes to the bucket and so raises the same events.
 */

import { createServer, type Server } from 'node:http';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { listen } from './listen';

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': '*',
  'access-control-expose-headers': 'ETag, Content-Length',
};

const CONTENT_TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  aac: 'audio/aac',
  vtt: 'text/vtt',
  json: 'application/json',
};

export function contentTypeOf(key: string): string {
  return CONTENT_TYPES[key.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';
}

/** Live playlists must not be cached long; segments never change. */
function defaultCacheControl(key: string): string {
  return key.endsWith('.m3u8') || key.endsWith('.json') ? 'max-age=1' : 'max-age=86400';
}

export interface Origin {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startOrigin(options: {
  s3: S3Client;
  bucket: string;
  statePrefix: string;
  port: number;
  host?: string;
}): Promise<Origin> {
  const { s3, bucket, statePrefix } = options;
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer(async (req, res) => {
    try {
      const path = new URL(req.url ?? '/', 'http://local').pathname;
      let key: string;
      try {
        key = decodeURIComponent(path.slice(1));
      } catch {
        res.writeHead(400, CORS).end('bad path encoding\n');
        return;
      }
      if (req.method === 'OPTIONS') return void res.writeHead(204, CORS).end();
      if (key === '' || key.startsWith(statePrefix) || key.split('/').includes('..'))
        return void res.writeHead(404, CORS).end('not found\n');
      if (req.method === 'GET' || req.method === 'HEAD') {
        try {
          const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const body = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
          res.writeHead(200, {
            ...CORS,
            'content-type':
              object.ContentType && object.ContentType !== 'binary/octet-stream'
                ? object.ContentType
                : contentTypeOf(key),
            'cache-control': object.CacheControl ?? defaultCacheControl(key),
            'content-length': body.length,
            ...(object.ETag ? { etag: object.ETag } : {}),
            ...(object.LastModified ? { 'last-modified': object.LastModified.toUTCString() } : {}),
          });
          return void res.end(req.method === 'HEAD' ? undefined : body);
        } catch (error) {
          if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404)
            return void res.writeHead(404, CORS).end('not found\n');
          throw error;
        }
      }
      if (req.method === 'PUT' || req.method === 'POST') {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: Buffer.concat(chunks),
            ContentType: contentTypeOf(key),
          }),
        );
        return void res.writeHead(201, CORS).end();
      }
      if (req.method === 'DELETE') {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        return void res.writeHead(204, CORS).end();
      }
      res.writeHead(405, { ...CORS, allow: 'GET, HEAD, PUT, DELETE, OPTIONS' }).end();
    } catch (error) {
      res.writeHead(502, CORS).end(`storage error: ${(error as Error).message}\n`);
    }
  });
  const port = await listen(server, options.port, host);
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
