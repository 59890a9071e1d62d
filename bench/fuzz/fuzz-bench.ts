/**
 * `npm run bench -- --fuzz`: many seeded fuzz cases on worker threads, each case under a time
 * budget (a worker that overruns it is terminated and the case reported as a hang, naming the
 * step), findings grouped by cause, and the first case of each cause minimized (lines removed
 * while the same failure remains) and written to a folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type FuzzCase, fuzzCaseArbitrary, loadSeeds, type Scale } from './cases';
import { type FailureKind, STEPS } from './contract';
import { batchCases } from './generate';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './worker';

export interface FuzzOptions {
  readonly cases: number;
  readonly seed: number;
  readonly workers: number;
  /** A case that runs longer than this is a hang, ms. */
  readonly budgetMs: number;
  readonly batchSize: number;
  readonly scale: Scale;
  /** Folder for the minimal reproducers; undefined writes none. */
  readonly out: string | undefined;
  /** Minimize at most this many causes (each takes up to `minimizeAttempts` runs). */
  readonly minimizeCauses: number;
  readonly minimizeAttempts: number;
  /** Stop minimizing after this long, ms (the remaining causes are written as found). */
  readonly minimizeMs: number;
  readonly progress?: (line: string) => void;
}

export interface Finding {
  readonly signature: string;
  readonly kind: FailureKind;
  /** Cases that showed it (a case counts once per cause). */
  readonly cases: number;
  readonly detail: string;
  readonly origin: string;
  /** The minimal reproducer written for it, when one was. */
  readonly file?: string;
}

export interface FuzzReport {
  readonly cases: number;
  readonly seed: number;
  readonly workers: number;
  readonly budgetMs: number;
  readonly elapsedMs: number;
  /** Cases with at least one failure of each kind, and the number of failing calls. */
  readonly totals: Readonly<Record<FailureKind, { readonly cases: number; readonly calls: number }>>;
  readonly worstMs: number;
  readonly worstOrigin: string;
  readonly over100ms: number;
  readonly findings: readonly Finding[];
}

const KINDS: readonly FailureKind[] = [
  'hang',
  'untyped-exception',
  'exception',
  'invalid-output',
  'unbounded-warnings',
  'strict-mismatch',
];

type LaneResult =
  | { readonly hang: false }
  | { readonly hang: true; readonly index: number; readonly step: string };

/** One worker thread and the shared memory it reports its position in; replaced after a hang. */
class Lane {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private readonly position = new SharedArrayBuffer(12);

  constructor(private readonly setup: Omit<WorkerSetup, 'position'>) {}

