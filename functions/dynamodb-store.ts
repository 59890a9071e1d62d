/**
 * {@link RecordStore} over a DynamoDB table (on-demand): one item per record, `pk` (the record's
 * group, the partition key), `sk` (its name in the group, the sort key), `bodyz` (the record's
 * text, raw-deflated, binary) and `version` (a number each write increments). Writes are PutItem
 * with a ConditionExpression; reads are strongly consistent GetItem and Query (a group). The local
 * runtime points the client at dynalite.
 *
 * Why compressed: a write costs one write unit per started KB of the whole item, and a failed
 * conditional write costs the same. A channel's state of 5 renditions × 2 encoders is about 2.5 KB
 * of JSON (3 units); deflated it is well under 1 KB (1 unit), which the cost bench measures
 * (`npm run bench -- --cost`). A query reads a group for one unit per started 4 KB of all its items.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type { RecordKey } from './keys';
import type { RecordStore, StoredRecord, WriteCondition } from './record-store';
import { isNetworkFailure, storageCall } from './storage-call';

/** The table's keys (strings): the record's group and its name in it. The stack and the local runtime create the table with them. */
export const STATE_TABLE_PARTITION_KEY = 'pk';
export const STATE_TABLE_SORT_KEY = 'sk';

type Item = Record<string, AttributeValue>;

function itemKey(key: RecordKey): Item {
  return { [STATE_TABLE_PARTITION_KEY]: { S: key.group }, [STATE_TABLE_SORT_KEY]: { S: key.name } };
}

/** Every item of a paged Query or Scan: `read` reads the page that starts at `start`. */
async function everyPage(
  read: (
    start: Item | undefined,
  ) => Promise<{ Items?: Item[] | undefined; LastEvaluatedKey?: Item | undefined }>,
): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await read(start);
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** The record an item holds, or undefined for an item without a body. */
function recordOf(item: Item | undefined): StoredRecord | undefined {
  const compressed = item?.bodyz?.B;
  if (compressed === undefined) return undefined;
  return { body: inflateRawSync(compressed).toString('utf8'), version: Number(item?.version?.N ?? 0) };
}

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

  get(key: RecordKey): Promise<StoredRecord | undefined> {
    return call(`GetItem ${key.group} ${key.name}`, async () => {
      const out = await this.dynamodb.send(
        new GetItemCommand({ TableName: this.tableName, Key: itemKey(key), ConsistentRead: true }),
      );
      return recordOf(out.Item);
    });
  }

  query(group: string): Promise<Map<string, StoredRecord>> {
    return call(`Query ${group}`, async () => {
      const items = await everyPage((start) =>
        this.dynamodb.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :group',
            ExpressionAttributeNames: { '#pk': STATE_TABLE_PARTITION_KEY },
            ExpressionAttributeValues: { ':group': { S: group } },
            ConsistentRead: true,
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        ),
      );
      const records = new Map<string, StoredRecord>();
      for (const item of items) {
        const name = item[STATE_TABLE_SORT_KEY]?.S;
        const record = recordOf(item);
        if (name !== undefined && record !== undefined) records.set(name, record);
      }
      return records;
    });
  }

  put(key: RecordKey, body: string, condition: WriteCondition): Promise<number | 'precondition-failed'> {
    const version = 'absent' in condition ? 1 : condition.version + 1;
    return call(`PutItem ${key.group} ${key.name}`, async () => {
      try {
        await this.dynamodb.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              ...itemKey(key),
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

  listGroups(prefix: string): Promise<string[]> {
    return call(`Scan ${prefix}`, async () => {
      const items = await everyPage((start) =>
        this.dynamodb.send(
          new ScanCommand({
            TableName: this.tableName,
            ProjectionExpression: '#pk',
            FilterExpression: 'begins_with(#pk, :prefix)',
            ExpressionAttributeNames: { '#pk': STATE_TABLE_PARTITION_KEY },
            ExpressionAttributeValues: { ':prefix': { S: prefix } },
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        ),
      );
      return [...new Set(items.flatMap((item) => item[STATE_TABLE_PARTITION_KEY]?.S ?? []))];
    });
  }
}
