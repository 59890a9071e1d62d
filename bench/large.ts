/**
 * Large inputs: validate and merge must cost time and memory linear in the playlist (issue 12).
 *
 * Each case runs at 1×, 4× and 16× its size; the report gives the time and heap growth per
 * segment or variant at each size and the 16×/4× ratio of the time per unit: about 1 when the
 * cost is linear, about 4 when it is quadratic. The 16×/1× ratio is printed too, but not judged:
 * the 1× inputs take a few milliseconds and fit the young generation and the caches, so on a
 * shared machine that ratio swings between 1.2 and 3.5 from run to run with no change in code. Times are the best of a few runs (the least
 * disturbed by other load on the machine), each started after a full GC when one can be had.
 */
import { mergeMasters, validateMasterPlaylist, validateMediaPlaylist } from '../functions/hls';

/** Time per unit at 16× over 4×: at most this is linear (quadratic is 4; noise and GC included). */
export const TARGET_LINEARITY = 2;

export interface LargeCase {
  readonly name: string;
  readonly definition: string;
  /** What one unit of size is ("segment", "variant"). */
  readonly unit: string;
  /** Units at 1×; the case also runs at 4× and 16×. */
  readonly base: number;
  /** Budget for the 16× run, ms (a stated target on this kind of machine). */
  readonly targetMs: number;
  /** Builds the input for `units` units and returns one op over it. */
  readonly prepare: (units: number) => { readonly chars: number; readonly op: () => number };
}

export interface LargeSize {
  readonly units: number;
  readonly chars: number;
  readonly bestMs: number;
  readonly usPerUnit: number;
  /** heapUsed growth over one op after a full GC, bytes per unit; undefined without GC access. */
  readonly heapBytesPerUnit: number | undefined;
}

export interface LargeResult {
  readonly name: string;
  readonly definition: string;
  readonly unit: string;
  readonly sizes: readonly LargeSize[];
  /** usPerUnit at 16× / usPerUnit at 4× (judged). */
  readonly linearity: number;
  /** usPerUnit at 16× / usPerUnit at 1× (shown, not judged). */
  readonly fromSmallest: number;
  readonly targetLinearity: number;
  readonly targetMs: number;
  readonly pass: boolean;
}

const SCALES = [1, 4, 16] as const;

function mediaPlaylist(segments: number, sequence: number): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-TARGETDURATION:2',
    `#EXT-X-MEDIA-SEQUENCE:${sequence}`,
    // The first segment's date follows its sequence number, so a later version dates it the same
    // (RFC 8216 §6.2.1: a published segment keeps its EXT-X-PROGRAM-DATE-TIME).
    `#EXT-X-PROGRAM-DATE-TIME:${new Date(Date.UTC(2025, 0, 1) + sequence * 2000).toISOString()}`,
  ];
  for (let i = 0; i < segments; i++) lines.push('#EXTINF:2.000,', `seg_${sequence + i}.ts`);
  return `${lines.join('\n')}\n`;
}

/** One AUDIO group "aac" of two languages, as the bench masters declare it. */
export const AUDIO_GROUP_LINES = [
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/en/index.m3u8"',
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="Deutsch",LANGUAGE="de",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="audio/de/index.m3u8"',
] as const;

