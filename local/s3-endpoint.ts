/**
 * The embedded S3-compatible endpoint: s3rver (a data directory on disk) behind a thin layer that
 * honours `If-Match` / `If-None-Match` on PutObject, atomically per key, as S3 does. s3rver
 * ignores both headers, and the workflow's race handling depends on them. Requests on one key run
 * one at a time, so a read never sees a write half done (S3 is strongly consistent). Objects the
 * workflow owns (`workflowObject`) may be written or deleted only by requests carrying the
 * workflow's session token, as on AWS only the workflow's roles may (issue 16 §2).
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { type Authorizer, type AwsRequest, roleFromAuthorization } from './aws-request';
import { KeyLocks } from './key-locks';
import { listen } from './listen';
import {
  DEFAULT_MAX_UPLOAD_BYTES,
  DEFAULT_SPOOL_ABOVE_BYTES,
  DEFAULT_STALL_TIMEOUT_MS,
  declaredOverLimit,
  decodePath,
  isInside,
  keyProblem,
  type LocalLimits,
  receiveBody,
  UploadTooLargeError,
  workflowObjectRefusal,
} from './request-guards';
import { StorageHealth } from './storage-health';

// s3rver ships CommonJS without types.
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;
/** s3rver's error: its `code`, `message`, `detail` and `status` become the XML answer. */
const S3Error = require('s3rver/lib/models/error') as new (
  code: string,
  message: string,
  detail?: Record<string, unknown>,
) => Error & { status: number };

interface S3rverObject {
  readonly bucket: string;
  readonly key: string;
  readonly content: Buffer | NodeJS.ReadableStream;
  readonly metadata: Record<string, string>;
}

interface S3rverStore {
  getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
  copyObject(
    sourceBucket: string,
    sourceKey: string,
    bucket: string,
    key: string,
    metadata: Record<string, string> | null,
  ): Promise<Record<string, string>>;
  deleteObject(bucket: string, key: string): Promise<void>;
  initiateUpload(
    bucket: string,
    key: string,
    uploadId: string,
    metadata: Record<string, string>,
  ): Promise<void>;
}

interface S3rverInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  configureBuckets(): Promise<void>;
  on(event: 'event', listener: (event: S3rverEvent) => void): void;
  store: S3rverStore;
}

/** s3rver's metadata names kept in `metadata.json` (with every `x-amz-meta-*`). */
const ALLOWED_METADATA = (require('s3rver/lib/models/object') as { ALLOWED_METADATA: readonly string[] })
  .ALLOWED_METADATA;

