/**
 * The quick, seeded form of the fuzz bench (`npm run bench -- --fuzz`): corpus playlists in this
 * repository and generated ones, mutated, through classify → validate → merge → freshness, against
 * the core's contract (bench/fuzz/contract.ts). fast-check shrinks a failure to a minimal case.
 *
 * Every property of the contract is on. It runs in-process, so a hang would stall it: the bench
 * (`--fuzz`, worker threads with a time budget) is where hangs are caught. The findings the fuzz
 * made before issue 12 have named tests in fuzz-findings.test.ts.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { fuzzCaseArbitrary, loadSeeds, QUICK_SCALE } from '../../../bench/fuzz/cases';
import { runFuzzCase } from '../../../bench/fuzz/contract';
import { checkWithHlsParser, parseWithHlsParser } from '../../../functions/hls/parser';

const root = join(__dirname, '..', '..', '..');
/** Only seeds inside the repository, so the cases are the same on every clone. */
const seeds = loadSeeds([
  join(root, 'test', 'fixtures', 'corpus'),
  join(__dirname, 'fixtures'),
  join(__dirname, 'fuzz-findings'),
]);

describe('fuzz: the HLS core keeps its contract on mutated and generated playlists (issue 12)', () => {
  it('never throws untyped errors, never writes an index it rejects, keeps warnings bounded (seeded, shrunk on failure)', () => {
    const arbitrary = fuzzCaseArbitrary(seeds, QUICK_SCALE);
    fc.assert(
      fc.property(arbitrary, (c) => {
        const { failures } = runFuzzCase(c);
        expect(failures.map((f) => `${f.signature} — ${f.detail}`)).toEqual([]);
      }),
      { seed: 20261130, numRuns: 1500 },
    );
  });

  it("gives hls-parser's strict checks of a master in linear pieces the same verdict as its whole-text parse, on every corpus file", () => {
    const disagreements = seeds
      .filter(({ text }) => checkWithHlsParser(text).success !== parseWithHlsParser(text, true).success)
      .map(({ name }) => name);
    expect(disagreements).toEqual([]);
  });
});