/** A master with `variants` EXT-X-STREAM-INF (one AUDIO group of two languages), every 10th also as an I-frame variant. */
function masterPlaylist(variants: number): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS', ...AUDIO_GROUP_LINES];
  for (let i = 0; i < variants; i++) {
    if (i % 10 === 9) {
      lines.push(
        `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=${10_000 + i},CODECS="avc1.640028",RESOLUTION=1920x1080,URI="v${i}/iframe.m3u8"`,
      );
      continue;
    }
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${100_000 + i},AVERAGE-BANDWIDTH=${90_000 + i},CODECS="avc1.640028,mp4a.40.2",RESOLUTION=1920x1080,FRAME-RATE=25.000,AUDIO="aac"`,
      `v${i}/index.m3u8`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function expectValid(step: string, result: { valid: boolean; errors: readonly { message: string }[] }) {
  if (!result.valid)
    throw new Error(`${step} reported the bench input invalid: ${result.errors[0]?.message}`);
}

export const LARGE_CASES: readonly LargeCase[] = [
  {
    name: 'media-50k',
    definition: 'validateMediaPlaylist(text) of a live media playlist (EXTINF:2.000 + seg_N.ts)',
    unit: 'segment',
    base: 3_125,
    targetMs: 1_000,
    prepare: (units) => {
      const text = mediaPlaylist(units, 100_000);
      return {
        chars: text.length,
        op: () => {
          const r = validateMediaPlaylist(text);
          expectValid('validateMediaPlaylist', r);
          return r.snapshot?.segments.length ?? 0;
        },
      };
    },
  },
  {
    name: 'media-50k-previous',
    definition:
      'validateMediaPlaylist(next, previousText): the live-update rules against the previous version as text (one segment dropped from the head, one appended)',
    unit: 'segment',
    base: 3_125,
    targetMs: 2_000,
    prepare: (units) => {
      const previous = mediaPlaylist(units, 100_000);
      const next = mediaPlaylist(units, 100_001);
      return {
        chars: next.length + previous.length,
        op: () => {
          const r = validateMediaPlaylist(next, previous);
          expectValid('validateMediaPlaylist(next, previous)', r);
          return r.snapshot?.segments.length ?? 0;
        },
      };
    },
  },
  {
    name: 'media-only-merge-50k',
    definition:
      'validateMediaPlaylist(text) + mergeMasters of two media-only encoders whose playlist has that many segments',
    unit: 'segment',
    base: 3_125,
    targetMs: 1_500,
    prepare: (units) => {
      const text = mediaPlaylist(units, 100_000);
      return {
        chars: text.length,
        op: () => {
          const r = validateMediaPlaylist(text);
          expectValid('validateMediaPlaylist', r);
          const segments = (r.snapshot?.segments ?? []).map((s) => ({
            bytes: 500_000,
            duration: s.duration,
          }));
          const source = { mediaOnly: [{ uri: '720p/index.m3u8', segments }] };
          return mergeMasters(source, source).text.length;
        },
      };
    },
  },
  {
    name: 'master-2000',
    definition:
      'validateMasterPlaylist × 2 + mergeMasters of two encoders writing the same master (AUDIO group, 10 % I-frame variants)',
    unit: 'variant',
    base: 125,
    targetMs: 1_000,
    prepare: (units) => {
      const text = masterPlaylist(units);
      return {
        chars: text.length,
        op: () => mergeMasters(text, text).text.length,
      };
    },
  },
  {
    name: 'master-4.8MB',
    definition:
      'validateMasterPlaylist of the same master at 30,000 variants (4.6 M chars, under the 5 M default limit)',
    unit: 'variant',
    base: 1_875,
    targetMs: 5_000,
    prepare: (units) => {
      const text = masterPlaylist(units);
      return {
        chars: text.length,
        op: () => {
          const r = validateMasterPlaylist(text);
          expectValid('validateMasterPlaylist', r);
          return r.snapshot?.variants.length ?? 0;
        },
      };
    },
  },
];

/** Keeps results alive so no op is optimised away. */
let sink = 0;

function timeOnce(op: () => number): number {
  const start = process.hrtime.bigint();
  sink += op();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function runLargeCase(
  c: LargeCase,
  gc: (() => void) | undefined,
  quick: boolean,
  progress?: (line: string) => void,
): LargeResult {
  const sizes: LargeSize[] = [];
  for (const scale of SCALES) {
    const units = c.base * scale;
    const { chars, op } = c.prepare(units);
    timeOnce(op); // warm-up: the JIT has seen every path before the timed runs
    const runs = quick ? 2 : scale === 16 ? 3 : 5;
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < runs; i++) {
      // Each run starts from a collected heap: otherwise a small size's best run is one that met no
      // collection at all while a large size always carries the earlier runs' garbage, and the
      // ratio measures the collector's schedule instead of the code.
      gc?.();
      best = Math.min(best, timeOnce(op));
    }
    let heap: number | undefined;
    if (gc !== undefined) {
      gc();
      const before = process.memoryUsage().heapUsed;
      sink += op();
      heap = Math.max(0, process.memoryUsage().heapUsed - before);
    }
    sizes.push({
      units,
      chars,
      bestMs: round(best, 1),
      usPerUnit: round((best * 1000) / units, 2),
      heapBytesPerUnit: heap === undefined ? undefined : Math.round(heap / units),
    });
    progress?.(`${c.name} ×${scale}: ${units} ${c.unit}s, ${best.toFixed(1)} ms`);
  }
  const first = sizes[0] as LargeSize;
  const middle = sizes[1] as LargeSize;
  const last = sizes[sizes.length - 1] as LargeSize;
  const linearity = round(last.usPerUnit / middle.usPerUnit, 2);
  return {
    name: c.name,
    definition: c.definition,
    unit: c.unit,
    sizes,
    linearity,
    fromSmallest: round(last.usPerUnit / first.usPerUnit, 2),
    targetLinearity: TARGET_LINEARITY,
    targetMs: c.targetMs,
    pass: linearity <= TARGET_LINEARITY && last.bestMs <= c.targetMs,
  };
}

export function largeTable(results: readonly LargeResult[]): string {
  const header = ['case', 'size', 'chars', 'best ms', 'µs/unit', 'heap B/unit', '16×/1×', '16×/4×', 'result'];
  const rows: string[][] = [];
  for (const r of results) {
    r.sizes.forEach((s, i) => {
      const last = i === r.sizes.length - 1;
      rows.push([
        i === 0 ? r.name : '',
        `${s.units} ${r.unit}s`,
        String(s.chars),
        s.bestMs.toFixed(1),
        s.usPerUnit.toFixed(2),
        s.heapBytesPerUnit === undefined ? 'n/a' : String(s.heapBytesPerUnit),
        last ? `${r.fromSmallest.toFixed(2)}×` : '',
        last ? `${r.linearity.toFixed(2)}×` : '',
        last ? `${r.pass ? 'PASS' : 'MISS'} (≤ ${r.targetLinearity}×, ≤ ${r.targetMs} ms)` : '',
      ]);
    });
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i <= 1 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const misses = results.filter((r) => !r.pass);
  return [
    'large inputs (issue 12: validate and merge linear in the playlist):',
    ...results.map((r) => `  ${r.name}: ${r.definition}`),
    '  linearity = µs per unit at 16× / at 4× (1 = linear, 4 = quadratic); 16×/1× shown, not judged (the 1× runs fit the young generation and the caches); best of several runs, each after a full GC; heap = heapUsed growth over one op after a full GC',
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    misses.length === 0
      ? `all ${results.length} large cases linear (≤ ${TARGET_LINEARITY}×) and within their time target`
      : `MISS: ${misses.map((r) => `${r.name} (${r.linearity}×, ${r.sizes[r.sizes.length - 1]?.bestMs} ms)`).join(', ')}`,
    '',
  ].join('\n');
}

export function largeSink(): number {
  return sink;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