/** A temporary file's name: beside its target, unique, and recognizable as an orphan after a crash. */
const temporaryOf = (target: string) => `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
const TEMPORARY = /\.\d+\.[0-9a-f]{12}\.tmp$/;

/**
 * Files written beside their targets, then renamed into place together (the first staged last),
 * or all removed: a full or failing disk stops a write before anything is replaced.
 */
class Staging {
  private readonly files: { readonly temporary: string; readonly target: string }[] = [];

  constructor(private readonly storage: StorageHealth) {}

  /** The temporary file for `target` (written by the caller). */
  path(target: string): string {
    const temporary = temporaryOf(target);
    this.files.push({ temporary, target });
    return temporary;
  }

  async write(target: string, data: string | Buffer): Promise<void> {
    const temporary = this.path(target);
    this.storage.check(temporary);
    await writeFile(temporary, data);
  }

  async commit(): Promise<void> {
    for (const { temporary, target } of [...this.files].reverse()) await rename(temporary, target);
  }

  async discard(): Promise<void> {
    await Promise.all(
      this.files.map(({ temporary }) => rm(temporary, { force: true }).catch(() => undefined)),
    );
  }
}

/** The files s3rver keeps beside an object (`object.md5`, `metadata.json`), as its putMetadata writes them. */
function metadataFiles(
  store: S3rverStore,
  bucket: string,
  key: string,
  metadata: Record<string, string>,
  md5: string | undefined,
): (readonly [string, string])[] {
  const kept = Object.entries(metadata).filter(
    ([name]) => ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-'),
  );
  return [
    ...(md5 === undefined ? [] : [[store.getResourcePath(bucket, key, 'object.md5'), md5] as const]),
    [store.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(Object.fromEntries(kept), null, 2)],
  ];
}

/** A write the disk refused as s3rver's answer: 507 InsufficientStorage or 503 ServiceUnavailable, saying why. */
function storageError(storage: StorageHealth, error: unknown, path: string): unknown {
  const problem = storage.failed(error, path);
  if (problem === undefined) return error;
  const code = problem.status === 507 ? 'InsufficientStorage' : 'ServiceUnavailable';
  return Object.assign(new S3Error(code, problem.reason, { Reason: problem.code }), {
    status: problem.status,
  });
}

/** One object write, once its data is on disk and before it replaces the key's object. */
export interface ObjectWrite {
  readonly bucket: string;
  readonly key: string;
  /** The MD5 of the body, hex (the ETag without quotes). */
  readonly etag: string;
  readonly size: number;
}

/**
 * s3rver's own putObject resolves when it *starts* writing the file (on `end()`, before the data is
 * on disk), so a read right after a write could see an empty or short object: measured about once
 * in 350 executions under load. This one receives the body (counted against the upload limit; in
 * memory up to `spoolAboveBytes`, streamed into the temporary file above that), writes it and its
 * metadata to temporary files, calls `beforeCommit` (the runtime's event journal), and renames
 * them into place, so a reader sees the old object or the new one, never part of one, and resolves
 * only after the rename. A body that ends early (client gone), runs over the limit or meets a full
 * or read-only disk leaves nothing behind; the disk's refusals are the answer (507 or 503) and go
 * to `storage`. Deletes report the disk's refusals the same way.
 */
function writeObjectsAtomically(
  store: S3rverStore,
  options: {
    limit: number;
    spoolAboveBytes: number;
    storage: StorageHealth;
    beforeCommit: ((write: ObjectWrite) => Promise<void>) | undefined;
  },
): void {
  const { storage, beforeCommit } = options;
  store.putObject = async (object) => {
    const path = store.getResourcePath(object.bucket, object.key, 'object');
    const staging = new Staging(storage);
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await mkdir(dirname(path), { recursive: true });
      const temporary = staging.path(path);
      const body = await receiveBody(source, { ...options, spoolPath: temporary });
      storage.check(temporary);
      if ('buffer' in body) await writeFile(temporary, body.buffer);
      for (const [target, data] of metadataFiles(store, object.bucket, object.key, object.metadata, body.md5))
        await staging.write(target, data);
      await beforeCommit?.({ bucket: object.bucket, key: object.key, etag: body.md5, size: body.size });
      await staging.commit();
      storage.succeeded(path);
      return { size: body.size, md5: body.md5 };
    } catch (error) {
      await staging.discard();
      if (error instanceof UploadTooLargeError)
        throw Object.assign(new S3Error('EntityTooLarge', error.message, { MaxSizeAllowed: error.limit }), {
          status: 413,
        });
      throw storageError(storage, error, path);
    }
  };
  store.putMetadata = async (bucket, key, metadata, md5) => {
    const staging = new Staging(storage);
    const path = store.getResourcePath(bucket, key, 'metadata.json');
    try {
      for (const [target, data] of metadataFiles(store, bucket, key, metadata, md5))
        await staging.write(target, data);
      await staging.commit();
      storage.succeeded(path);
    } catch (error) {
      await staging.discard();
      throw storageError(storage, error, path);
    }
  };
  const deleteObject = store.deleteObject.bind(store);
  store.deleteObject = async (bucket, key) => {
    const path = store.getResourcePath(bucket, key, 'object');
    try {
      storage.check(path);
      await deleteObject(bucket, key);
      storage.succeeded(path);
    } catch (error) {
      throw storageError(storage, error, path);
    }
  };
}

/** Removes the temporary files a killed runtime left under `directory`. */
function removeOrphanTemporaries(directory: string): void {
  for (const name of readdirSync(directory, { recursive: true }))
    if (TEMPORARY.test(String(name))) rmSync(join(directory, String(name)), { force: true });
}

/**
 * The final check under every other: s3rver maps each bucket and key to a path, and no path may
 * leave the storage root, whatever parsing upstream let through.
 */
function confineToDirectory(store: S3rverStore, root: string): void {
  const confine =
    <A extends unknown[]>(map: (...args: A) => string) =>
    (...args: A) => {
      const path = map(...args);
      if (!isInside(root, path))
        throw new S3Error('InvalidArgument', `the object would be stored outside ${root}; refused`);
      return path;
    };
  store.getResourcePath = confine(store.getResourcePath.bind(store));
  store.getBucketPath = confine(store.getBucketPath.bind(store));
}

/**
 * Every way s3rver creates, replaces or deletes an object (PUT, copy, multipart, DELETE,
 * DeleteObjects) throws 403 AccessDenied with `refusal`'s message for a key it refuses. Checked
 * where s3rver stores, so no route, encoding or bulk request goes around it.
 */
function guardObjectWrites(store: S3rverStore, refusal: (key: string) => string | undefined): void {
  const guarded =
    <A extends unknown[], R>(method: (...args: A) => Promise<R>, keyOf: (...args: A) => string) =>
    async (...args: A): Promise<R> => {
      const key = keyOf(...args);
      const message = refusal(key);
      if (message !== undefined) throw new S3Error('AccessDenied', message, { Key: key });
      return method.apply(store, args);
    };
  store.putObject = guarded(store.putObject, (object) => object.key);
  store.copyObject = guarded(store.copyObject, (_sourceBucket, _sourceKey, _bucket, key) => key);
  store.deleteObject = guarded(store.deleteObject, (_bucket, key) => key);
  store.initiateUpload = guarded(store.initiateUpload, (_bucket, key) => key);
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

/** Credentials of the local endpoint (s3rver checks none; the session token tells the workflow). */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Where SigV4 puts a session token (a role's temporary credentials have one). */
const SESSION_TOKEN_HEADER = 'x-amz-security-token';

export interface S3Endpoint {
  readonly url: string;
  readonly port: number;
  /** Credentials s3rver accepts: those of ingest (encoders, the origin, tools). */
  readonly credentials: LocalCredentials;
  /**
   * The workflow's credentials (the runtime's own client, the Lambdas): their session token, new
   * at every start, is what lets a request write or delete the objects `workflowObject` names.
   */
  readonly workflowCredentials: LocalCredentials & { readonly sessionToken: string };
  onEvent(listener: (event: S3rverEvent) => void): void;
  close(): Promise<void>;
}

const unquote = (etag: string | undefined) => etag?.replace(/^W\//, '').replace(/"/g, '');

const xmlText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** An S3 error answer; HEAD gets the status alone, as S3 does. */
function s3Error(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  more: Record<string, string> = {},
): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/xml', 'x-content-type-options': 'nosniff' });
  const details = Object.entries(more)
    .map(([name, value]) => `<${name}>${xmlText(value)}</${name}>`)
    .join('');
  res.end(
    req.method === 'HEAD'
      ? undefined
      : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xmlText(message)}</Message>${details}</Error>`,
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

