/**
 * An in-memory DynamoDB table behind aws-sdk-client-mock: GetItem, PutItem (honouring the two
 * conditions the store writes with: the item absent, or its version still the one read) and Scan
 * with a begins_with filter. The handlers run with the real DynamoRecordStore over a mocked client.
 */

import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoRecordStore, STATE_TABLE_PARTITION_KEY } from '../../functions/dynamodb-store';

type Item = Record<string, AttributeValue>;

export const TABLE = 'state-table';

export class FakeDynamoDB {
  readonly items = new Map<string, Item>();
  readonly client = new DynamoDBClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  readonly mock = mockClient(this.client);
  readonly store = new DynamoRecordStore(this.client, TABLE);
  /** Keys of the items written, in order. */
  puts: string[] = [];
  /** Conditional writes refused. */
  conditionFailures = 0;
  /** Runs after each GetItem has read its item: lets a test write in between two reads. */
  afterGet: ((key: string) => Promise<void> | void) | undefined;

  constructor() {
    const keyOf = (item: Item | undefined) => item?.[STATE_TABLE_PARTITION_KEY]?.S ?? '';
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
    this.mock.on(ScanCommand).callsFake(async (input: { ExpressionAttributeValues?: Item }) => {
      const prefix = input.ExpressionAttributeValues?.[':prefix']?.S ?? '';
      return {
        Items: [...this.items.keys()]
          .filter((k) => k.startsWith(prefix))
          .map((k) => ({ [STATE_TABLE_PARTITION_KEY]: { S: k } })),
      };
    });
  }

  /** Writes a record directly (version 1, or one above the current). */
  write(key: string, body: string): void {
    const version = Number(this.items.get(key)?.version?.N ?? 0) + 1;
    this.items.set(key, {
      [STATE_TABLE_PARTITION_KEY]: { S: key },
      bodyz: { B: deflateRawSync(body) },
      version: { N: String(version) },
    });
  }

  body(key: string): string | undefined {
    const stored = this.items.get(key)?.bodyz?.B;
    return stored === undefined ? undefined : inflateRawSync(stored).toString('utf8');
  }
}
