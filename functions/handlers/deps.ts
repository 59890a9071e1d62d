/**
 * What every handler needs, built once per Lambda cold start (a bad environment fails there,
 * not mid-incident). Tests and the local runtime build their own with {@link createDeps}.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { type Settings, settingsFromEnv } from '../config';
import type { FreshnessOptions } from '../hls';
import { type ObjectStore, S3ObjectStore } from '../store';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface HandlerDeps {
  readonly store: ObjectStore;
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
    settings: overrides.settings ?? settingsFromEnv(process.env),
    now: overrides.now ?? Date.now,
    sleep: overrides.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    log: overrides.log ?? jsonLogger(overrides.functionName),
    emitMetricLine: overrides.emitMetricLine ?? ((l) => process.stdout.write(`${l}\n`)),
  };
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
