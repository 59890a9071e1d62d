/**
 * The local runtime's data dir, for the operations commands: its settings file, its bucket, and
 * its objects. Reading needs no server: s3rver keeps each object as a file
 * (`<dataDir>/s3/<bucket>/<key>._S3rver_object`), so `status --local` works whether or not the
 * runtime is running. Writing (replay) goes through an S3 endpoint: the running runtime's
 * (`--s3-endpoint`), or an embedded one on the data dir, whose conditional-write layer the
 * workflow needs.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { parseSettings, type Settings } from '../functions/config';
import { DynamoRecordStore } from '../functions/dynamodb-store';
import { ConfigInvalidError } from '../functions/errors';
import type { RecordStore } from '../functions/record-store';
import { type ListedObject, type ObjectStore, S3ObjectStore, type StoredObject } from '../functions/store';
import { readSettingsFile as readSettingsText, settingsOfContent } from '../infra/settings';
import { startDynamoDbEndpoint } from '../local/dynamodb-endpoint';
import {
  DYNAMODB_ENDPOINT_FILE,
  LOCAL_ACCOUNT,
  localDynamoDbClient,
  localStateTable,
} from '../local/runtime';
import { startS3Endpoint } from '../local/s3-endpoint';
import { UsageError } from './io';

const OBJECT_SUFFIX = '._S3rver_object';

/**
 * Settings from a settings file (as `hls-failover local --config`), or the defaults. The same reader
 * and format as a deploy's `deploy/settings.jsonc` (JSON with comments), so that file runs locally.
 */
export function readSettingsFile(file: string | undefined): Settings {
  if (file === undefined) return parseSettings({});
  try {
    return settingsOfContent(readSettingsText(file), `config file ${file}: setting`);
  } catch (e) {
    if (e instanceof ConfigInvalidError) throw new UsageError(e.message);
    throw e;
  }
}

/** The bucket of a data dir: the one given, else the only bucket there, else `live`. */
export function localBucket(dataDir: string, bucket: string | undefined): string {
  if (bucket !== undefined) return bucket;
  const root = join(dataDir, 's3');
  const buckets = existsSync(root)
    ? readdirSync(root, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
    : [];
  return buckets.length === 1 ? (buckets[0] as string) : 'live';
}

/** Read-only ObjectStore over s3rver's files (get and list; writes are refused). */
export class S3rverFilesStore implements ObjectStore {
  constructor(private readonly root: string) {}

  private path(bucket: string, key: string): string {
    return `${join(this.root, bucket, ...key.split('/'))}${OBJECT_SUFFIX}`;
  }

  async get(bucket: string, key: string): Promise<StoredObject | undefined> {
    const path = this.path(bucket, key);
    if (!existsSync(path)) return undefined;
    const md5 = existsSync(`${path}.md5`) ? readFileSync(`${path}.md5`, 'utf8').trim() : '';
    return { body: readFileSync(path, 'utf8'), etag: `"${md5}"`, lastModified: statSync(path).mtimeMs };
  }

  async list(bucket: string, prefix: string): Promise<ListedObject[]> {
    const base = join(this.root, bucket);
    const found: ListedObject[] = [];
    const walk = (dir: string) => {
      if (!existsSync(dir)) return;
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith(OBJECT_SUFFIX)) {
          const key = relative(base, path).split(sep).join('/').slice(0, -OBJECT_SUFFIX.length);
          if (key.startsWith(prefix)) found.push({ key, size: statSync(path).size });
        }
      }
    };
    walk(base);
    return found.sort((a, b) => a.key.localeCompare(b.key));
  }

  async put(): Promise<string> {
    throw new Error('the data dir is read here without a server: writes need --s3-endpoint');
  }

  async delete(): Promise<void> {
    throw new Error('the data dir is read here without a server: deletes need --s3-endpoint');
  }
}

/**
 * An S3 store for writing to a data dir: through `endpoint` (a running runtime's S3, credentials
 * S3RVER / S3RVER) or through an embedded endpoint on the data dir, started here and closed by
 * `close`.
 */
export async function openLocalS3(
  dataDir: string,
  bucket: string,
  endpoint: string | undefined,
): Promise<{ store: ObjectStore; endpoint: string; close: () => Promise<void> }> {
  let url = endpoint;
  let stop = async (): Promise<void> => undefined;
  if (url === undefined) {
    const embedded = await startS3Endpoint({ directory: join(dataDir, 's3'), bucket, port: 0 });
    url = embedded.url;
    stop = () => embedded.close();
  } else if (!/^https?:\/\//.test(url)) {
    throw new UsageError(`--s3-endpoint takes an http(s) URL (got "${url}")`);
  }
  const s3 = new S3Client({
    endpoint: url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    store: new S3ObjectStore(s3),
    endpoint: url,
    close: async () => {
      s3.destroy();
      await stop();
    },
  };
}

/**
 * The records of a data dir (each channel's state): through the running runtime's DynamoDB
 * endpoint when there is one (dynalite holds the store's lock), else through an embedded one on
 * `<dataDir>/dynamodb`, started here and closed by `close`.
 */
export async function openLocalRecords(
  dataDir: string,
  stackName: string,
): Promise<{ records: RecordStore; close: () => Promise<void> }> {
  const table = localStateTable(stackName);
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const file = join(dataDir, DYNAMODB_ENDPOINT_FILE);
  if (existsSync(file)) {
    const client = localDynamoDbClient({ url: readFileSync(file, 'utf8').trim(), credentials });
    const running = await client.send(new DescribeTableCommand({ TableName: table.tableName })).then(
      () => true,
      () => false, // a runtime that ended without removing the file
    );
    if (running)
      return { records: new DynamoRecordStore(client, table.tableName), close: async () => client.destroy() };
    client.destroy();
  }
  const embedded = await startDynamoDbEndpoint({
    directory: join(dataDir, 'dynamodb'),
    tables: [table],
    account: LOCAL_ACCOUNT,
  });
  const client = localDynamoDbClient(embedded);
  return {
    records: new DynamoRecordStore(client, table.tableName),
    close: async () => {
      client.destroy();
      await embedded.close();
    },
  };
}
