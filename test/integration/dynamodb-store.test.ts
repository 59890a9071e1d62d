/**
 * The DynamoDB record store against a real DynamoDB implementation (dynalite, as the local runtime
 * runs it, and as `status --local` opens a data dir): conditional writes decide between concurrent
 * writers, and the records survive a restart.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLocalRecords } from '../../cli/local-data';
import { acceptedKey, stateKey } from '../../functions/keys';

const STATE = stateKey('ch1');
const ACCEPTED = acceptedKey('ch1', 'primary', '720p.m3u8');

/** The records of a data dir, as the operations commands open them (an embedded dynalite). */
const open = (dataDir: string) => openLocalRecords(dataDir, 'hls-failover');

describe('DynamoRecordStore on dynalite', () => {
  it('of two writers of the same version, exactly one wins; the other sees precondition-failed', async () => {
    const { records, close } = await open(mkdtempSync(join(tmpdir(), 'hlsf-ddb-')));
    try {
      expect(await records.put(STATE, '{"n":0}', { absent: true })).toBe(1);
      const read = await records.get(STATE);
      expect(read).toEqual({ body: '{"n":0}', version: 1 });

      const outcomes = await Promise.all(
        ['{"n":"a"}', '{"n":"b"}'].map((body) => records.put(STATE, body, { version: 1 })),
      );

      expect([...outcomes].sort()).toEqual([2, 'precondition-failed']);
      const winner = outcomes.indexOf(2) === 0 ? '{"n":"a"}' : '{"n":"b"}';
      expect(await records.get(STATE)).toEqual({ body: winner, version: 2 });
    } finally {
      await close();
    }
  });

  it('of two writers of a first version, exactly one wins', async () => {
    const { records, close } = await open(mkdtempSync(join(tmpdir(), 'hlsf-ddb-')));
    try {
      const outcomes = await Promise.all(
        ['a', 'b'].map((body) => records.put(ACCEPTED, body, { absent: true })),
      );
      expect([...outcomes].sort()).toEqual([1, 'precondition-failed']);
    } finally {
      await close();
    }
  });

  it('keeps the records in the data directory: a restart finds them, lists groups by prefix and queries a group', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'hlsf-ddb-'));
    const first = await open(directory);
    await first.records.put(STATE, '{}', { absent: true });
    await first.records.put(ACCEPTED, '{}', { absent: true });
    await first.close();

    const second = await open(directory);
    try {
      expect(await second.records.get(STATE)).toEqual({ body: '{}', version: 1 });
      expect(await second.records.listGroups('channel/')).toEqual(['channel/ch1']);
      await second.records.put(acceptedKey('ch1', 'failover', '720p.m3u8'), '{"f":1}', { absent: true });
      expect([...(await second.records.query(ACCEPTED.group))].sort()).toEqual([
        ['failover/720p.m3u8', { body: '{"f":1}', version: 1 }],
        ['primary/720p.m3u8', { body: '{}', version: 1 }],
      ]);
    } finally {
      await second.close();
    }
  });
});
