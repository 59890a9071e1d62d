/**
 * The S3 endpoint's per-key locks (local/key-locks.ts): one holder per key in arrival order, other
 * keys never wait, and a waiter that gives up leaves nothing behind (issue 16 §4: a client that
 * gave up waiting used to leak the lock, and its key hung forever).
 */
import { KeyLocks, LockWaitAbortedError } from '../../../local/key-locks';

const settled = async <T>(promise: Promise<T>) => {
  let done = false;
  void promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('KeyLocks', () => {
  it('grants one key to one holder at a time, in arrival order', async () => {
    const locks = new KeyLocks();
    const order: number[] = [];
    const first = await locks.acquire('k');
    const waiters = [1, 2].map((n) =>
      locks.acquire('k').then((release) => {
        order.push(n);
        return release;
      }),
    );
    expect(await settled(waiters[0] as Promise<unknown>)).toBe(false);
    first();
    (await waiters[0])?.();
    (await waiters[1])?.();
    expect(order).toEqual([1, 2]);
    expect(locks.size).toBe(0);
  });

  it('never makes another key wait', async () => {
    const locks = new KeyLocks();
    await locks.acquire('held');
    expect(await settled(locks.acquire('other'))).toBe(true);
  });

  it('a waiter that aborts leaves the queue as if it never came: the next request gets the key', async () => {
    const locks = new KeyLocks();
    const holder = await locks.acquire('k');
    const gone = new AbortController();
    const abandoned = locks.acquire('k', gone.signal);
    const next = locks.acquire('k');
    gone.abort(new Error('client closed'));
    await expect(abandoned).rejects.toBeInstanceOf(LockWaitAbortedError);
    holder();
    (await next)();
    expect(locks.size).toBe(0);
    expect(await settled(locks.acquire('k'))).toBe(true);
  });

  it('refuses at once with a signal already aborted, and a release called twice frees only once', async () => {
    const locks = new KeyLocks();
    await expect(locks.acquire('k', AbortSignal.abort())).rejects.toBeInstanceOf(LockWaitAbortedError);
    const release = await locks.acquire('k');
    const next = locks.acquire('k');
    const after = locks.acquire('k');
    release();
    release();
    await next;
    expect(await settled(after)).toBe(false);
  });
});
