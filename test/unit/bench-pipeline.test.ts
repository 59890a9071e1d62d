/**
 * The local pipeline bench's pure parts: percentiles, the segment ladder, the storage call
 * observer, the replay's scratch writes, the profile summary.
 */
import { Readable } from 'node:stream';
import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  type DynamoDbScratch,
  describeByService,
  observeStorageCalls,
  percentile,
  type StorageCall,
  scratchPutItem,
  segmentBytesFor,
} from '../../bench/pipeline';
import { groupOf, summarise } from '../../bench/profile-summary';

describe('bench: percentile', () => {
  it('is nearest-rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('bench: segment ladder', () => {
  it('gives the bytes of one segment per rendition (0.4 to 5 Mb/s)', () => {
    expect(segmentBytesFor(2000, 5)).toEqual([100_000, 200_000, 400_000, 750_000, 1_250_000]);
    expect(segmentBytesFor(2000, 2, 0.5)).toEqual([50_000, 100_000]);
  });
});

describe('bench: storage call observer', () => {
  /** What a call records, less the client and the timing. */
  const factsOf = (calls: readonly StorageCall[]) =>
    calls.map(({ service, op, key, bytes, condition, status, error }) => ({
      service,
      op,
      key,
      bytes,
      condition,
      status,
      error,
    }));

  it('records operation, key, size, condition and status of every send, and restores send', async () => {
    const handle = jest.fn(async (request: { method: string }) => ({
      response: {
        statusCode: request.method === 'PUT' ? 412 : 200,
        headers: request.method === 'PUT' ? {} : { 'content-length': '5', etag: '"e"' },
        body: Readable.from(
          request.method === 'PUT' ? ['<Error><Code>PreconditionFailed</Code></Error>'] : ['hello'],
        ),
      },
    }));
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: { handle } as never,
    });
    const original = S3Client.prototype.send;
    const observed = observeStorageCalls();
    try {
      const got = await client.send(new GetObjectCommand({ Bucket: 'b', Key: 'ch/primary/r0.m3u8' }));
      expect(await got.Body?.transformToString()).toBe('hello');
      await expect(
        client.send(new PutObjectCommand({ Bucket: 'b', Key: 'state.json', Body: 'abc', IfMatch: '"e"' })),
      ).rejects.toThrow();
    } finally {
      observed.restore();
      client.destroy();
    }
    expect(S3Client.prototype.send).toBe(original);
    expect(factsOf(observed.calls)).toEqual([
      {
        service: 'S3',
        op: 'GetObject',
        key: 'ch/primary/r0.m3u8',
        bytes: 5,
        condition: undefined,
        status: 200,
        error: undefined,
      },
      {
        service: 'S3',
        op: 'PutObject',
        key: 'state.json',
        bytes: 3,
        condition: 'if-match',
        status: 412,
        error: 'PreconditionFailed',
      },
    ]);
    expect(observed.calls.every((c) => c.client === client && c.ms >= 0)).toBe(true);
  });

  it('records the DynamoDB calls too: item keys, item sizes, the kind of condition and a failed condition', async () => {
    const item = {
      pk: { S: 'state/ch' },
      sk: { S: 'state' },
      bodyz: { B: new Uint8Array(10) },
      version: { N: '3' },
    };
    const handle = jest.fn(async (request: { headers: Record<string, string> }) => {
      const target = request.headers['x-amz-target'] ?? '';
      const failed = target.endsWith('PutItem');
      const body = target.endsWith('GetItem')
        ? { Item: { ...item, bodyz: { B: 'AAAAAAAAAAAAAA==' } } }
        : target.endsWith('Query')
          ? { Items: [], Count: 0 }
          : {
              __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
              message: 'The conditional request failed',
            };
      return {
        response: {
          statusCode: failed ? 400 : 200,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Readable.from([JSON.stringify(body)]),
        },
      };
    });
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
      requestHandler: { handle } as never,
    });
    const original = DynamoDBClient.prototype.send;
    const observed = observeStorageCalls();
    try {
      await client.send(new GetItemCommand({ TableName: 't', Key: { pk: item.pk, sk: item.sk } }));
      await client.send(
        new QueryCommand({
          TableName: 't',
          KeyConditionExpression: '#pk = :group',
          ExpressionAttributeNames: { '#pk': 'pk' },
          ExpressionAttributeValues: { ':group': { S: 'accepted/ch' } },
        }),
      );
      await expect(
        client.send(
          new PutItemCommand({
            TableName: 't',
            Item: item,
            ConditionExpression: '#version = :read',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':read': { N: '2' } },
          }),
        ),
      ).rejects.toThrow('The conditional request failed');
    } finally {
      observed.restore();
      client.destroy();
    }
    expect(DynamoDBClient.prototype.send).toBe(original);
    // An item's size: its attribute names and values (pk 2 + 8, sk 2 + 5, bodyz 5 + 10, version 7 + 1).
    expect(factsOf(observed.calls)).toEqual([
      {
        service: 'DynamoDB',
        op: 'GetItem',
        key: 'state/ch state',
        bytes: 40,
        condition: undefined,
        status: 200,
        error: undefined,
      },
      {
        service: 'DynamoDB',
        op: 'Query',
        key: 'accepted/ch',
        bytes: 0,
        condition: undefined,
        status: 200,
        error: undefined,
      },
      {
        service: 'DynamoDB',
        op: 'PutItem',
        key: 'state/ch state',
        bytes: 40,
        condition: 'if-version',
        status: 400,
        error: 'ConditionalCheckFailedException',
      },
    ]);
  });
});

