/**
 * How the local servers receive an upload (local/request-guards.ts receiveBody): a small body
 * (a playlist) stays in memory and is stored with no disk round trip, which the e2e detection
 * budget needs; a larger one is spooled to disk as it arrives; past the limit, or cut off by its
 * client, it fails and leaves no file (issue 16 §4).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { receiveBody, UploadTooLargeError } from '../../../local/request-guards';

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');
const spoolPath = () => join(mkdtempSync(join(tmpdir(), 'hlsf-receive-')), 'spooled');
const chunksOf = (data: Buffer, size: number) =>
  Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size));

describe('receiveBody', () => {
  it('keeps a body up to spoolAboveBytes in memory and writes no file', async () => {
    const data = Buffer.from('#EXTM3U\n#EXT-X-TARGETDURATION:1\n'.repeat(100));
    const path = spoolPath();

    const body = await receiveBody(Readable.from(chunksOf(data, 700)), {
      limit: 1 << 20,
      spoolAboveBytes: data.length,
      spoolPath: path,
    });

    expect(body).toEqual({ size: data.length, md5: md5(data), buffer: data });
    expect(existsSync(path)).toBe(false);
  });

  it('spools a body over spoolAboveBytes to disk, whole and in order', async () => {
    const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    const path = spoolPath();

    const body = await receiveBody(Readable.from(chunksOf(data, 64 * 1024)), {
      limit: 1 << 20,
      spoolAboveBytes: 100_000,
      spoolPath: path,
    });

    expect(body).toEqual({ size: data.length, md5: md5(data), file: path });
    expect(readFileSync(path).equals(data)).toBe(true);
  });

  it.each([
    ['in memory', 1 << 20],
    ['spooled', 1000],
  ])(
    'fails with UploadTooLargeError one byte past the limit (%s) and leaves no file',
    async (_, spoolAbove) => {
      const path = spoolPath();

      const received = receiveBody(Readable.from(chunksOf(Buffer.alloc(5001, 1), 1024)), {
        limit: 5000,
        spoolAboveBytes: spoolAbove,
        spoolPath: path,
      });

      await expect(received).rejects.toBeInstanceOf(UploadTooLargeError);
      expect(existsSync(path)).toBe(false);
    },
  );

  it.each([
    ['in memory', 1 << 20],
    ['spooled', 10],
  ])('fails when the client goes before the body ends (%s) and leaves no file', async (_, spoolAbove) => {
    const source = new PassThrough();
    const path = spoolPath();
    const received = receiveBody(source, { limit: 1 << 20, spoolAboveBytes: spoolAbove, spoolPath: path });

    source.write(Buffer.alloc(100, 1));
    source.destroy();

    await expect(received).rejects.toThrow(/closed the connection before the body ended/);
    expect(existsSync(path)).toBe(false);
  });
});
