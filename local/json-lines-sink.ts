/**
 * The local runtime's JSON-lines sinks (executions.jsonl, alerts.jsonl, metrics.jsonl), bounded in
 * size: a sink whose next line would take it past its limit is rotated first (`name` → `name.1`
 * → … → `name.<keep>`, the oldest dropped), so a long run holds at most (keep + 1) × limit bytes
 * per sink (issue 16 §4: executions.jsonl grew ~45 KB per execution, with no bound).
 *
 * A sink never holds a torn line: an append the disk refuses part way (full) is cut back to the
 * last whole line, now or, when even that fails, before the next append; a torn last line left by
 * a crash is cut when the sink opens.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
} from 'node:fs';

/** Default {@link SinkLimits.maxBytes}: 64 MiB per file. */
export const DEFAULT_SINK_MAX_BYTES = 64 * 1024 * 1024;
/** Default {@link SinkLimits.keep}. */
export const DEFAULT_SINK_KEEP = 3;

export interface SinkLimits {
  /** The largest a sink file grows before it is rotated. @default 64 MiB */
  readonly maxBytes?: number | undefined;
  /** How many rotated files are kept (`name.1` the newest). @default 3 */
  readonly keep?: number | undefined;
  /** Called before each write with the sink's path; throwing fails the append (a test's injected fault). */
  readonly beforeWrite?: ((path: string) => void) | undefined;
}

/** `path`'s rotated files (numbered without gaps from `.1`, the newest), oldest first, then `path` if it exists. */
export function sinkFiles(path: string): string[] {
  const rotated: string[] = [];
  for (let n = 1; existsSync(`${path}.${n}`); n++) rotated.unshift(`${path}.${n}`);
  return existsSync(path) ? [...rotated, path] : rotated;
}

export class JsonLinesSink {
  /** The bytes of whole lines in the file. */
  private size: number;
  /** Set when a failed append could not be cut back: the next one cuts it first. */
  private torn = false;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly beforeWrite: (path: string) => void;

  constructor(
    readonly path: string,
    limits: SinkLimits = {},
  ) {
    this.maxBytes = limits.maxBytes ?? DEFAULT_SINK_MAX_BYTES;
    this.keep = limits.keep ?? DEFAULT_SINK_KEEP;
    this.beforeWrite = limits.beforeWrite ?? (() => undefined);
    this.size = existsSync(path) ? wholeLinesSize(path) : 0;
    this.torn = existsSync(path) && statSync(path).size !== this.size;
  }

  /**
   * Appends one line (a string as it is, anything else as JSON), rotating first when it would not
   * fit. Throws what the disk throws, having left the file with whole lines only (or with the
   * fragment cut before the next append).
   */
  append(value: unknown): void {
    const line = `${typeof value === 'string' ? value : JSON.stringify(value)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.torn) {
      truncateSync(this.path, this.size);
      this.torn = false;
    }
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    try {
      this.beforeWrite(this.path);
      appendFileSync(this.path, line);
    } catch (error) {
      try {
        if (existsSync(this.path) && statSync(this.path).size !== this.size)
          truncateSync(this.path, this.size);
      } catch {
        this.torn = true;
      }
      throw error;
    }
    this.size += bytes;
  }

  private rotate(): void {
    rmSync(`${this.path}.${this.keep}`, { force: true });
    for (let n = this.keep - 1; n >= 1; n--)
      if (existsSync(`${this.path}.${n}`)) renameSync(`${this.path}.${n}`, `${this.path}.${n + 1}`);
    if (this.keep > 0) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.size = 0;
  }
}

/** The size of `path` up to and including its last newline (a crash may have torn the line after it). */
function wholeLinesSize(path: string): number {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const block = Buffer.alloc(64 * 1024);
    for (let end = size; end > 0; ) {
      const start = Math.max(0, end - block.length);
      const read = readSync(fd, block, 0, end - start, start);
      const newline = block.subarray(0, read).lastIndexOf(10);
      if (newline >= 0) return start + newline + 1;
      end = start;
    }
    return 0;
  } finally {
    closeSync(fd);
  }
}
