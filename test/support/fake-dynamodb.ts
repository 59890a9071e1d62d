/**
 * An in-memory DynamoDB table behind aws-sdk-client-mock: GetItem, PutItem (honouring the two
 * conditions the store writes with: the item absent, or its version still the one read), Query of
 * one partition, and Scan with a begins_with filter on the partition key. The handlers run with the
 * real DynamoRecordStore over a mocked client.
 */

import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DynamoRecordStore,
  STATE_TABLE_PARTITION_KEY,
  STATE_TABLE_SORT_KEY,
} from '../../functions/dynamodb-store';
import type { RecordKey } from '../../functions/keys';

type Item = Record<string, AttributeValue>;

export const TABLE = 'state-table';

/** One string per record key, for maps and assertions: `<group> <name>`. */
export function keyText(key: RecordKey): string {
  return `${key.group} ${key.name}`;
}

function keyOf(item: Item | undefined): string {
  return `${item?.[STATE_TABLE_PARTITION_KEY]?.S ?? ''} ${item?.[STATE_TABLE_SORT_KEY]?.S ?? ''}`;
}

export class FakeDynamoDB {
  /** Items by {@link keyText}. */
  readonly items = new Map<string, Item>();
  readonly client = new DynamoDBClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  readonly mock = mockClient(this.client);
  readonly store = new DynamoRecordStore(this.client, TABLE);
  /** Keys ({@link keyText}) of the items written, in order. */
  puts: string[] = [];
  /** Conditional writes refused. */
  conditionFailures = 0;
  /** Runs after each GetItem has read its item: lets a test write in between two reads. */
  afterGet: ((key: string) => Promise<void> | void) | undefined;

  constructor() {
    this.mock.on(GetItemCommand).callsFake(async (input: { Key: Item }) => {
      await Promise.resolve();
      const item = this.items.get(keyOf(input.Key));
      await this.afterGet?.(keyOf(input.Key));
      return item === undefined ? {} : { Item: item };
    });
    this.mock
      .on(PutItemCommand)
      .callsFake(
        async (input: { Item: Item; ConditionExpression?: string; ExpressionAttributeValues?: Item }) => {
          await Promise.resolve();
          const key = keyOf(input.Item);
          const current = this.items.get(key);
          const read = input.ExpressionAttributeValues?.[':read']?.N;
          const holds =
            input.ConditionExpression === undefined ||
            (read === undefined ? current === undefined : current?.version?.N === read);
          if (!holds) {
            this.conditionFailures++;
            throw new ConditionalCheckFailedException({
              message: 'The conditional request failed',
              $metadata: {},
            });
          }
          this.items.set(key, input.Item);
          this.puts.push(key);
          return {};
        },
      );
    this.mock.on(QueryCommand).callsFake(async (input: { ExpressionAttributeValues?: Item }) => {
      await Promise.resolve();
      const group = input.ExpressionAttributeValues?.[':group']?.S ?? '';
      return {
        Items: [...this.items.values()].filter((item) => item[STATE_TABLE_PARTITION_KEY]?.S === group),
      };
    });
    this.mock.on(ScanCommand).callsFake(async (input: { ExpressionAttributeValues?: Item }) => {
      const prefix = input.ExpressionAttributeValues?.[':prefix']?.S ?? '';
      return {
        Items: [...this.items.values()]
          .filter((item) => item[STATE_TABLE_PARTITION_KEY]?.S?.startsWith(prefix))
          .map((item) => ({
            [STATE_TABLE_PARTITION_KEY]: item[STATE_TABLE_PARTITION_KEY] as AttributeValue,
          })),
      };
    });
  }

  /** Writes a record directly (version 1, or one above the current). */
  write(key: RecordKey, body: string): void {
    const version = Number(this.items.get(keyText(key))?.version?.N ?? 0) + 1;
    this.items.set(keyText(key), {
      [STATE_TABLE_PARTITION_KEY]: { S: key.group },
      [STATE_TABLE_SORT_KEY]: { S: key.name },
      bodyz: { B: deflateRawSync(body) },
      version: { N: String(version) },
    });
  }

  body(key: RecordKey): string | undefined {
    const stored = this.items.get(keyText(key))?.bodyz?.B;
    return stored === undefined ? undefined : inflateRawSync(stored).toString('utf8');
  }
}
