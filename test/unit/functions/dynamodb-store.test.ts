/**
 * The DynamoDB record store over a mocked client: the conditions it writes with, what a failed
 * condition becomes, and which failures are transient (StorageUnavailable, which the ASL retries).
 */

import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoRecordStore } from '../../../functions/dynamodb-store';
import { StorageUnavailableError } from '../../../functions/errors';
import { stateKey } from '../../../functions/keys';

const KEY = stateKey('ch1');

const client = new DynamoDBClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const dynamodb = mockClient(client);
const store = new DynamoRecordStore(client, 'state');

beforeEach(() => dynamodb.reset());

describe('DynamoRecordStore', () => {
  it('reads strongly consistent by group and name, and gives the inflated body and version of the item', async () => {
    dynamodb.on(GetItemCommand).resolves({
      Item: {
        pk: { S: 'channel/ch1' },
        sk: { S: 'state' },
        bodyz: { B: deflateRawSync('{"a":1}') },
        version: { N: '4' },
      },
    });
    expect(await store.get(KEY)).toEqual({ body: '{"a":1}', version: 4 });
    expect(dynamodb.commandCalls(GetItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'state',
      Key: { pk: { S: 'channel/ch1' }, sk: { S: 'state' } },
      ConsistentRead: true,
    });
  });

  it('reads a whole group with one strongly consistent query over every page, by name', async () => {
    const item = (name: string, body: string) => ({
      pk: { S: 'accepted/ch1' },
      sk: { S: name },
      bodyz: { B: deflateRawSync(body) },
      version: { N: '2' },
    });
    dynamodb
      .on(QueryCommand)
      .resolvesOnce({ Items: [item('primary/a.m3u8', '1')], LastEvaluatedKey: { pk: { S: 'accepted/ch1' } } })
      .resolvesOnce({ Items: [item('failover/a.m3u8', '2')] });
    const group = await store.query('accepted/ch1');
    expect([...group]).toEqual([
      ['primary/a.m3u8', { body: '1', version: 2 }],
      ['failover/a.m3u8', { body: '2', version: 2 }],
    ]);
    const [first, second] = dynamodb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(first).toMatchObject({
      KeyConditionExpression: '#pk = :group',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ExpressionAttributeValues: { ':group': { S: 'accepted/ch1' } },
      ConsistentRead: true,
    });
    expect(second?.ExclusiveStartKey).toEqual({ pk: { S: 'accepted/ch1' } });
  });

  it('keeps a 5 × 2 channel state under 1 KB, one write unit, by deflating it', async () => {
    const rendition = (i: number) => ({
      mediaSequence: 898045482 + i,
      lastSequence: 898045487 + i,
      targetDuration: 2,
      endlist: false,
      lastModified: 1796090976000 + i,
      status: 'healthy',
      reason: 'updated 0.2 s ago',
    });
    const encoder = {
      status: 'healthy',
      since: 1796090935408,
      reason: 'every media playlist is fresh',
      freshStreak: 0,
      renditions: Object.fromEntries([0, 1, 2, 3, 4].map((i) => [`${360 * (i + 1)}p.m3u8`, rendition(i)])),
    };
    const state = JSON.stringify({
      version: 1,
      channel: 'ch1',
      health: { version: 1, preferred: 'primary', encoders: { primary: encoder, failover: encoder } },
      masters: {},
    });
    dynamodb.on(PutItemCommand).resolves({});
    await store.put(KEY, state, { version: 1 });
    const item = dynamodb.commandCalls(PutItemCommand)[0]?.args[0].input.Item;
    const stored = item?.bodyz?.B as Uint8Array;
    expect(state.length).toBeGreaterThan(2048);
    expect(stored.length + 'channel/ch1'.length + 'state'.length + 40).toBeLessThan(1024);
    expect(inflateRawSync(stored).toString('utf8')).toBe(state);
  });

  it('reads a missing item as undefined', async () => {
    dynamodb.on(GetItemCommand).resolves({});
    expect(await store.get(KEY)).toBeUndefined();
  });

  it('writes a first version only if the item is absent', async () => {
    dynamodb.on(PutItemCommand).resolves({});
    expect(await store.put(KEY, '{"a":1}', { absent: true })).toBe(1);
    const input = dynamodb.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      TableName: 'state',
      Item: { pk: { S: 'channel/ch1' }, sk: { S: 'state' }, version: { N: '1' } },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'pk' },
    });
    expect(inflateRawSync(input?.Item?.bodyz?.B as Uint8Array).toString('utf8')).toBe('{"a":1}');
  });

  it('writes the next version only if the item is still at the version read', async () => {
    dynamodb.on(PutItemCommand).resolves({});
    expect(await store.put(KEY, '{}', { version: 4 })).toBe(5);
    expect(dynamodb.commandCalls(PutItemCommand)[0]?.args[0].input).toMatchObject({
      Item: { version: { N: '5' } },
      ConditionExpression: '#version = :read',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':read': { N: '4' } },
    });
  });

  it("answers 'precondition-failed' when the condition does not hold (a concurrent writer won)", async () => {
    dynamodb
      .on(PutItemCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );
    expect(await store.put(KEY, '{}', { version: 4 })).toBe('precondition-failed');
  });

  it.each([
    ['throttling', new ThrottlingException({ message: 'Rate exceeded', $metadata: {} })],
    [
      'provisioned throughput exceeded',
      new ProvisionedThroughputExceededException({ message: 'exceeded', $metadata: {} }),
    ],
    [
      'a 500',
      new DynamoDBServiceException({
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
        message: 'internal',
      }),
    ],
    [
      'no connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' }),
    ],
  ])('turns %s into StorageUnavailable (the ASL retries it)', async (_, failure) => {
    dynamodb.on(GetItemCommand).rejects(failure);
    dynamodb.on(PutItemCommand).rejects(failure);
    await expect(store.get(KEY)).rejects.toThrow(StorageUnavailableError);
    await expect(store.put(KEY, '{}', { absent: true })).rejects.toMatchObject({
      name: 'StorageUnavailable',
      message: expect.stringMatching(/^PutItem channel\/ch1 state failed transiently/),
    });
  });

  it('lets a permanent failure through as it is (AccessDenied is not retried)', async () => {
    const denied = new DynamoDBServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'not authorized',
    });
    dynamodb.on(GetItemCommand).rejects(denied);
    await expect(store.get(KEY)).rejects.toBe(denied);
  });

  it('lists the groups with a prefix over every page of the scan, reading keys only, each once', async () => {
    dynamodb
      .on(ScanCommand)
      .resolvesOnce({ Items: [{ pk: { S: 'channel/a' } }], LastEvaluatedKey: { pk: { S: 'channel/a' } } })
      .resolvesOnce({ Items: [{ pk: { S: 'channel/b' } }, { pk: { S: 'channel/b' } }] });
    expect(await store.listGroups('channel/')).toEqual(['channel/a', 'channel/b']);
    const [first, second] = dynamodb.commandCalls(ScanCommand).map((c) => c.args[0].input);
    expect(first).toMatchObject({
      ProjectionExpression: '#pk',
      FilterExpression: 'begins_with(#pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': { S: 'channel/' } },
    });
    expect(second?.ExclusiveStartKey).toEqual({ pk: { S: 'channel/a' } });
  });
});
