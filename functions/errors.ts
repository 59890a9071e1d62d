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
