/**
 * The local JSON-lines sinks are bounded (issue 16 §4: executions.jsonl grew ~45 KB per execution
 * with no rotation): a file is rotated before a line would take it past the limit, the newest
 * rotated file is `.1`, the oldest beyond `keep` is dropped, and no line is ever split.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonLinesSink, sinkFiles } from '../../../local/json-lines-sink';

const sinkPath = () => join(mkdtempSync(join(tmpdir(), 'hlsf-sink-')), 'executions.jsonl');
const linesOf = (file: string) => readFileSync(file, 'utf8').trim().split('\n');
/** A JSON line of exactly 100 bytes with its newline. */
const record = (n: number) => ({ n, pad: 'x'.repeat(99 - JSON.stringify({ n, pad: '' }).length) });

describe('JsonLinesSink', () => {
  it('rotates before a line would pass maxBytes: no file over the limit, no line split', () => {
    const path = sinkPath();
    const sink = new JsonLinesSink(path, { maxBytes: 1000, keep: 3 });

    for (let n = 1; n <= 25; n++) sink.append(record(n));

    expect(sinkFiles(path)).toEqual([`${path}.2`, `${path}.1`, path]);
    for (const file of sinkFiles(path)) expect(statSync(file).size).toBeLessThanOrEqual(1000);
    const lines = sinkFiles(path).flatMap(linesOf);
    expect(lines.map((line) => (JSON.parse(line) as { n: number }).n)).toEqual(
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
  });

  it('keeps `keep` rotated files and drops older ones: at most (keep + 1) × maxBytes on disk', () => {
    const path = sinkPath();
    const sink = new JsonLinesSink(path, { maxBytes: 1000, keep: 2 });

    for (let n = 1; n <= 100; n++) sink.append(record(n));

    const files = sinkFiles(path);
    expect(files).toEqual([`${path}.2`, `${path}.1`, path]);
    expect(files.reduce((bytes, file) => bytes + statSync(file).size, 0)).toBeLessThanOrEqual(3000);
    expect(JSON.parse(linesOf(`${path}.2`)[0] as string)).toMatchObject({ n: 71 });
    expect(JSON.parse(linesOf(path).at(-1) as string)).toMatchObject({ n: 100 });
  });

  it('counts what a previous run left in the file', () => {
    const path = sinkPath();
    writeFileSync(path, `${JSON.stringify(record(0))}\n`.repeat(9));

    const sink = new JsonLinesSink(path, { maxBytes: 1000 });
    sink.append(record(1));
    sink.append(record(2));

    expect(linesOf(`${path}.1`)).toHaveLength(10);
    expect(linesOf(path)).toEqual([JSON.stringify(record(2))]);
  });

  it('writes a line longer than maxBytes whole, in a file of its own', () => {
    const path = sinkPath();
    const sink = new JsonLinesSink(path, { maxBytes: 50 });

    sink.append(record(1));
    sink.append(record(2));

    expect(linesOf(`${path}.1`)).toEqual([JSON.stringify(record(1))]);
    expect(linesOf(path)).toEqual([JSON.stringify(record(2))]);
  });

  it('cuts a torn last line a crash left, so the next line starts on a line of its own', () => {
    const path = sinkPath();
    writeFileSync(path, `${JSON.stringify(record(1))}\n{"n":2,"pa`);

    new JsonLinesSink(path).append(record(3));

    expect(linesOf(path).map((line) => (JSON.parse(line) as { n: number }).n)).toEqual([1, 3]);
  });

  it('an append the disk refuses throws and leaves only whole lines; the next append works', () => {
    const path = sinkPath();
    let refuse = false;
    const sink = new JsonLinesSink(path, {
      beforeWrite: () => {
        if (refuse)
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    });
    sink.append(record(1));

    refuse = true;
    expect(() => sink.append(record(2))).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    refuse = false;
    sink.append(record(3));

    expect(linesOf(path).map((line) => (JSON.parse(line) as { n: number }).n)).toEqual([1, 3]);
  });
});
