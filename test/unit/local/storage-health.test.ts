/**
 * The data dir's health (issue 16 §4: a full or read-only disk is reported): the disk's errors are
 * told apart from the rest, each gets its status and a reason saying what to do, and an incident
 * alerts once when the first part of the data dir fails and once when the last one recovers.
 */
import type { Alert } from '../../../functions/alerts';
import { injectedStorageError, StorageHealth, storageProblemOf } from '../../../local/storage-health';

const DATA_DIR = '/data';

describe('storageProblemOf', () => {
  it.each([
    ['ENOSPC', 507, 'is full'],
    ['EDQUOT', 507, 'is full'],
    ['EROFS', 503, 'is not writable'],
    ['EACCES', 503, 'is not writable'],
    ['EPERM', 503, 'is not writable'],
    ['EIO', 503, 'failed'],
  ] as const)('%s is the disk refusing the write: %s, saying the data dir %s', (code, status, what) => {
    const problem = storageProblemOf(injectedStorageError(code, '/data/s3/x'), '/data/s3/x');
    expect(problem).toMatchObject({ code, status, path: '/data/s3/x' });
    expect(problem?.reason).toContain(what);
    expect(problem?.reason).toContain('nothing was stored');
  });

  it('any other error is not the disk', () => {
    expect(storageProblemOf(Object.assign(new Error('gone'), { code: 'ENOENT' }), '/data/x')).toBeUndefined();
    expect(storageProblemOf(new Error('no code'), '/data/x')).toBeUndefined();
  });
});

describe('StorageHealth', () => {
  it('alerts once when writes start failing, and once when every failing part works again', () => {
    const raised: Alert[] = [];
    const health = new StorageHealth({ dataDir: DATA_DIR, raise: (alert) => raised.push(alert) });
    const full = injectedStorageError('ENOSPC', '/data/s3/a');

    health.failed(full, '/data/s3/live/a');
    health.failed(full, '/data/executions.jsonl');
    health.failed(full, '/data/s3/live/b');
    health.succeeded('/data/s3/live/c'); // the bucket takes writes again, the sink still does not
    const stillFailing = health.status();
    health.succeeded('/data/executions.jsonl');
    health.close();

    expect(stillFailing).toMatchObject({ state: 'failing', failures: 3, error: { code: 'ENOSPC' } });
    expect(health.status()).toMatchObject({ state: 'ok', recoveredAt: expect.any(String) });
    expect(raised.map((a) => a.subject)).toEqual([
      '[hls-failover] local runtime: LOCAL STORAGE FAILING (ENOSPC)',
      '[hls-failover] local runtime: LOCAL STORAGE WRITABLE AGAIN (ENOSPC)',
    ]);
  });
});
