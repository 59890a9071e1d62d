/**
 * The embedded S3-compatible endpoint: s3rver (a data directory on disk) behind a thin layer that
 * honours `If-Match` / `If-None-Match` on PutObject, atomically per key, as S3 does. s3rver
 * ignores both headers, and the workflow's race handling depends on them. Requests on one key run
 * one at a time, so a read never sees a write half done (S3 is strongly consistent).
 */

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { type Authorizer, type AwsRequest, roleFromAuthorization } from './aws-request';
import { listen } from './listen';

// s3rver ships CommonJS without types.
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;

interface S3rverObject {
  readonly bucket: string;
  readonly key: string;
  readonly content: Buffer | NodeJS.ReadableStream;
  readonly metadata: Record<string, string>;
}

interface S3rverStore {
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
}

interface S3rverInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  configureBuckets(): Promise<void>;
  on(event: 'event', listener: (event: S3rverEvent) => void): void;
  store: S3rverStore;
}

/**
 * s3rver's own putObject resolves when it *starts* writing the file (on `end()`, before the data is
 * on disk), so a read right after a write could see an empty or short object: measured about once
 * in 350 executions under load. This one writes a temporary file and renames it into place, so a
 * reader sees the old object or the new one, never part of one, and resolves only after the rename.
 */
async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function writeObjectsAtomically(store: S3rverStore): void {
  store.putObject = async (object) => {
    const path = store.getResourcePath(object.bucket, object.key, 'object');
    const content = Buffer.isBuffer(object.content) ? object.content : await readAll(object.content);
    const md5 = createHash('md5').update(content).digest('hex');
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temporary, content);
    await rename(temporary, path);
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: content.length, md5 };
  };
}

/** The S3 event record s3rver emits for every object write and delete. */
export interface S3rverEvent {
  readonly Records: readonly {
    readonly eventName: string;
    readonly eventTime: string;
    readonly s3: {
      readonly bucket: { readonly name: string };
      readonly object: {
        readonly key: string;
        readonly size?: number;
        readonly eTag?: string;
        readonly sequencer: string;
      };
    };
  }[];
}

export interface S3Endpoint {
  readonly url: string;
  readonly port: number;
  /** Credentials s3rver accepts. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  onEvent(listener: (event: S3rverEvent) => void): void;
  close(): Promise<void>;
}

/** Per-key mutual exclusion: a conditional check and the write it guards happen as one step. */
class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();
  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}

