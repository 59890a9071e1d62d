/**
 * The DynamoDB record store against a real DynamoDB implementation (dynalite, as the local runtime
 * runs it, and as `status --local` opens a data dir): conditional writes decide between concurrent
 * writers, and the records survive a restart.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLocalRecords } from '../../cli/local-data';

/** The records of a data dir, as the operations commands open them (an embedded dynalite). */
const open = (dataDir: string) => openLocalRecords(dataDir, 'hls-failover');

describe('DynamoRecordStore on dynalite', () => {
  it('of two writers of the same version, exactly one wins; the other sees precondition-failed', async () => {
    const { records, close } = await open(mkdtempSync(join(tmpdir(), 'hlsf-ddb-')));
    try {
      expect(await records.put('channel/ch1', '{"n":0}', { absent: true })).toBe(1);
      const read = await records.get('channel/ch1');
      expect(read).toEqual({ body: '{"n":0}', version: 1 });

      const outcomes = await Promise.all(
        ['{"n":"a"}', '{"n":"b"}'].map((body) => records.put('channel/ch1', body, { version: 1 })),
      );

      expect([...outcomes].sort()).toEqual([2, 'precondition-failed']);
      const winner = outcomes.indexOf(2) === 0 ? '{"n":"a"}' : '{"n":"b"}';
      expect(await records.get('channel/ch1')).toEqual({ body: winner, version: 2 });
    } finally {
      await close();
    }
  });

  it('of two writers of a first version, exactly one wins', async () => {
    const { records, close } = await open(mkdtempSync(join(tmpdir(), 'hlsf-ddb-')));
    try {
      const outcomes = await Promise.all(
        ['a', 'b'].map((body) => records.put('accepted/ch1/primary/720p.m3u8', body, { absent: true })),
      );
      expect([...outcomes].sort()).toEqual([1, 'precondition-failed']);
    } finally {
      await close();
    }
  });

  it('keeps the records in the data directory: a restart finds them, and lists them by prefix', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'hlsf-ddb-'));
    const first = await open(directory);
    await first.records.put('channel/ch1', '{}', { absent: true });
    await first.records.put('accepted/ch1/primary/720p.m3u8', '{}', { absent: true });
    await first.close();

    const second = await open(directory);
    try {
      expect(await second.records.get('channel/ch1')).toEqual({ body: '{}', version: 1 });
      expect(await second.records.list('channel/')).toEqual(['channel/ch1']);
    } finally {
      await second.close();
    }
  });
});
