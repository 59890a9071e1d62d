import fc from 'fast-check';
import type { FuzzCase } from './cases';

/** The seed of batch `batch` of a run seeded `seed`: batches are independent and reproducible. */
export function batchSeed(seed: number, batch: number): number {
  return (seed ^ Math.imul(batch + 1, 0x9e3779b1)) | 0;
}

/** The cases of one batch; the same seed and batch always give the same cases. */
export function batchCases(
  arbitrary: fc.Arbitrary<FuzzCase>,
  seed: number,
  batch: number,
  size: number,
): FuzzCase[] {
  return fc.sample(arbitrary, { seed: batchSeed(seed, batch), numRuns: size });
}
