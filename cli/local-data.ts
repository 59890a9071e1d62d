/**
 * The local runtime's data dir, for the operations commands: its settings file, its bucket, its
 * objects and its records. Objects go through an S3 endpoint: the running runtime's
 * (`--s3-endpoint`), or an embedded one on the data dir, whose conditional-write layer the
 * workflow needs. Records (each channel's state) go through the running runtime's DynamoDB
 * endpoint, or an embedded dynalite on the data dir, so `status --local` works whether or not the
 * runtime is running.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { parseSettings, type Settings } from '../functions/config';
import { DynamoRecordStore } from '../functions/dynamodb-store';
import { ConfigInvalidError } from '../functions/errors';
import type { RecordStore } from '../functions/record-store';
import { type ObjectStore, S3ObjectStore } from '../functions/store';
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
