/**
 * The fuzz worker: generates its batches of cases itself (same seed → same cases as the main
 * thread would generate) and runs each through the contract. Before each case and step it writes
 * where it is into shared memory, so the main thread can name the case and step of a hang after
 * it terminates this worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type FuzzCase, fuzzCaseArbitrary, loadSeeds, type Scale } from './cases';
import { runFuzzCase, STEPS } from './contract';
import { batchCases } from './generate';

export type WorkerRequest =
  | { readonly type: 'batch'; readonly batch: number; readonly from: number; readonly to: number }
  | { readonly type: 'case'; readonly id: number; readonly case: FuzzCase };

export type WorkerReply =
  | {
      readonly type: 'case-done';
      readonly batch: number;
      readonly index: number;
      readonly ms: number;
      readonly failures: ReturnType<typeof runFuzzCase>['failures'];
      /** The case itself, only when it failed (for the report and the minimizer). */
      readonly failed?: FuzzCase;
    }
  | { readonly type: 'batch-done'; readonly batch: number }
  /** Sent once loaded, and once a batch is generated: the time budget counts from there. */
  | { readonly type: 'ready' }
  | { readonly type: 'probe-done'; readonly id: number; readonly signatures: readonly string[] };

export interface WorkerSetup {
  readonly seed: number;
  readonly batchSize: number;
  readonly scale: Scale;
  /** [case index in batch, step index, steps started] of what runs now. */
  readonly position: SharedArrayBuffer;
}

const setup = workerData as WorkerSetup;
const position = new Int32Array(setup.position);
const arbitrary = fuzzCaseArbitrary(loadSeeds(), setup.scale);
const port = parentPort;
if (port === null) throw new Error('bench/fuzz/worker.ts runs only as a worker thread');

const onStep = (step: (typeof STEPS)[number]) => {
  Atomics.store(position, 1, STEPS.indexOf(step));
  Atomics.add(position, 2, 1);
};

port.on('message', (request: WorkerRequest) => {
  if (request.type === 'case') {
    Atomics.store(position, 0, -1);
    const outcome = runFuzzCase(request.case, [], onStep);
    port.postMessage({
      type: 'probe-done',
      id: request.id,
      signatures: outcome.failures.map((f) => f.signature),
    } satisfies WorkerReply);
    return;
  }
  const cases = batchCases(arbitrary, setup.seed, request.batch, setup.batchSize);
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
  for (let index = request.from; index < Math.min(request.to, cases.length); index++) {
    Atomics.store(position, 0, index);
    Atomics.store(position, 1, -1);
    Atomics.add(position, 2, 1);
    const c = cases[index] as FuzzCase;
    const outcome = runFuzzCase(c, [], onStep);
    port.postMessage({
      type: 'case-done',
      batch: request.batch,
      index,
      ms: outcome.ms,
      failures: outcome.failures,
      ...(outcome.failures.length > 0 ? { failed: c } : {}),
    } satisfies WorkerReply);
  }
  port.postMessage({ type: 'batch-done', batch: request.batch } satisfies WorkerReply);
});
port.postMessage({ type: 'ready' } satisfies WorkerReply);
