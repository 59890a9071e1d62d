/**
 * Errors of the workflow's handlers. Like the domain's, each `name` is the error name the ASL's
 * `ErrorEquals` uses (a test checks every caught name exists in code).
 */
import { HlsFailoverError } from './hls/errors';

export { ConfigInvalidError, LadderMismatchError, PlaylistInvalidError } from './hls/errors';

/**
 * S3 or DynamoDB throttled or failed (SlowDown, throttling, 5xx, network): transient, the state
 * machine retries with backoff.
 */
export class StorageUnavailableError extends HlsFailoverError {
  constructor(operation: string, cause: unknown) {
    super(
      'StorageUnavailable',
      `${operation} failed transiently: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
  }
}

/** Conditional writes of one channel's state kept losing to other executions; the state machine retries. */
export class StateContentionError extends HlsFailoverError {
  constructor(key: string, attempts: number) {
    super('StateContention', `${key}: ${attempts} conditional writes in a row lost to concurrent executions`);
  }
}

/** A request that got no answer (connection refused, reset or timed out): transient. */
export function isNetworkFailure(error: unknown): boolean {
  return (
    error instanceof Error && /ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up|EPIPE/.test(error.message)
  );
}

/**
 * Runs one storage request (S3 or DynamoDB); a failure `isTransient` accepts becomes
 * {@link StorageUnavailableError}, any other goes through as it is.
 */
export async function storageCall<T>(
  operation: string,
  isTransient: (error: unknown) => boolean,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isTransient(error)) throw new StorageUnavailableError(operation, error);
    throw error;
  }
}