const unquote = (etag: string | undefined) => etag?.replace(/^W\//, '').replace(/"/g, '');

function preconditionFailed(res: ServerResponse, key: string): void {
  res.writeHead(412, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition><Key>${key.replace(/[<&]/g, '')}</Key></Error>`,
  );
}

/** S3's answer to If-Match on a key with no current object. */
function noSuchKey(res: ServerResponse, key: string): void {
  res.writeHead(404, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${key.replace(/[<&]/g, '')}</Key></Error>`,
  );
}

const xmlText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** S3's 403 answer, with the message naming role, action and resource. */
function accessDenied(res: ServerResponse, method: string | undefined, message: string): void {
  res.writeHead(403, { 'content-type': 'application/xml' });
  res.end(
    method === 'HEAD'
      ? undefined
      : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${xmlText(message)}</Message></Error>`,
  );
}

/**
 * The IAM requests (action, resource, context) an S3 REST request makes, as S3 authorizes them.
 * Throws for a request this endpoint does not map, so nothing a role does goes unchecked.
 */
export function s3Requests(
  role: string,
  method: string,
  bucket: string,
  key: string,
  query: URLSearchParams,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): AwsRequest[] {
  const object = `arn:aws:s3:::${bucket}/${key}`;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const request = (action: string, resource: string, context?: AwsRequest['context']): AwsRequest => ({
    role,
    action,
    resource,
    ...(context === undefined ? {} : { context }),
  });
  // x-id names the SDK operation; the others address an object version or a multipart part.
  const subresources = [...query.keys()].filter(
    (k) => !['x-id', 'uploadId', 'partNumber', 'versionId'].includes(k),
  );
  if (key !== '' && subresources.every((k) => k === 'uploads')) {
    if (method === 'GET' || method === 'HEAD') return [request('s3:GetObject', object)];
    if (method === 'DELETE') return [request('s3:DeleteObject', object)];
    if (method === 'PUT' || method === 'POST') {
      const source = headers['x-amz-copy-source'];
      const copied =
        typeof source === 'string'
          ? [request('s3:GetObject', `arn:aws:s3:::${decodeURIComponent(source.replace(/^\//, ''))}`)]
          : [];
      return [request('s3:PutObject', object), ...copied];
    }
  }
  if (
    key === '' &&
    (method === 'GET' || method === 'HEAD') &&
    subresources.every((k) => LIST_PARAMETERS.has(k))
  )
    return [request('s3:ListBucket', bucketArn, { 's3:prefix': query.get('prefix') ?? '' })];
  throw new Error(
    `the local S3 endpoint does not map ${method} /${bucket}/${key}${query.size > 0 ? `?${query}` : ''} to an IAM action, so it refuses it for role ${role}`,
  );
}

/** Query parameters of ListObjects / ListObjectsV2 (no other bucket subresource). */
const LIST_PARAMETERS = new Set([
  'list-type',
  'prefix',
  'delimiter',
  'max-keys',
  'marker',
  'continuation-token',
  'start-after',
  'encoding-type',
  'fetch-owner',
]);

export async function startS3Endpoint(options: {
  directory: string;
  bucket: string;
  port: number;
  host?: string;
  /**
   * Checks every request signed by a local Lambda's role (its access key ID names the role) against
   * that role's policies; requests from encoders, players and tests are not checked.
   */
  authorizer?: Authorizer;
}): Promise<S3Endpoint> {
  const host = options.host ?? '127.0.0.1';
  const s3rver = new S3rver({
    directory: options.directory,
    silent: true,
    allowMismatchedSignatures: true,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  await s3rver.configureBuckets();
  writeObjectsAtomically(s3rver.store);
  const handle = s3rver.callback();
  const locks = new KeyLocks();

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const role = roleFromAuthorization(req.headers.authorization);
    if (role !== undefined) {
      try {
        const { authorizer } = options;
        if (authorizer !== undefined)
          for (const request of s3Requests(
            role,
            req.method ?? 'GET',
            bucket,
            key,
            url.searchParams,
            req.headers,
          ))
            authorizer(request);
      } catch (error) {
        return accessDenied(res, req.method, (error as Error).message);
      }
      // s3rver knows only its own access key: the role's signature has served its purpose.
      delete req.headers.authorization;
    }
    // Object reads take the key's lock too: s3rver writes files in place, and S3 never serves half an object.
    const objectRequest =
      key !== '' &&
      !url.searchParams.has('uploadId') &&
      ['PUT', 'DELETE', 'GET', 'HEAD'].includes(req.method ?? '');
    if (!objectRequest) return handle(req, res);
    const release = await locks.acquire(`${bucket}/${key}`);
    res.on('close', release);
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    if (req.method === 'PUT' && (ifMatch !== undefined || ifNoneMatch !== undefined)) {
      const current = await s3rver.store.getMetadata(decodeURIComponent(bucket), key).catch(() => undefined);
      const etag = unquote(current?.etag);
      if (ifMatch !== undefined && current === undefined) return noSuchKey(res, key);
      if (
        (ifNoneMatch === '*' && current !== undefined) ||
        (ifMatch !== undefined && unquote(String(ifMatch)) !== etag)
      )
        return preconditionFailed(res, key);
    }
    handle(req, res);
  });
  const port = await listen(server, options.port, host);
  return {
    url: `http://${host}:${port}`,
    port,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    onEvent: (listener) => s3rver.on('event', listener),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
