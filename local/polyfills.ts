/**
 * aws-local-stepfunctions 3 calls `Promise.withResolvers` (Node 22+). On Node 20 we add it
 * here, once, with the standard semantics (TC39 "Promise.withResolvers", ES2024); on Node 22+
 * the built-in is left untouched.
 */
type WithResolvers = <T>() => {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
};

export function installPromiseWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: WithResolvers };
  if (typeof P.withResolvers === 'function') return;
  P.withResolvers = <T>() => {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
