/**
 * How the stores (S3, DynamoDB) run one request: a transient failure becomes
 * {@link StorageUnavailableError}, the name the state machine retries.
 */
import { StorageUnavailableError } from './errors';

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
