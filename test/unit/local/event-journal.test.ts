/**
 * The event journal (issue 16 §4: an acknowledged write is processed after a restart): a write
 * accepted and not marked done is pending at the next open, in the order accepted; a done one is
 * not; torn lines (a crash mid-write) are skipped; the file keeps only what is pending.
 */
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventJournal } from '../../../local/event-journal';

const journalPath = () => join(mkdtempSync(join(tmpdir(), 'hlsf-journal-')), 'events-pending.jsonl');
const write = (key: string, etag = 'abc') => ({ bucket: 'live', key, etag, size: 10 });

describe('EventJournal', () => {
  it('gives the accepted writes without done at the next open, oldest first, and keeps only them', async () => {
    const path = journalPath();
    const journal = await EventJournal.open(path);
    const first = await journal.accept(write('ch1/primary/720p.m3u8'));
    const second = await journal.accept(write('ch1/primary/360p.m3u8'));
    await journal.accept(write('ch1/failover/720p.m3u8'));
    journal.done(second);
    await journal.close();

    const reopened = await EventJournal.open(path);
    await reopened.close();

    expect(reopened.pending.map((entry) => entry.key)).toEqual([
      'ch1/primary/720p.m3u8',
      'ch1/failover/720p.m3u8',
    ]);
    expect(reopened.pending[0]?.id).toBe(first);
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('claims each accepted write once, by key and ETag, for the execution its event starts', async () => {
    const journal = await EventJournal.open(journalPath());
    const id = await journal.accept(write('ch1/primary/720p.m3u8', 'e1'));

    expect(journal.claim('ch1/primary/720p.m3u8', 'other')).toBeUndefined();
    expect(journal.claim('ch1/primary/720p.m3u8', 'e1')).toBe(id);
    expect(journal.claim('ch1/primary/720p.m3u8', 'e1')).toBeUndefined();
    await journal.close();
  });

  it('skips a torn last line left by a crash', async () => {
    const path = journalPath();
    const journal = await EventJournal.open(path);
    await journal.accept(write('ch1/primary/720p.m3u8'));
    await journal.close();
    appendFileSync(path, '{"accepted":{"id":"x","key":"ch1/pri');

    const reopened = await EventJournal.open(path);
    await reopened.close();

    expect(reopened.pending.map((entry) => entry.key)).toEqual(['ch1/primary/720p.m3u8']);
  });

  it('a write the disk refuses is not accepted (the upload fails) and is not pending', async () => {
    const path = journalPath();
    const journal = await EventJournal.open(path, () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    await expect(journal.accept(write('ch1/primary/720p.m3u8'))).rejects.toMatchObject({ code: 'ENOSPC' });
    await journal.close();

    const reopened = await EventJournal.open(path);
    await reopened.close();
    expect(reopened.pending).toEqual([]);
  });
});
