/**
 * The local runtime's data dir as storage that can fail (issue 16 §4). A full, read-only or
 * failing disk is the answer to the write that hit it (507 when full, 503 otherwise, saying why and
 * what to do), a `storage` entry on the status page and API (the error, the path, since when), and
 * one LOCAL STORAGE FAILING alert through the local sinks and webhook, then one LOCAL STORAGE
 * WRITABLE AGAIN notice once a write works again. It never stops the runtime: reads (origin,
 * status page, API) go on.
 *
 * Test injection: {@link StorageFaultInjector} makes the runtime's own writes fail as such a disk
 * would (`chmod` does not stop root, and a small tmpfs needs root). It is checked before each
 * write the S3 endpoint makes (objects, spooled or not, their metadata, deletes), before each
 * append to the JSON-lines sinks and the event journal, and by the storage probe. It does not
 * reach the origin's spool of large uploads (whose real refusals are answered and reported all
 * the same), dynalite's LevelDB files or the Lambdas' logs.
 */
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Alert } from '../functions/alerts';

/** The errors of a disk that refuses writes. */
export type StorageErrorCode = 'ENOSPC' | 'EDQUOT' | 'EROFS' | 'EACCES' | 'EPERM' | 'EIO';

const FULL: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT']);
const READ_ONLY: ReadonlySet<string> = new Set(['EROFS', 'EACCES', 'EPERM']);
const FAILING: ReadonlySet<string> = new Set(['EIO']);

/**
 * Test injection: the error code a write to `path` fails with now, or undefined to let it happen.
 * @example runtime options `{ storageFault: (path) => (path.includes('/s3/') ? 'ENOSPC' : undefined) }`
 */
export type StorageFaultInjector = (path: string) => StorageErrorCode | undefined;

/** A write the disk refused, as the client and the status API are told. */
export interface StorageProblem {
  readonly code: string;
  /** The system's message, e.g. `ENOSPC: no space left on device, write`. */
  readonly message: string;
  readonly path: string;
  /** 507 Insufficient Storage for a full disk, 503 for a read-only or failing one. */
  readonly status: 507 | 503;
  /** One sentence for the client: what happened, that nothing was stored, what to do. */
  readonly reason: string;
}

/** The problem `error` (thrown by a write to `path`) is when it is the disk's, else undefined. */
export function storageProblemOf(error: unknown, path: string): StorageProblem | undefined {
  const { code, message } = (error ?? {}) as Partial<NodeJS.ErrnoException>;
  if (code === undefined || !(FULL.has(code) || READ_ONLY.has(code) || FAILING.has(code))) return undefined;
  const where = `${code} at ${path}`;
  const reason = FULL.has(code)
    ? `the local runtime's data dir is full (${where}): nothing was stored; free space on its disk, or restart with another --data-dir`
    : READ_ONLY.has(code)
      ? `the local runtime's data dir is not writable (${where}): nothing was stored; make it writable again (mount, permissions), or restart with another --data-dir`
      : `the disk of the local runtime's data dir failed (${where}): nothing was stored; check the disk, or restart with another --data-dir`;
  return { code, message: message ?? code, path, status: FULL.has(code) ? 507 : 503, reason };
}