  /** Posts a request and feeds replies to `onReply` until it returns true, or the budget runs out between two replies. */
  async run(
    request: WorkerRequest,
    budgetMs: number,
    onReply: (reply: WorkerReply) => boolean,
  ): Promise<LaneResult> {
    const worker = await this.start();
    const position = new Int32Array(this.position);
    Atomics.store(position, 0, -1);
    Atomics.store(position, 1, -1);
    return new Promise<LaneResult>((resolve, reject) => {
      // A hang is no progress (a new case, a new step, a reply) for budgetMs: each call gets the
      // budget, so a 50,000-segment case is not a hang for being big.
      let generating = request.type === 'batch';
      let lastTick = Atomics.load(position, 2);
      let lastChange = performance.now();
      const poll = setInterval(
        () => {
          const tick = Atomics.load(position, 2);
          if (tick !== lastTick || generating) {
            lastTick = tick;
            lastChange = performance.now();
            return;
          }
          if (performance.now() - lastChange < budgetMs) return;
          cleanup();
          const index = Atomics.load(position, 0);
          const step = STEPS[Atomics.load(position, 1)] ?? 'before the first step';
          void this.stop();
          resolve({ hang: true, index, step });
        },
        Math.min(250, budgetMs / 4),
      );
      const onMessage = (reply: WorkerReply) => {
        // Generating a batch (50,000-segment and 1 MB-line cases among them) is not a case.
        if (reply.type === 'ready') generating = false;
        lastChange = performance.now();
        if (onReply(reply)) {
          cleanup();
          resolve({ hang: false });
        }
      };
      const onError = (cause: Error) => {
        cleanup();
        this.worker = undefined;
        reject(cause);
      };
      const cleanup = () => {
        clearInterval(poll);
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage(request);
    });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    await worker?.terminate();
  }

  private async start(): Promise<Worker> {
    if (this.worker === undefined) {
      const worker = new Worker(join(__dirname, 'worker.cjs'), {
        workerData: { ...this.setup, position: this.position } satisfies WorkerSetup,
      });
      this.worker = worker;
      // Loading TypeScript and the corpus takes seconds on a busy machine: not part of any budget.
      this.ready = new Promise((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
    }
    await this.ready;
    return this.worker as Worker;
  }
}

export async function runFuzzBench(options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const setup = { seed: options.seed, batchSize: options.batchSize, scale: options.scale };
  const arbitrary = fuzzCaseArbitrary(loadSeeds(), options.scale);
  const totals = Object.fromEntries(KINDS.map((k) => [k, { cases: 0, calls: 0 }])) as Record<
    FailureKind,
    { cases: number; calls: number }
  >;
  const causes = new Map<string, { kind: FailureKind; cases: number; detail: string; example: FuzzCase }>();
  let done = 0;
  let worstMs = 0;
  let worstOrigin = '';
  let over100ms = 0;
  let lastProgress = performance.now();

  const record = (
    failures: readonly { signature: string; kind: FailureKind; detail: string }[],
    c: FuzzCase,
  ) => {
    const kinds = new Set<FailureKind>();
    const signatures = new Set<string>();
    for (const f of failures) {
      totals[f.kind].calls++;
      kinds.add(f.kind);
      if (signatures.has(f.signature)) continue;
      signatures.add(f.signature);
      const known = causes.get(f.signature);
      if (known === undefined)
        causes.set(f.signature, { kind: f.kind, cases: 1, detail: f.detail, example: c });
      else known.cases++;
    }
    for (const k of kinds) totals[k].cases++;
  };

  const batches = Math.ceil(options.cases / options.batchSize);
  let nextBatch = 0;
  const lane = async () => {
    const worker = new Lane(setup);
    try {
      while (nextBatch < batches) {
        const batch = nextBatch++;
        const size = Math.min(options.batchSize, options.cases - batch * options.batchSize);
        let from = 0;
        while (from < size) {
          const result = await worker.run(
            { type: 'batch', batch, from, to: size },
            options.budgetMs,
            (reply) => {
              if (reply.type === 'batch-done') return reply.batch === batch;
              if (reply.type !== 'case-done' || reply.batch !== batch) return false;
              done++;
              if (reply.ms > worstMs) {
                worstMs = reply.ms;
                worstOrigin = describeCase(
                  reply.failed ?? batchCases(arbitrary, options.seed, batch, options.batchSize)[reply.index],
                );
              }
              if (reply.ms > 100) over100ms++;
              if (reply.failed !== undefined) record(reply.failures, reply.failed);
              return false;
            },
          );
          if (result.hang) {
            if (result.index < 0)
              throw new Error(`fuzz worker stopped answering outside any case (${result.step})`);
            const c = batchCases(arbitrary, options.seed, batch, options.batchSize)[result.index] as FuzzCase;
            done++;
            worstMs = Math.max(worstMs, options.budgetMs);
            worstOrigin = `${describeCase(c)} (hang)`;
            record(
              [
                {
                  signature: `${result.step} hang`,
                  kind: 'hang',
                  detail: `no answer within ${options.budgetMs} ms`,
                },
              ],
              c,
            );
            from = result.index + 1;
          } else from = size;
          if (performance.now() - lastProgress > 5_000) {
            lastProgress = performance.now();
            options.progress?.(`${done} / ${options.cases} cases, ${causes.size} causes so far`);
          }
        }
      }
    } finally {
      await worker.stop();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.workers) }, lane));

  const findings = await minimizeAll(causes, setup, options);
  return {
    cases: done,
    seed: options.seed,
    workers: options.workers,
    budgetMs: options.budgetMs,
    elapsedMs: Math.round(performance.now() - started),
    totals,
    worstMs: Math.round(worstMs * 10) / 10,
    worstOrigin,
    over100ms,
    findings,
  };
}

function describeCase(c: FuzzCase | undefined): string {
  return c === undefined ? 'unknown' : `${c.origin}, ${c.text.length} chars`;
}

/** Shrinks the first case of each cause (lines removed while the same failure remains) and writes it out. */
async function minimizeAll(
  causes: Map<string, { kind: FailureKind; cases: number; detail: string; example: FuzzCase }>,
  setup: Omit<WorkerSetup, 'position'>,
  options: FuzzOptions,
): Promise<Finding[]> {
  const sorted = [...causes].sort((a, b) => b[1].cases - a[1].cases || a[0].localeCompare(b[0]));
  const findings: Finding[] = [];
  const lane = new Lane(setup);
  const probeBudget = Math.min(options.budgetMs, 2_000);
  const minimizeStart = performance.now();
  let id = 0;
  /** True when the case still fails with `signature`. */
  const holds = async (c: FuzzCase, signature: string): Promise<boolean> => {
    let signatures: readonly string[] = [];
    const result = await lane.run({ type: 'case', id: ++id, case: c }, probeBudget, (reply) => {
      if (reply.type !== 'probe-done' || reply.id !== id) return false;
      signatures = reply.signatures;
      return true;
    });
    return result.hang ? signature === `${result.step} hang` : signatures.includes(signature);
  };
  try {
    for (const [index, [signature, cause]] of sorted.entries()) {
      let file: string | undefined;
      if (options.out !== undefined && index < options.minimizeCauses) {
        options.progress?.(
          `minimizing ${index + 1} / ${Math.min(sorted.length, options.minimizeCauses)}: ${signature}`,
        );
        // A probe that hangs costs the budget and a new worker: fewer of them.
        // Past the time cap, causes are written as found (not minimized).
        const attempts =
          performance.now() - minimizeStart > options.minimizeMs
            ? 0
            : cause.kind === 'hang'
              ? Math.min(40, options.minimizeAttempts)
              : options.minimizeAttempts;
        const minimal = await minimizeCase(cause.example, (c) => holds(c, signature), attempts);
        file = writeFinding(options.out, index + 1, signature, cause.detail, minimal);
      }
      findings.push({
        signature,
        kind: cause.kind,
        cases: cause.cases,
        detail: cause.detail,
        origin: cause.example.origin,
        ...(file === undefined ? {} : { file }),
      });
    }
  } finally {
    await lane.stop();
  }
  return findings;
}

/** Delta debugging over lines of the text, then of the previous version and the other master. */
async function minimizeCase(
  c: FuzzCase,
  holds: (c: FuzzCase) => Promise<boolean>,
  maxAttempts: number,
): Promise<FuzzCase> {
  let attempts = 0;
  let current = c;
  const shrink = async (field: 'text' | 'previous' | 'other') => {
    let lines = current[field].split('\n');
    for (
      let chunk = Math.ceil(lines.length / 2);
      chunk >= 1;
      chunk = chunk === 1 ? 0 : Math.ceil(chunk / 2)
    ) {
      for (let i = 0; i < lines.length && attempts < maxAttempts; ) {
        const candidate = [...lines.slice(0, i), ...lines.slice(i + chunk)];
        attempts++;
        const next = { ...current, [field]: candidate.join('\n') };
        if (await holds(next)) {
          lines = candidate;
          current = next;
        } else i += chunk;
      }
      if (attempts >= maxAttempts) return;
    }
  };
  // An unrelated previous version or other master is noise: try the text itself first.
  for (const field of ['previous', 'other'] as const) {
    if (current[field] !== current.text && (await holds({ ...current, [field]: current.text })))
      current = { ...current, [field]: current.text };
  }
  await shrink('text');
  if (current.previous !== current.text) await shrink('previous');
  if (current.other !== current.text) await shrink('other');
  return current;
}

function writeFinding(out: string, n: number, signature: string, detail: string, c: FuzzCase): string {
  mkdirSync(out, { recursive: true });
  const slug = signature
    .split(':', 1)[0]
    ?.replace(/[^a-z0-9]+/gi, '-')
    .toLowerCase();
  const base = join(out, `${String(n).padStart(2, '0')}-${slug}`);
  writeFileSync(`${base}.m3u8`, c.text);
  if (c.previous !== c.text) writeFileSync(`${base}.previous.m3u8`, c.previous);
  if (c.other !== c.text) writeFileSync(`${base}.other.m3u8`, c.other);
  const { text: _t, previous: _p, other: _o, ...rest } = c;
  writeFileSync(`${base}.json`, `${JSON.stringify({ signature, detail, ...rest }, null, 2)}\n`);
  return `${base}.m3u8`;
}

export function fuzzTable(r: FuzzReport, out: string | undefined): string {
  const t = r.totals;
  const lines = [
    `fuzz: ${r.cases} cases (seed ${r.seed}, ${r.workers} worker threads, ${r.budgetMs} ms budget per case) in ${(r.elapsedMs / 1000).toFixed(1)} s`,
    `  hangs:                                  ${t.hang.cases}`,
    `  untyped exceptions:                     ${t['untyped-exception'].cases} cases (${t['untyped-exception'].calls} calls)`,
    `  exceptions from never-throwing calls:   ${t.exception.cases} cases (${t.exception.calls} calls)`,
    `  invalid merged indexes:                 ${t['invalid-output'].cases} cases (${t['invalid-output'].calls} merges)`,
    `  unbounded warnings:                     ${t['unbounded-warnings'].cases} cases (${t['unbounded-warnings'].calls} calls)`,
    `  strict-check pieces ≠ whole-text parse: ${t['strict-mismatch'].cases} cases`,
    `  worst time: ${r.worstMs} ms (${r.worstOrigin}); cases over 100 ms: ${r.over100ms}`,
  ];
  const clean = KINDS.every((k) => t[k].cases === 0);
  lines.push(
    clean
      ? '  PASS: no hang, no exception, no invalid index, no unbounded output'
      : '  MISS: see the causes below',
  );
  if (r.findings.length > 0) {
    lines.push(
      '',
      `causes (${r.findings.length}; cases per cause; minimal reproducers in ${out ?? '(not written)'}):`,
    );
    for (const f of r.findings)
      lines.push(
        `  ${String(f.cases).padStart(6)}  ${f.signature}${f.file === undefined ? '' : `\n          → ${f.file}`}`,
      );
  }
  return `${lines.join('\n')}\n`;
}
