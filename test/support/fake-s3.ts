/**
 * An in-memory S3 behind aws-sdk-client-mock: GetObject, PutObject (honouring IfMatch and
 * IfNoneMatch with 412, as S3 does), CopyObject, DeleteObject and ListObjectsV2. The handlers run with the
 * real S3ObjectStore over a mocked S3Client.
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

export interface FakeObject {
  body: string;
  etag: string;
  lastModified: Date;
  contentType?: string | undefined;
  cacheControl?: string | undefined;
}

export function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

export class FakeS3 {
  readonly objects = new Map<string, FakeObject>();
  readonly client = new S3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  readonly mock = mockClient(this.client);
  /** Clock for LastModified (ms), whole seconds like S3. */
  now = Date.parse('2026-11-24T10:00:00Z');
  private counter = 0;
  puts: string[] = [];
  /** Keys written by CopyObject (S3 reports them as copies: no execution starts). */
  copies: string[] = [];
  /** Errors the next GetObject calls throw, in order (a transient-failure injector). */
  readonly failGets: Error[] = [];
  /** Conditional writes refused with 412. */
  preconditionFailures = 0;
  /** Runs after each GetObject has read its object: lets a test write in between two reads. */
  afterGet: ((key: string) => Promise<void> | void) | undefined;
  /** Runs before each PutObject and CopyObject (the key written): lets a test write in between a read and a write. */
  beforeWrite: ((key: string) => Promise<void> | void) | undefined;

  constructor() {
    this.mock.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      await Promise.resolve();
      const failure = this.failGets.shift();
      if (failure !== undefined) throw failure;
      const o = this.objects.get(input.Key);
      if (o === undefined) throw s3Error('NoSuchKey', 404);
      const body = o.body;
      await this.afterGet?.(input.Key);
      return {
        Body: { transformToString: async () => body },
        ETag: o.etag,
        LastModified: o.lastModified,
        ContentType: o.contentType,
      };
    });
    this.mock
      .on(PutObjectCommand)
      .callsFake(
        async (input: {
          Key: string;
          Body: string;
          IfMatch?: string;
          IfNoneMatch?: string;
          ContentType?: string;
          CacheControl?: string;
        }) => {
          await Promise.resolve();
          await this.beforeWrite?.(input.Key);
          this.checkConditions(input);
          this.write(input.Key, String(input.Body), input.ContentType, input.CacheControl);
          this.puts.push(input.Key);
          return { ETag: this.objects.get(input.Key)?.etag };
        },
      );
    this.mock
      .on(CopyObjectCommand)
      .callsFake(
        async (input: {
          Key: string;
          CopySource: string;
          MetadataDirective?: string;
          ContentType?: string;
          CacheControl?: string;
          IfMatch?: string;
          IfNoneMatch?: string;
        }) => {
          await Promise.resolve();
          const from = decodeURIComponent(input.CopySource.slice(input.CopySource.indexOf('/') + 1));
          const source = this.objects.get(from);
          if (source === undefined) throw s3Error('NoSuchKey', 404);
          await this.beforeWrite?.(input.Key);
          this.checkConditions(input);
          // MetadataDirective COPY (the default) keeps the source's headers; REPLACE takes the request's.
          if (input.MetadataDirective === 'REPLACE')
            this.write(input.Key, source.body, input.ContentType, input.CacheControl);
          else this.write(input.Key, source.body, source.contentType, source.cacheControl);
          this.copies.push(input.Key);
          return {};
        },
      );
    this.mock.on(DeleteObjectCommand).callsFake(async (input: { Key: string }) => {
      this.objects.delete(input.Key);
      return {};
    });
    this.mock.on(ListObjectsV2Command).callsFake(async (input: { Prefix?: string }) => ({
      Contents: [...this.objects.entries()]
        .filter(([k]) => k.startsWith(input.Prefix ?? ''))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([Key, o]) => ({ Key, Size: Buffer.byteLength(o.body), LastModified: o.lastModified })),
      IsTruncated: false,
    }));
  }

  /** A conditional write's If-Match / If-None-Match on the object at `Key` (PutObject, CopyObject). */
  private checkConditions(input: { Key: string; IfMatch?: string; IfNoneMatch?: string }): void {
    const current = this.objects.get(input.Key);
    if (
      (input.IfNoneMatch === '*' && current !== undefined) ||
      (input.IfMatch !== undefined && current?.etag !== input.IfMatch)
    ) {
      this.preconditionFailures++;
      throw s3Error('PreconditionFailed', 412);
    }
  }

  /**
   * What an encoder does: writes the segments a media playlist lists (relative URIs, each once),
   * then the playlist.
   */
  upload(key: string, playlist: string): void {
    const folder = key.slice(0, key.lastIndexOf('/') + 1);
    for (const line of playlist.split('\n').map((l) => l.trim()))
      if (line !== '' && !line.startsWith('#') && !this.objects.has(folder + line))
        this.write(folder + line, `segment ${line}`, 'video/mp2t');
    this.write(key, playlist);
  }

  /** Writes an object directly (as an encoder would), LastModified = the fake clock. */
  write(key: string, body: string, contentType?: string, cacheControl?: string): void {
    this.counter++;
    this.objects.set(key, {
      body,
      etag: `"etag-${this.counter}"`,
      lastModified: new Date(Math.floor(this.now / 1000) * 1000),
      contentType,
      cacheControl,
    });
  }

  body(key: string): string | undefined {
    return this.objects.get(key)?.body;
  }
}