/** An error as `fs` throws it for `code`, marked as injected. */
export function injectedStorageError(code: StorageErrorCode, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected storage fault, write '${path}'`), {
    code,
    syscall: 'write',
    path,
  });
}

/** The `storage` entry of the status API. */
export interface StorageStatus {
  readonly state: 'ok' | 'failing';
  readonly dataDir: string;
  /** While failing: the last refused write. */
  readonly error?: { readonly code: string; readonly message: string };
  readonly path?: string;
  /** While failing: when the first write was refused (ISO 8601). */
  readonly since?: string;
  /** While failing: writes refused since then. */
  readonly failures?: number;
  /** When writes last worked again after failing (ISO 8601). */
  readonly recoveredAt?: string;
}

/** The `channel` of the runtime's own alerts. */
const LOCAL_RUNTIME = '(local runtime)';

export type StorageAlertKind = 'LOCAL STORAGE FAILING' | 'LOCAL STORAGE WRITABLE AGAIN';

/** While failing, how often a probe file is written to learn that the disk works again. */
export const STORAGE_PROBE_MS = 5000;

/** The probe's file in the data dir (written and removed). */
const PROBE_FILE = '.storage-probe';

export interface StorageHealthOptions {
  readonly dataDir: string;
  /** Receives each transition's alert (one when writes start failing, one when they work again). */
  readonly raise: (alert: Alert) => void;
  /** @default - no injected faults */
  readonly fault?: StorageFaultInjector | undefined;
}

/**
 * The data dir's health, from every write the runtime makes: see the module comment. Each part of
 * the data dir (its first path segment: `s3`, `executions.jsonl`, …) fails and recovers on its own,
 * so a part that refuses writes while another takes them is still failing; the alert goes out when
 * the first part fails, the notice when the last one recovers.
 */
export class StorageHealth {
  /** The failing parts. */
  private readonly parts = new Set<string>();
  private incident:
    | { since: Date; failures: number; latest: StorageProblem; probe: NodeJS.Timeout }
    | undefined;
  private recoveredAt: Date | undefined;

  constructor(private readonly options: StorageHealthOptions) {}

  /** Throws the injected fault for a write to `path`, if any. Call before each write. */
  check(path: string): void {
    const code = this.options.fault?.(path);
    if (code !== undefined) throw injectedStorageError(code, path);
  }

  /**
   * Records `error`, thrown by a write to `path`: returns the problem when the disk refused it
   * (alerting when it is the first), undefined for any other error.
   */
  failed(error: unknown, path: string): StorageProblem | undefined {
    const problem = storageProblemOf(error, path);
    if (problem === undefined) return undefined;
    this.parts.add(this.partOf(path));
    if (this.incident !== undefined) {
      this.incident.latest = problem;
      this.incident.failures++;
      return problem;
    }
    const probe = setInterval(() => this.probe(), STORAGE_PROBE_MS);
    probe.unref();
    this.incident = { since: new Date(), failures: 1, latest: problem, probe };
    this.options.raise(
      storageAlert('LOCAL STORAGE FAILING', problem, this.incident.since, this.options.dataDir),
    );
    return problem;
  }

  /** Records a write to `path` that worked: once no part fails, the data dir is writable again. */
  succeeded(path: string): void {
    if (this.incident === undefined || !this.parts.delete(this.partOf(path)) || this.parts.size > 0) return;
    const { since, latest, probe } = this.incident;
    clearInterval(probe);
    this.incident = undefined;
    this.recoveredAt = new Date();
    this.options.raise(storageAlert('LOCAL STORAGE WRITABLE AGAIN', latest, since, this.options.dataDir));
  }

  status(): StorageStatus {
    const { dataDir } = this.options;
    const recovered = this.recoveredAt === undefined ? {} : { recoveredAt: this.recoveredAt.toISOString() };
    if (this.incident === undefined) return { state: 'ok', dataDir, ...recovered };
    const { latest, since, failures } = this.incident;
    return {
      state: 'failing',
      dataDir,
      error: { code: latest.code, message: latest.message },
      path: latest.path,
      since: since.toISOString(),
      failures,
      ...recovered,
    };
  }

  close(): void {
    if (this.incident !== undefined) clearInterval(this.incident.probe);
  }

  /** The part of the data dir `path` is in: its first segment below the data dir. */
  private partOf(path: string): string {
    const below = relative(this.options.dataDir, path);
    return below.split(sep).find((segment) => segment !== '') ?? '';
  }

  /** Writes a file in each failing part (in its folder, or in the data dir for a file): what works recovers. */
  private probe(): void {
    for (const part of [...this.parts]) {
      const where = join(this.options.dataDir, part);
      const folder = existsSync(where) && statSync(where).isDirectory() ? where : this.options.dataDir;
      const path = join(folder, PROBE_FILE);
      try {
        this.check(where);
        writeFileSync(path, new Date().toISOString());
        rmSync(path, { force: true });
        this.succeeded(where);
      } catch (error) {
        this.failed(error, where);
      }
    }
  }
}

/**
 * The alert of a storage transition, shaped as the workflow's (subject, body ending in a JSON
 * payload, SNS-style attributes), so the sinks, the status page and the webhook take it as they
 * take any other; its incident is the failure's start, so the webhook sends each one once.
 */
export function storageAlert(
  kind: StorageAlertKind,
  problem: StorageProblem,
  since: Date,
  dataDir: string,
): Alert {
  const severity = kind === 'LOCAL STORAGE FAILING' ? 'critical' : 'info';
  const at = new Date();
  const payload = {
    kind,
    severity,
    // Not a channel's: named so that audits and webhook receivers never file it under one.
    channel: LOCAL_RUNTIME,
    incidentId: `local-storage-${since.toISOString()}`,
    incidentStart: since.toISOString(),
    at: at.toISOString(),
    dataDir,
    error: { code: problem.code, message: problem.message },
    path: problem.path,
    ...(kind === 'LOCAL STORAGE WRITABLE AGAIN'
      ? { durationSeconds: Math.round((at.getTime() - since.getTime()) / 1000) }
      : {}),
  };
  const lines =
    kind === 'LOCAL STORAGE FAILING'
      ? [
          `The local runtime cannot write its data dir ${dataDir}: ${problem.message} (${problem.path}).`,
          `Since ${payload.incidentStart}. Uploads are refused (${problem.status}) and nothing is half written; reads (origin, status page, API) go on.`,
          'Next: free space on the disk or make the data dir writable again; writes resume by themselves (a notice follows).',
        ]
      : [
          `The local runtime writes its data dir ${dataDir} again (it failed with ${problem.code} from ${payload.incidentStart}, ${payload.durationSeconds ?? 0} s).`,
          'Uploads refused meanwhile were not stored: their encoders must send them again (a live encoder does with its next segment).',
        ];
  const attribute = (value: string) => ({ DataType: 'String' as const, StringValue: value });
  return {
    subject: `[hls-failover] local runtime: ${kind} (${problem.code})`,
    message: [...lines, '', `JSON: ${JSON.stringify(payload)}`].join('\n'),
    attributes: { channel: attribute(LOCAL_RUNTIME), kind: attribute(kind), severity: attribute(severity) },
  };
}
