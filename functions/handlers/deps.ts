/**
 * What every handler needs, built once per Lambda cold start (a bad environment fails there,
 * not mid-incident). Tests and the local runtime build their own with {@link createDeps}.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { type Settings, STATE_TABLE_ENV, settingsFromEnv } from '../config';
import { DynamoRecordStore } from '../dynamodb-store';
import { ConfigInvalidError } from '../errors';
import type { FreshnessOptions } from '../hls';
import type { RecordStore } from '../record-store';
import { type ObjectStore, S3ObjectStore } from '../store';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface HandlerDeps {
  /** The bucket: encoder playlists, index.m3u8, steering.json. */
  readonly store: ObjectStore;
  /** The workflow's own records: each channel's state, the accepted playlist versions. */
  readonly records: RecordStore;
  readonly settings: Settings;
  readonly now: () => number;
  /** Waits (a handler that must look again a moment later). */
  readonly sleep: (ms: number) => Promise<void>;
  readonly log: Logger;
  /** Where metric lines go: stdout on Lambda (CloudWatch EMF), a file locally. */
  readonly emitMetricLine: (line: string) => void;
}

/** A JSON-lines logger with the service name and the function's name on every line. */
export function jsonLogger(
  functionName: string,
  write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Logger {
  const line = (level: string, message: string, fields?: Record<string, unknown>) =>
    write(JSON.stringify({ level, service: 'hls-failover', function: functionName, message, ...fields }));
  return { info: (m, f) => line('INFO', m, f), warn: (m, f) => line('WARN', m, f) };
}

export function createDeps(overrides: Partial<HandlerDeps> & { functionName: string }): HandlerDeps {
  return {
    store: overrides.store ?? new S3ObjectStore(new S3Client({})),
    records: overrides.records ?? recordStoreFromEnv(process.env),
    settings: overrides.settings ?? settingsFromEnv(process.env),
    now: overrides.now ?? Date.now,
    sleep: overrides.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    log: overrides.log ?? jsonLogger(overrides.functionName),
    emitMetricLine: overrides.emitMetricLine ?? ((l) => process.stdout.write(`${l}\n`)),
  };
}

/**
 * The DynamoDB table the stack passes in {@link STATE_TABLE_ENV}. Without it (a handler module
 * imported by a test, which passes its own store), every call fails naming the variable.
 */
export function recordStoreFromEnv(env: Readonly<Record<string, string | undefined>>): RecordStore {
  const table = env[STATE_TABLE_ENV];
  if (table !== undefined && table !== '') return new DynamoRecordStore(new DynamoDBClient({}), table);
  const missing = () =>
    Promise.reject(
      new ConfigInvalidError([`environment variable ${STATE_TABLE_ENV} (the state table's name) is not set`]),
    );
  return { get: missing, put: missing, query: missing, listGroups: missing };
}

/** The freshness options the settings describe. */
export function freshnessOptions(settings: Settings): FreshnessOptions {
  return {
    encoders: settings.encoders as unknown as readonly [string, string],
    stallAfterTargetDurations: settings.stallAfterTargetDurations,
    maxLagSegments: settings.maxLagSegments,
    lagGraceTargetDurations: settings.lagGraceTargetDurations,
    recoverAfterUpdates: settings.recoverAfterUpdates,
    failback: settings.failback as 'auto' | 'manual',
    withdraw: settings.withdrawal,
  };
}

/** Withdrawals splice (functions/hls/splice.ts) rather than delete: both settings on. */
export function splicingOn(settings: Settings): boolean {
  return settings.withdrawal && settings.splicing;
}

/** How the alerts describe a withdrawal: splices or deletions (the default). */
export function alertOptions(settings: Settings): { readonly splicing: boolean } {
  return { splicing: splicingOn(settings) };
}