describe('bench: the replay of a DynamoDB write', () => {
  const item = {
    pk: { S: 'state/ch' },
    sk: { S: 'state' },
    bodyz: { B: new Uint8Array(700) },
    version: { N: '41' },
  };
  const observedPut = (condition: StorageCall['condition']): StorageCall => ({
    service: 'DynamoDB',
    client: {},
    op: 'PutItem',
    key: 'state/ch state',
    bytes: 0,
    condition,
    status: 200,
    input: { TableName: 'hls-failover-state', Item: item },
    start: 0,
    ms: 1,
  });

  it("writes the same body under a scratch group, never the workflow's item", () => {
    const scratch: DynamoDbScratch = { groupPrefix: 'bench-replay/', versions: new Map(), created: 0 };
    const put = scratchPutItem(observedPut(undefined), 3, scratch);
    expect(put.TableName).toBe('hls-failover-state');
    expect(put.Item?.pk).toEqual({ S: 'bench-replay/3' });
    expect(put.Item?.sk).toEqual({ S: 'state' });
    expect(put.Item?.bodyz).toBe(item.bodyz);
    expect(put.ConditionExpression).toBeUndefined();
  });

  it('compares the version it wrote last for a version-conditioned write (the first creates the item)', () => {
    const scratch: DynamoDbScratch = { groupPrefix: 'bench-replay/', versions: new Map(), created: 0 };
    const first = scratchPutItem(observedPut('if-version'), 2, scratch);
    const second = scratchPutItem(observedPut('if-version'), 2, scratch);
    expect(first.ConditionExpression).toBe('attribute_not_exists(#pk)');
    expect(first.Item?.version).toEqual({ N: '1' });
    expect(second.ConditionExpression).toBe('#version = :read');
    expect(second.ExpressionAttributeValues).toEqual({ ':read': { N: '1' } });
    expect(second.Item?.version).toEqual({ N: '2' });
  });

  it('gives each create-only write an item name of its own, so its condition holds', () => {
    const scratch: DynamoDbScratch = { groupPrefix: 'bench-replay/', versions: new Map(), created: 0 };
    const names = [1, 2].map(() => scratchPutItem(observedPut('if-absent'), 1, scratch).Item?.sk?.S);
    expect(new Set(names).size).toBe(2);
    expect(
      [1, 2].map(() => scratchPutItem(observedPut('if-absent'), 1, scratch).ConditionExpression),
    ).toEqual(['attribute_not_exists(#pk)', 'attribute_not_exists(#pk)']);
  });

  it('reports round trips by service', () => {
    expect(describeByService({ S3: 2, DynamoDB: 4.25 })).toBe('2 S3 + 4.3 DynamoDB');
  });
});

describe('bench: profile summary', () => {
  it('groups frames by package, project folder and V8 category', () => {
    expect(groupOf('file:///w/node_modules/@smithy/core/dist-cjs/index.js', 'f')).toBe('@smithy/core');
    expect(groupOf('file:///w/node_modules/s3rver/lib/app.js', 'f')).toBe('s3rver');
    expect(groupOf('file:///w/main/functions/store.ts', 'get')).toBe('functions/');
    expect(groupOf('node:internal/fs/streams', 'f')).toBe('node:internal');
    expect(groupOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(groupOf('', 'open')).toBe('(native)');
  });

  it('sums self and inclusive time', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
    const text = summarise({
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2] },
        { id: 2, callFrame: frame('handler', 'file:///w/functions/h.ts'), children: [3] },
        { id: 3, callFrame: frame('send', 'file:///w/node_modules/@smithy/core/x.js') },
      ],
      samples: [2, 3, 3, 3],
      timeDeltas: [1000, 1000, 1000, 1000],
    });
    expect(text).toContain('profile: 0.0 s sampled');
    expect(text).toMatch(/75\.0%\s+3 ms {2}@smithy\/core/);
    expect(text).toMatch(/100\.0%\s+4 ms {2}handler functions\/h\.ts:1/);
  });
});