/**
 * An SDK client of the local endpoint. Each caller gets its own socket pool, so one caller's
 * requests waiting on a busy key never starve another's (the origin's ingest, the workflow).
 */
export function createLocalS3Client(
  endpoint: Pick<S3Endpoint, 'url' | 'credentials'>,
  pool: { readonly maxSockets: number; readonly maxAttempts?: number } = { maxSockets: 50 },
): S3Client {
  const client = new S3Client({
    ...(pool.maxAttempts === undefined ? {} : { maxAttempts: pool.maxAttempts }),
    endpoint: endpoint.url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: endpoint.credentials,
    // On loopback to s3rver, checksums and SigV4 signing are CPU with no use: the pipeline bench
    // measured -15% CPU per event without them (s3rver accepts unsigned requests).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The endpoint answers a request stuck behind a key within LOCK_WAIT_MS: past twice that, the
    // socket is given up rather than held.
    requestHandler: {
      // An idle socket is closed by this side first (CLIENT_IDLE_MS < the endpoint's keep-alive):
      // a request never goes out on a socket the endpoint is closing (ECONNRESET, "socket hang up").
      httpAgent: new Agent({ keepAlive: true, maxSockets: pool.maxSockets, timeout: CLIENT_IDLE_MS }),
      requestTimeout: 2 * LOCK_WAIT_MS,
    },
  });
  client.middlewareStack.remove('httpSigningMiddleware');
  // Unsigned, so the session token goes in the header SigV4 would have put it in.
  const token = endpoint.credentials.sessionToken;
  if (token !== undefined)
    client.middlewareStack.add(
      (next) => (args) => {
        const { headers } = args.request as { headers?: Record<string, string> };
        if (headers !== undefined) headers[SESSION_TOKEN_HEADER] = token;
        return next(args);
      },
      { step: 'build', name: 'localSessionToken' },
    );
  return client;
}

