/**
 * The seam the workflow's small records go through: each channel's state and the last accepted
 * version of each encoder playlist. Records are grouped (functions/keys.ts): one read returns a
 * whole group. Conditional writes on a version number: "only if absent" or "only if the version is
 * still V". The DynamoDB implementation is functions/dynamodb-store.ts; no SDK here.
 */
import type { RecordKey } from './keys';

/** A record as read: its body and the version a conditional write names. */
export interface StoredRecord {
  readonly body: string;
  readonly version: number;
}

/** When a write may happen: no record yet, or the record still at the version read. */
export type WriteCondition = { readonly absent: true } | { readonly version: number };

export interface RecordStore {
  /** A strongly consistent read (the conditional logic depends on it); undefined when absent. */
  get(key: RecordKey): Promise<StoredRecord | undefined>;
  /** Writes `body` when `condition` holds: the new version, or `'precondition-failed'`. */
  put(key: RecordKey, body: string, condition: WriteCondition): Promise<number | 'precondition-failed'>;
  /** Every record of a group, by name (a strongly consistent read). */
  query(group: string): Promise<Map<string, StoredRecord>>;
  /** Groups that begin with `prefix`, in no particular order. */
  listGroups(prefix: string): Promise<string[]>;
}

/** The condition that makes a write follow the record as read (absent, or at its version). */
export function afterRead(read: StoredRecord | undefined): WriteCondition {
  return read === undefined ? { absent: true } : { version: read.version };
}
