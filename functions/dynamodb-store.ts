/**
 * {@link RecordStore} over a DynamoDB table (on-demand): one item per record, `pk` (the record's
 * key, the partition key), `bodyz` (the record's text, raw-deflated, binary) and `version` (a
 * number each write increments). Writes are PutItem with a ConditionExpression; reads are strongly
 * consistent GetItem. The local runtime points the client at dynalite.
 *
 * Why compressed: a write costs one write unit per started KB of the whole item, and a failed
 * conditional write costs the same. A channel's state of 5 renditions × 2 encoders is about 2.5 KB
 * of JSON (3 units), written on most uploads; deflated it is well under 1 KB (1 unit), which the
 * cost bench measures (`npm run bench -- --cost`). Items written before, with the text in `body`
 * (a string), are still read.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type { RecordStore, StoredRecord, WriteCondition } from './record-store';
import { isNetworkFailure, storageCall } from './storage-call';

/** The table's partition key (a string): the record's key. The stack and the local runtime create the table with it. */
export const STATE_TABLE_PARTITION_KEY = 'pk';

const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
]);

function isTransient(error: unknown): boolean {
  if (error instanceof DynamoDBServiceException)
    return (
      THROTTLED.has(error.name) || error.$fault === 'server' || (error.$metadata.httpStatusCode ?? 0) >= 500
    );
  return isNetworkFailure(error);
}

const call = <T>(operation: string, run: () => Promise<T>) => storageCall(operation, isTransient, run);

export class DynamoRecordStore implements RecordStore {
  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  get(key: string): Promise<StoredRecord | undefined> {
    return call(`GetItem ${key}`, async () => {
      const out = await this.dynamodb.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [STATE_TABLE_PARTITION_KEY]: { S: key } },
          ConsistentRead: true,
        }),
      );
      const compressed = out.Item?.bodyz?.B;
      const body = compressed === undefined ? out.Item?.body?.S : inflateRawSync(compressed).toString('utf8');
      if (body === undefined) return undefined;
      return { body, version: Number(out.Item?.version?.N ?? 0) };
    });
  }

  put(key: string, body: string, condition: WriteCondition): Promise<number | 'precondition-failed'> {
    const version = 'absent' in condition ? 1 : condition.version + 1;
    return call(`PutItem ${key}`, async () => {
      try {
        await this.dynamodb.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              [STATE_TABLE_PARTITION_KEY]: { S: key },
              bodyz: { B: deflateRawSync(Buffer.from(body, 'utf8')) },
              version: { N: String(version) },
            },
            ...('absent' in condition
              ? {
                  ConditionExpression: 'attribute_not_exists(#pk)',
                  ExpressionAttributeNames: { '#pk': STATE_TABLE_PARTITION_KEY },
                }
              : {
                  ConditionExpression: '#version = :read',
                  ExpressionAttributeNames: { '#version': 'version' },
                  ExpressionAttributeValues: { ':read': { N: String(condition.version) } },
                }),
          }),
        );
        return version;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return 'precondition-failed';
        throw error;
      }
    });
  }

  list(prefix: string): Promise<string[]> {
    return call(`Scan ${prefix}`, async () => {
      const keys: string[] = [];
      let start: Record<string, { S: string }> | undefined;
      do {
        const out = await this.dynamodb.send(
          new ScanCommand({
            TableName: this.tableName,
            ProjectionExpression: '#pk',
            FilterExpression: 'begins_with(#pk, :prefix)',
            ExpressionAttributeNames: { '#pk': STATE_TABLE_PARTITION_KEY },
            ExpressionAttributeValues: { ':prefix': { S: prefix } },
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        );
        for (const item of out.Items ?? []) {
          const key = item[STATE_TABLE_PARTITION_KEY]?.S;
          if (key !== undefined) keys.push(key);
        }
        start = out.LastEvaluatedKey as Record<string, { S: string }> | undefined;
      } while (start !== undefined);
      return keys;
    });
  }
}
