/** The local pipeline bench's pure parts: percentiles, the segment ladder, the S3 call observer, the profile summary. */
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { observeS3Calls, percentile, segmentBytesFor } from '../../bench/pipeline';
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

describe('bench: S3 call observer', () => {
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
    const observed = observeS3Calls();
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
    expect(
      observed.calls.map(({ op, key, bytes, condition, status }) => ({ op, key, bytes, condition, status })),
    ).toEqual([
      { op: 'GetObject', key: 'ch/primary/r0.m3u8', bytes: 5, condition: undefined, status: 200 },
      { op: 'PutObject', key: 'state.json', bytes: 3, condition: 'if-match', status: 412 },
    ]);
    expect(observed.calls.every((c) => c.client === client && c.ms >= 0)).toBe(true);
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
