/**
 * The one small interface the handlers reach storage through, and its S3 implementation (which
 * the local runtime points at its embedded S3-compatible endpoint).
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { isNetworkFailure, storageCall } from './storage-call';

/** The Content-Type of every playlist the workflow writes. */
export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';

export interface StoredObject {
  readonly body: string;
  readonly etag: string;
  readonly lastModified: number;
}

export interface PutOptions {
  readonly contentType: string;
  readonly cacheControl?: string;
  /** Write only if the current object has this ETag (412 otherwise). */
  readonly ifMatch?: string;
  /** Write only if no object exists (412 otherwise). */
  readonly ifNoneMatch?: '*';
}

export interface ListedObject {
  readonly key: string;
  readonly size: number;
  /** When the object was last written (epoch ms; S3 LastModified, whole seconds). */
  readonly lastModified: number;
}

export interface ObjectStore {
  get(bucket: string, key: string): Promise<StoredObject | undefined>;
  /** Returns the new ETag, or `'precondition-failed'` when ifMatch / ifNoneMatch did not hold. */
  put(
    bucket: string,
    key: string,
    body: string,
    options: PutOptions,
  ): Promise<string | 'precondition-failed'>;
  /**
   * Copies `from` to `to` in the bucket, with these headers or else the source's: S3 reports the
   * new object as CopyObject, which starts no execution (functions/workflow.ts), unlike a PUT.
   * `'source-missing'` when there is no object at `from`; `'precondition-failed'` when the options'
   * ifMatch / ifNoneMatch did not hold for the object at `to`.
   */
  copy(
    bucket: string,
    from: string,
    to: string,
    options?: PutOptions,
  ): Promise<'copied' | 'source-missing' | 'precondition-failed'>;
  delete(bucket: string, key: string): Promise<void>;
  list(bucket: string, prefix: string): Promise<ListedObject[]>;
}

const TRANSIENT = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'ThrottlingException',
]);

function isTransient(error: unknown): boolean {
  if (error instanceof S3ServiceException)
    return TRANSIENT.has(error.name) || (error.$metadata.httpStatusCode ?? 0) >= 500;
  return isNetworkFailure(error);
}

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

/** The If-Match / If-None-Match of a conditional PutObject or CopyObject. */
function conditionHeaders(options: PutOptions | undefined): { IfMatch?: string; IfNoneMatch?: string } {
  return {
    ...(options?.ifMatch === undefined ? {} : { IfMatch: options.ifMatch }),
    ...(options?.ifNoneMatch === undefined ? {} : { IfNoneMatch: options.ifNoneMatch }),
  };
}

/**
 * Whether a conditional write failed on its condition: 412; 409 ConditionalRequestConflict (a
 * concurrent conditional write won); 404 to If-Match (the object is gone since it was read).
 * Each time: read again.
 */
function conditionFailed(error: unknown, options: PutOptions | undefined): boolean {
  const status = statusOf(error);
  return status === 412 || status === 409 || (status === 404 && options?.ifMatch !== undefined);
}

const call = <T>(operation: string, run: () => Promise<T>) => storageCall(operation, isTransient, run);

/** ObjectStore over S3 (or any S3-compatible endpoint the client is configured for). */
export class S3ObjectStore implements ObjectStore {
  constructor(private readonly s3: S3Client) {}

  get(bucket: string, key: string): Promise<StoredObject | undefined> {
    return call(`GetObject ${key}`, async () => {
      try {
        const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return {
          body: (await out.Body?.transformToString('utf-8')) ?? '',
          etag: out.ETag ?? '',
          lastModified: out.LastModified?.getTime() ?? 0,
        };
      } catch (error) {
        if (statusOf(error) === 404 || (error instanceof Error && error.name === 'NoSuchKey'))
          return undefined;
        throw error;
      }
    });
  }

  put(
    bucket: string,
    key: string,
    body: string,
    options: PutOptions,
  ): Promise<string | 'precondition-failed'> {
    return call(`PutObject ${key}`, async () => {
      try {
        const out = await this.s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: options.contentType,
            ...(options.cacheControl === undefined ? {} : { CacheControl: options.cacheControl }),
            ...conditionHeaders(options),
          }),
        );
        return out.ETag ?? '';
      } catch (error) {
        if (conditionFailed(error, options)) return 'precondition-failed';
        throw error;
      }
    });
  }

  copy(
    bucket: string,
    from: string,
    to: string,
    options?: PutOptions,
  ): Promise<'copied' | 'source-missing' | 'precondition-failed'> {
    return call(`CopyObject ${from} → ${to}`, async () => {
      try {
        await this.s3.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: to,
            CopySource: `${bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
            ...(options === undefined
              ? { MetadataDirective: 'COPY' }
              : {
                  MetadataDirective: 'REPLACE',
                  ContentType: options.contentType,
                  ...(options.cacheControl === undefined ? {} : { CacheControl: options.cacheControl }),
                }),
            ...conditionHeaders(options),
          }),
        );
        return 'copied';
      } catch (error) {
        // A copy's 404 to If-Match names no side (the destination gone since it was read, or the
        // source): the caller reads again either way.
        if (conditionFailed(error, options)) return 'precondition-failed';
        if (statusOf(error) === 404 || (error instanceof Error && error.name === 'NoSuchKey'))
          return 'source-missing';
        throw error;
      }
    });
  }

  delete(bucket: string, key: string): Promise<void> {
    return call(`DeleteObject ${key}`, async () => {
      await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    });
  }

  list(bucket: string, prefix: string): Promise<ListedObject[]> {
    return call(`ListObjectsV2 ${prefix}`, async () => {
      const found: ListedObject[] = [];
      let token: string | undefined;
      do {
        const out = await this.s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
        for (const o of out.Contents ?? [])
          if (o.Key !== undefined)
            found.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 });
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token !== undefined);
      return found;
    });
  }
}