/** How long a request waits for a key another request holds before it gets 503 SlowDown. */
const LOCK_WAIT_MS = 30_000;

/**
 * How long the local clients keep an idle socket to the endpoint, and how long the endpoint keeps
 * an idle connection (Node's default, 5 s, is shorter than Node's agents keep theirs without a
 * `timeout`). The client closes first, so it never sends a request on a socket the server is
 * closing: with one attempt (the origin's), that race was a viewer's 502 once the event loop lagged.
 */
export const CLIENT_IDLE_MS = 4_000;
export const ENDPOINT_KEEP_ALIVE_MS = 65_000;

export async function startS3Endpoint(
  options: {
    directory: string;
    bucket: string;
    port: number;
    host?: string;
    /**
     * Checks every request signed by a local Lambda's role (its access key ID names the role) against
     * that role's policies; requests from encoders, players and tests are not checked.
     */
    authorizer?: Authorizer;
    /**
     * What a key is when only the workflow may write or delete it (functions/keys.ts
     * workflowObjectOf), or undefined. A request without the workflow's session token
     * ({@link S3Endpoint.workflowCredentials}) gets 403 AccessDenied for such a key.
     * @default - every caller may write every key
     */
    workflowObject?: (key: string) => string | undefined;
    /**
     * Where the disk's refusals of writes go (and the test's injected faults come from).
     * @default - refusals are answered, not reported further
     */
    storage?: StorageHealth;
    /**
     * Called for every object write once its data is on disk, before it replaces the key's object
     * and is acknowledged; a rejection fails the write (nothing replaced). @default - none
     */
    beforeCommit?: (write: ObjectWrite) => Promise<void>;
  } & LocalLimits,
): Promise<S3Endpoint> {
  const host = options.host ?? '127.0.0.1';
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const s3rver = new S3rver({
    directory: options.directory,
    silent: true,
    allowMismatchedSignatures: true,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  await s3rver.configureBuckets();
  removeOrphanTemporaries(options.directory);
  confineToDirectory(s3rver.store, options.directory);
  writeObjectsAtomically(s3rver.store, {
    limit: maxUploadBytes,
    spoolAboveBytes: options.spoolAboveBytes ?? DEFAULT_SPOOL_ABOVE_BYTES,
    storage: options.storage ?? new StorageHealth({ dataDir: options.directory, raise: () => undefined }),
    beforeCommit: options.beforeCommit,
  });
  const workflowCredentials = {
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    sessionToken: randomBytes(16).toString('hex'),
  };
  /** Per request: whether it carries the workflow's session token. */
  const caller = new AsyncLocalStorage<boolean>();
  /** Why this request may not write or delete `key` (an object the workflow owns), or undefined. */
  const ingestRefusal = (key: string) => {
    const what = caller.getStore() === true ? undefined : options.workflowObject?.(key);
    return what === undefined ? undefined : workflowObjectRefusal(key, what);
  };
  guardObjectWrites(s3rver.store, ingestRefusal);
  const handle = s3rver.callback();
  const locks = new KeyLocks();

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('x-content-type-options', 'nosniff');
    // The raw path, as s3rver's router splits it (URL parsing would resolve its dot segments).
    const [rawPath = '', rawQuery = ''] = (req.url ?? '/').split('?', 2);
    const path = decodePath(rawPath);
    if (path === undefined)
      return s3Error(req, res, 400, 'InvalidURI', `malformed %-escape in the path ${rawPath.slice(0, 200)}`);
    const [, bucket = '', ...rest] = path.split('/');
    const key = rest.join('/');
    const query = new URLSearchParams(rawQuery);
    const copySource = req.headers['x-amz-copy-source'];
    const copied = typeof copySource === 'string' ? decodePath(copySource) : '';
    if (copied === undefined)
      return s3Error(req, res, 400, 'InvalidArgument', 'malformed %-escape in x-amz-copy-source');
    const problem = keyProblem(path) ?? keyProblem(copied);
    if (problem !== undefined) return s3Error(req, res, 400, 'InvalidArgument', problem, { Key: key });
    const uploadId = query.get('uploadId');
    if (uploadId !== null && !/^[0-9a-f]+$/.test(uploadId))
      return s3Error(req, res, 404, 'NoSuchUpload', 'The specified multipart upload does not exist.');
    if (req.method === 'PUT' || req.method === 'POST') {
      const declared = declaredOverLimit(req, maxUploadBytes);
      if (declared !== undefined)
        return s3Error(
          req,
          res,
          413,
          'EntityTooLarge',
          `${new UploadTooLargeError(maxUploadBytes).message} (got ${declared} bytes)`,
          { MaxSizeAllowed: String(maxUploadBytes) },
        );
    }
    // Refused before anything else, whether or not the object exists (the store checks too).
    const refusal =
      key === '' || req.method === 'GET' || req.method === 'HEAD' ? undefined : ingestRefusal(key);
    if (refusal !== undefined) return s3Error(req, res, 403, 'AccessDenied', refusal, { Key: key });
    const role = roleFromAuthorization(req.headers.authorization);
    if (role !== undefined) {
      try {
        const { authorizer } = options;
        if (authorizer !== undefined)
          for (const request of s3Requests(role, req.method ?? 'GET', bucket, key, query, req.headers))
            authorizer(request);
      } catch (error) {
        return s3Error(req, res, 403, 'AccessDenied', (error as Error).message);
      }
      // s3rver knows only its own access key: the role's signature has served its purpose.
      delete req.headers.authorization;
    }
    // Object reads take the key's lock too: s3rver writes files in place, and S3 never serves half an object.
    const objectRequest =
      key !== '' && uploadId === null && ['PUT', 'DELETE', 'GET', 'HEAD'].includes(req.method ?? '');
    if (!objectRequest) return handle(req, res);
    // A waiter whose client leaves, or that waits too long, gives its place up.
    const gone = new AbortController();
    res.once('close', () => gone.abort(new Error('the client closed the request')));
    let release: () => void;
    try {
      release = await locks.acquire(
        `${bucket}/${key}`,
        AbortSignal.any([gone.signal, AbortSignal.timeout(LOCK_WAIT_MS)]),
      );
    } catch {
      return s3Error(
        req,
        res,
        503,
        'SlowDown',
        `another request has held this key for over ${LOCK_WAIT_MS / 1000} s; retry`,
      );
    }
    if (gone.signal.aborted) return release();
    res.once('close', release);
    // Node closes a connection idle this long (no listener takes the 'timeout'); for keep-alive it
    // resets the timer after the response. So a frozen client holds the key at most this long.
    req.setTimeout(stallTimeoutMs);
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    if (req.method === 'PUT' && (ifMatch !== undefined || ifNoneMatch !== undefined)) {
      const current = await s3rver.store.getMetadata(bucket, key).catch(() => undefined);
      const etag = unquote(current?.etag);
      if (ifMatch !== undefined && current === undefined)
        return s3Error(req, res, 404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
      if (
        (ifNoneMatch === '*' && current !== undefined) ||
        (ifMatch !== undefined && unquote(String(ifMatch)) !== etag)
      )
        return s3Error(
          req,
          res,
          412,
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          { Condition: ifMatch !== undefined ? 'If-Match' : 'If-None-Match', Key: key },
        );
    }
    handle(req, res);
  };
  // Nothing a request does may stop the endpoint: an unexpected failure is that request's 500.
  const server: Server = createServer((req, res) => {
    caller.run(req.headers[SESSION_TOKEN_HEADER] === workflowCredentials.sessionToken, () =>
      serve(req, res).catch((error: Error) => s3Error(req, res, 500, 'InternalError', error.message)),
    );
  });
  server.keepAliveTimeout = ENDPOINT_KEEP_ALIVE_MS;
  const port = await listen(server, options.port, host);
  return {
    url: `http://${host}:${port}`,
    port,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    workflowCredentials,
    onEvent: (listener) => s3rver.on('event', listener),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
