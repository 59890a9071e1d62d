/**
 * Per-key mutual exclusion for the local S3 endpoint: a conditional check and the write it guards
 * happen as one step, and a read never sees a write half done. Keys are independent (a held key
 * never delays another), a waiter can give up (its request closed, or it waited too long) without
 * leaving anything behind, and the lock passes to waiters in arrival order.
 */

/** Thrown when a wait is cancelled; `reason` is the signal's reason. */
export class LockWaitAbortedError extends Error {
  override readonly name = 'LockWaitAbortedError';
}

interface Waiter {
  readonly grant: () => void;
}

export class KeyLocks {
  /** Per key: the holder first, then the waiters in arrival order. No entry: the key is free. */
  private readonly queues = new Map<string, Waiter[]>();

  /**
   * Waits for `key` and resolves with the function that releases it (calling it again does
   * nothing). Rejects with {@link LockWaitAbortedError} if `signal` aborts first; the queue is then
   * as if this call never happened.
   */
  acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted)
        return reject(new LockWaitAbortedError(String(signal.reason), { cause: signal.reason }));
      const queue = this.queues.get(key) ?? [];
      this.queues.set(key, queue);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        queue.shift();
        if (queue.length === 0) this.queues.delete(key);
        else queue[0]?.grant();
      };
      const onAbort = () => {
        const at = queue.indexOf(waiter);
        // At 0 it holds the lock already (granted in this tick): the caller releases it.
        if (at <= 0) return;
        queue.splice(at, 1);
        reject(new LockWaitAbortedError(String(signal?.reason), { cause: signal?.reason }));
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      queue.push(waiter);
      if (queue.length === 1) waiter.grant();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** How many keys are held or waited for (0 when idle: nothing leaked). */
  get size(): number {
    return this.queues.size;
  }
}
