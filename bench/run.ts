/**
 * Performance bench.
 *
 * Parse cases: validate+merge time as a ratio to hls-parser's bare parse of the same input, both
 * measured in the same run (interleaved rounds), so the ratio does not depend on the machine.
 *
 * Local pipeline (bench/pipeline.ts): a real local runtime fed by live encoders; the time per
 * event against the S3 and DynamoDB round trips it makes (same endpoints, same run), and how many
 * channels keep up in real time.
 *
 *   npx tsx bench/run.ts            readable report
 *   npx tsx bench/run.ts --json     one JSON document on stdout
 *   npx tsx bench/run.ts --quick    fewer, shorter rounds (CI smoke)
 *   npx tsx bench/run.ts --large    large inputs: time and memory at 1×, 4×, 16× (linearity)
 *   npx tsx bench/run.ts --fuzz     100,000 fuzz cases against the core's contract
 *   npx tsx bench/run.ts --cost     cost per channel-hour on AWS, counted from a real run (bench/cost/)
 *
 * Exit code 0 even when a target is missed (this is a report; misses print MISS), 2 on bad
 * arguments, 1 when a case cannot run (e.g. the candidate reports its input invalid).
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as hlsParser from 'hls-parser';
import { mergeMasters, validateMasterPlaylist, validateMediaPlaylist } from '../functions/hls';
import { PLAYERS, type PlayerName } from '../test/support/e2e-player';
import { type CostReport, costTable, FULL_COST, QUICK_COST, runCostBench } from './cost/cost-bench';
import { type E2eBenchReport, formatE2eReport, runE2eFailoverBench } from './e2e-failover';
import { BENCH_SCALE } from './fuzz/cases';
import { type FuzzReport, fuzzTable, runFuzzBench } from './fuzz/fuzz-bench';
import {
  AUDIO_GROUP_LINES,
  LARGE_CASES,
  type LargeResult,
  largeSink,
  largeTable,
  runLargeCase,
  TARGET_LINEARITY,
} from './large';
import {
  FULL_PIPELINE,
  TARGET_RATIO as PIPELINE_TARGET_RATIO,
  type PipelineReport,
  type PipelineSettings,
  pipelineTable,
  QUICK_PIPELINE,
  runPipelineBench,
  TARGET_CHANNELS,
} from './pipeline';

const TARGET_RATIO = 1.5;
const FUZZ_DEFAULTS = { cases: 100_000, seed: 12, workers: 2, budgetMs: 5_000, out: '.fuzz-findings' };

const USAGE = `Usage: npx tsx bench/run.ts [--json] [--quick] [--only parse|pipeline|cost] [--channels N,N,...]
                            [--no-segments] [--e2e N] [--help]
       npx tsx bench/run.ts --cost [--quick] [--json]     (the same as --only cost)
       npx tsx bench/run.ts --large [--quick] [--json]
       npx tsx bench/run.ts --fuzz [--cases N] [--seed S] [--workers N] [--budget-ms MS] [--out DIR] [--json]

Parse cases: validate+merge time of hls-failover against the bare parse time of hls-parser
(its default, non-strict parse) of the same input, in the same run; the ratio of the median
per-op times. Target: ratio <= ${TARGET_RATIO}.

Local pipeline: a real local runtime (s3rver, dynalite, aws-local-stepfunctions, the handlers,
the origin) in this process, fed through the origin's PUT by live encoders on a worker thread.
Time per event (object event -> execution finished) against the S3 and DynamoDB round trips that
event makes, replayed through the runtime's clients against the same endpoints in the same run. Target: ratio
<= ${PIPELINE_TARGET_RATIO}. Then N channels x 5 renditions x 2 encoders at 2 s segments in real time: events/s,
p50/p99 time per event, failures, backlog. Target: ${TARGET_CHANNELS} channels keep up.

Cost (also part of the default run): what one channel costs per hour on AWS, counted from a real
run on the local runtime: one channel of 3 and of 5 renditions x 2 encoders, healthy, then one
encoder stalls until withdrawn and recovers, the watchdog on its schedule. Every SDK call,
execution, Lambda invocation, log line and object event is observed, metered as AWS bills it
against the synthesized template (memory, log level, tracing) and priced with bench/cost/prices.ts
(dated us-east-1 list prices). Prints the table by driver, the seed design's cost in the same run,
the ratio (target <= 1.0, aim <= 0.6) and the scale table (10, 100, 1,000 channels: quotas, $/h).
Full: ~2.5 min per rendition count; quick: ~25 s each.

  --json         print one JSON document on stdout instead of a report
  --quick        fewer and shorter rounds (CI smoke; numbers are noisier)
  --only WHAT    run only the parse cases, the local pipeline or the cost bench
  --cost         run only the cost bench
  --channels L   channel counts of the load steps (default ${FULL_PIPELINE.channelSteps.join(',')}; quick: ${QUICK_PIPELINE.channelSteps.join(',')})
  --no-segments  the encoders write playlists only (no .ts segments, no deletes)
  --e2e N        also run the end-to-end failover scenarios N times each and for each player
                 (hls.js, Shaka Player, video.js VHS, Chromium's built-in player; one viewer a
                 run; ffmpeg + Chromium, ~35 s a run), and report the distribution per scenario
                 and per player; a failed run is reported, never retried
  --help         print this help

Large inputs (--large, alone): a 50,000-segment media playlist (alone, against its previous version,
through a media-only merge), a 2,000-variant master (validate both + merge) and a 4.8 MB master
(30,000 variants, validate), each at 1/16, 1/4 and full size: best time, µs and heap bytes per
segment or variant, and the time per unit at full size over 1/16 size. Target: ratio <= ${TARGET_LINEARITY}
(linear) and the full size within its time budget (stated per case).

Fuzz (--fuzz, alone): seeded cases (corpus files and generated playlists, mutated) through
classify, validate (alone, with the previous version as text and as snapshot), merge (one
encoder, two, media-only) and freshness on worker threads; a case over the budget is a hang
(the worker is terminated). Prints cases, hangs, untyped exceptions, invalid merged indexes,
unbounded warnings and the worst time; writes a minimal reproducer per cause to --out.
  --cases N      cases to run (default ${FUZZ_DEFAULTS.cases})
  --seed S       seed (default ${FUZZ_DEFAULTS.seed}); the same seed runs the same cases
  --workers N    worker threads (default ${FUZZ_DEFAULTS.workers})
  --budget-ms MS time one call may take before the case counts as a hang (default ${FUZZ_DEFAULTS.budgetMs})
  --out DIR      folder for minimal reproducers (default ${FUZZ_DEFAULTS.out})

Exit code: 0 (also when a target is missed: the report says MISS), 2 on bad arguments,
1 when a case cannot run.
`;

interface Options {
  readonly mode: 'default' | 'large' | 'fuzz';
  readonly fuzz: { cases: number; seed: number; workers: number; budgetMs: number; out: string };
  readonly json: boolean;
  readonly quick: boolean;
  readonly only: 'parse' | 'pipeline' | 'cost' | undefined;
  readonly channels: readonly number[] | undefined;
  readonly segments: boolean;
  readonly e2eRuns: number | undefined;
}

interface Settings {
  /** Warm-up: at least this many iterations per side, and at least warmupMs in all (so the JIT settles). */
  readonly warmup: number;
  readonly warmupMs: number;
  readonly rounds: number;
  /** Wall time a round's candidate batch should take, in ms (sizes the iterations per round). */
  readonly roundMs: number;
}

const FULL: Settings = { warmup: 200, warmupMs: 500, rounds: 15, roundMs: 100 };
const QUICK: Settings = { warmup: 20, warmupMs: 200, rounds: 5, roundMs: 25 };

interface Case {
  readonly name: string;
  readonly definition: string;
  /** One baseline op; returns something derived from the result so the work cannot be optimised away. */
  readonly baseline: () => number;
  /** One candidate op; throws when the candidate reports its input invalid. */
  readonly candidate: () => number;
}

interface CaseResult {
  readonly name: string;
  readonly definition: string;
  readonly baselineUs: number;
  readonly candidateUs: number;
  readonly ratio: number;
  readonly target: number;
  readonly pass: boolean;
  /** Lowest and highest per-round ratio: how noisy the run was. */
  readonly ratioRange: readonly [number, number];
  readonly rounds: number;
  readonly iterationsPerRound: number;
  /** Rough heap growth over one op (largest of a few samples after a full GC), KiB; undefined without GC access. */
  readonly baselineHeapKiB: number | undefined;
  readonly candidateHeapKiB: number | undefined;
}

function parseArgs(argv: readonly string[]): Options | 'help' {
  let json = false;
  let quick = false;
  let only: Options['only'];
  let channels: number[] | undefined;
  let segments = true;
  let e2eRuns: number | undefined;
  let mode: Options['mode'] = 'default';
  const fuzz = { ...FUZZ_DEFAULTS };
  const whole = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new UsageError(`${name} takes a whole number >= ${min} (got "${v}")`);
    return n;
  };
  const value = (i: number, name: string) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--json') json = true;
    else if (arg === '--quick') quick = true;
    else if (arg === '--no-segments') segments = false;
    else if (arg === '--cost') only = 'cost';
    else if (arg === '--large' || arg === '--fuzz') {
      if (mode !== 'default') throw new UsageError('--large and --fuzz run alone: give one of them');
      mode = arg === '--large' ? 'large' : 'fuzz';
    } else if (arg === '--cases') fuzz.cases = whole(arg, value(i++, arg), 1);
    else if (arg === '--seed') fuzz.seed = whole(arg, value(i++, arg), 0);
    else if (arg === '--workers') fuzz.workers = whole(arg, value(i++, arg), 1);
    else if (arg === '--budget-ms') fuzz.budgetMs = whole(arg, value(i++, arg), 100);
    else if (arg === '--out') fuzz.out = value(i++, arg);
    else if (arg === '--only') {
      const v = value(i++, arg);
      if (v !== 'parse' && v !== 'pipeline' && v !== 'cost')
        throw new UsageError(`--only takes parse, pipeline or cost (got "${v}")`);
      only = v;
    } else if (arg === '--channels') {
      const v = value(i++, arg);
      channels = v.split(',').map(Number);
      if (channels.some((n) => !Number.isInteger(n) || n < 1 || n > 200))
        throw new UsageError(`--channels takes whole numbers 1-200, comma-separated (got "${v}")`);
    } else if (arg === '--e2e') {
      const v = value(i++, arg);
      e2eRuns = Number(v);
      if (!Number.isInteger(e2eRuns) || e2eRuns < 1)
        throw new UsageError(`--e2e takes a whole number >= 1 (got "${v}")`);
    } else throw new UsageError(`unknown argument "${arg}"`);
  }
  return { mode, fuzz, json, quick, only, channels, segments, e2eRuns };
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

const MEDIA_SEGMENTS = 3600;
const MEDIA_SEQUENCE = 100000;

/** A live media playlist as an encoder writes it: 3,600 two-second segments, no ENDLIST. */
function liveMediaPlaylist(): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-TARGETDURATION:2',
    `#EXT-X-MEDIA-SEQUENCE:${MEDIA_SEQUENCE}`,
  ];
  const start = Date.UTC(2025, 0, 1, 12, 0, 0);
  for (let i = 0; i < MEDIA_SEGMENTS; i++) {
    if (i === 0) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(start).toISOString()}`);
    lines.push('#EXTINF:2.000,', `seg_${MEDIA_SEQUENCE + i}.ts`);
  }
  return `${lines.join('\n')}\n`;
}

const LADDER: readonly (readonly [width: number, height: number, bandwidth: number, codecs: string])[] = [
  [416, 234, 145_000, 'avc1.42c00d'],
  [480, 270, 365_000, 'avc1.42c015'],
  [640, 360, 730_000, 'avc1.4d401e'],
  [768, 432, 1_100_000, 'avc1.4d401e'],
  [960, 540, 2_000_000, 'avc1.4d401f'],
  [1280, 720, 3_000_000, 'avc1.4d401f'],
  [1280, 720, 4_500_000, 'avc1.640020'],
  [1920, 1080, 6_000_000, 'avc1.640028'],
  [1920, 1080, 7_800_000, 'avc1.640028'],
  [2560, 1440, 12_000_000, 'avc1.640032'],
];
const IFRAME_VARIANTS = 3;

/** A 10-variant master with one AUDIO group (2 languages), one SUBTITLES group (2 languages) and 3 I-frame variants. */
function tenVariantMaster(): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:6',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    ...AUDIO_GROUP_LINES,
    '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI="subs/en/index.m3u8"',
    '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Deutsch",LANGUAGE="de",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="subs/de/index.m3u8"',
  ];
  LADDER.forEach(([width, height, bandwidth, codecs], i) => {
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${bandwidth},AVERAGE-BANDWIDTH=${Math.round(bandwidth * 0.9)},CODECS="${codecs},mp4a.40.2",RESOLUTION=${width}x${height},FRAME-RATE=${i < 5 ? '25.000' : '50.000'},AUDIO="aac",SUBTITLES="subs"`,
      `v${i}/index.m3u8`,
    );
  });
  for (const [width, height, bandwidth, codecs] of LADDER.slice(-IFRAME_VARIANTS)) {
    lines.push(
      `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=${Math.round(bandwidth / 10)},CODECS="${codecs}",RESOLUTION=${width}x${height},URI="iframe_${height}p/index.m3u8"`,
    );
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/** hls-parser's bare parse with its default (non-strict) options, silenced. */
function bareParse(text: string): ReturnType<typeof hlsParser.parse> {
  return hlsParser.parse(text);
}

function mediaCase(): Case {
  const text = liveMediaPlaylist();
  return {
    name: 'media-3600',
    definition:
      `live media playlist, ${MEDIA_SEGMENTS} segments (VERSION 3, TARGETDURATION 2, MEDIA-SEQUENCE ${MEDIA_SEQUENCE}, ` +
      `one PROGRAM-DATE-TIME, #EXTINF:2.000 + seg_N.ts, no ENDLIST; ${text.length} chars). ` +
      'candidate = validateMediaPlaylist(text) + mergeMasters({ mediaOnly: [720p/index.m3u8, 500000 bytes/segment] }); ' +
      'baseline = 1x hls-parser parse(text)',
    baseline: () => {
      const playlist = bareParse(text);
      if (playlist.isMasterPlaylist || playlist.segments.length !== MEDIA_SEGMENTS) {
        throw new Error('baseline: hls-parser did not read the media playlist');
      }
      return playlist.segments.length;
    },
    candidate: () => {
      const result = validateMediaPlaylist(text);
      if (!result.valid || result.snapshot === undefined)
        throw new CaseError('validateMediaPlaylist', result.errors);
      const merged = mergeMasters(
        {
          mediaOnly: [
            {
              uri: '720p/index.m3u8',
              segments: result.snapshot.segments.map((s) => ({ bytes: 500000, duration: s.duration })),
            },
          ],
        },
        undefined,
      );
      return merged.text.length;
    },
  };
}

function masterCase(): Case {
  const primary = tenVariantMaster();
  const failover = tenVariantMaster();
  const variants = LADDER.length + IFRAME_VARIANTS;
  return {
    name: 'master-10',
    definition:
      `master with ${LADDER.length} variants (CODECS, RESOLUTION, FRAME-RATE, AUDIO, SUBTITLES) + ${IFRAME_VARIANTS} I-frame variants, ` +
      `AUDIO group x2 languages, SUBTITLES group x2 languages (${primary.length} chars), same text from both encoders. ` +
      'candidate = validateMasterPlaylist(primary) + validateMasterPlaylist(failover) + mergeMasters(primaryModel, failoverModel); ' +
      'baseline = 2x hls-parser parse (primary, failover)',
    baseline: () => {
      const a = bareParse(primary);
      const b = bareParse(failover);
      if (
        !a.isMasterPlaylist ||
        !b.isMasterPlaylist ||
        a.variants.length + b.variants.length !== 2 * variants
      ) {
        throw new Error('baseline: hls-parser did not read the masters');
      }
      return a.variants.length + b.variants.length;
    },
    candidate: () => {
      const a = validateMasterPlaylist(primary);
      if (!a.valid || a.snapshot === undefined)
        throw new CaseError('validateMasterPlaylist(primary)', a.errors);
      const b = validateMasterPlaylist(failover);
      if (!b.valid || b.snapshot === undefined)
        throw new CaseError('validateMasterPlaylist(failover)', b.errors);
      const merged = mergeMasters(a.snapshot, b.snapshot);
      if (merged.warnings.length > 0) throw new Error(`mergeMasters warned: ${merged.warnings.join('; ')}`);
      return merged.text.length;
    },
  };
}

class CaseError extends Error {
  constructor(step: string, errors: readonly { readonly message: string }[]) {
    super(`${step} reported the bench input invalid: ${errors.map((e) => e.message).join('; ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

/** Keeps results alive so no op is optimised away. */
let sink = 0;

/** Runs `op` `n` times; returns the wall time in ns. */
function timeBatch(op: () => number, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += op();
  return Number(process.hrtime.bigint() - start);
}

/** hls-parser's options are process-global: silence it for the baseline and restore them after. */
function withSilentParser<T>(run: () => T): T {
  const saved = hlsParser.getOptions();
  hlsParser.setOptions({ silent: true });
  try {
    return run();
  } finally {
    hlsParser.setOptions(saved);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A full GC when it can be had (--expose-gc, enabled at run time here); otherwise undefined. */
function exposeGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** Rough heap growth of one op: the largest of a few samples (a scavenge during the op only lowers it). */
function heapPerOpKiB(op: () => number, gc: (() => void) | undefined): number | undefined {
  if (gc === undefined) return undefined;
  let largest = 0;
  for (let i = 0; i < 5; i++) {
    gc();
    const before = process.memoryUsage().heapUsed;
    sink += op();
    largest = Math.max(largest, process.memoryUsage().heapUsed - before);
  }
  return Math.round(largest / 1024);
}

function measure(c: Case, settings: Settings, gc: (() => void) | undefined): CaseResult {
  const baseline = () => withSilentParser(() => c.baseline());
  // Warm-up: both sides, so the JIT has seen every path that is timed.
  const warmupEnd = process.hrtime.bigint() + BigInt(settings.warmupMs * 1e6);
  for (let i = 0; i < settings.warmup || process.hrtime.bigint() < warmupEnd; i++) {
    sink += baseline();
    sink += c.candidate();
  }
  // Size a round so the candidate batch takes about roundMs: time the candidate for half that long.
  let probed = 0;
  let probeNs = 0;
  while (probeNs < (settings.roundMs * 1e6) / 2) {
    probeNs += timeBatch(c.candidate, 1);
    probed++;
  }
  const iterations = Math.max(1, Math.round((settings.roundMs * 1e6) / (probeNs / probed)));

  const baselineNs: number[] = [];
  const candidateNs: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    // Alternate which side goes first, so neither always runs on the other's garbage.
    let b: number;
    let k: number;
    if (round % 2 === 0) {
      b = withSilentParser(() => timeBatch(c.baseline, iterations)) / iterations;
      k = timeBatch(c.candidate, iterations) / iterations;
    } else {
      k = timeBatch(c.candidate, iterations) / iterations;
      b = withSilentParser(() => timeBatch(c.baseline, iterations)) / iterations;
    }
    baselineNs.push(b);
    candidateNs.push(k);
    ratios.push(k / b);
  }

  const baselineUs = median(baselineNs) / 1000;
  const candidateUs = median(candidateNs) / 1000;
  const ratio = candidateUs / baselineUs;
  return {
    name: c.name,
    definition: c.definition,
    baselineUs: round2(baselineUs),
    candidateUs: round2(candidateUs),
    ratio: round3(ratio),
    target: TARGET_RATIO,
    pass: ratio <= TARGET_RATIO,
    ratioRange: [round3(Math.min(...ratios)), round3(Math.max(...ratios))],
    rounds: settings.rounds,
    iterationsPerRound: iterations,
    baselineHeapKiB: withSilentParser(() => heapPerOpKiB(c.baseline, gc)),
    candidateHeapKiB: heapPerOpKiB(c.candidate, gc),
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

function table(results: readonly CaseResult[], settings: Settings, elapsedMs: number): string {
  const header = [
    'case',
    'baseline µs/op',
    'candidate µs/op',
    'ratio',
    'round ratios',
    'target',
    'result',
    'heap Δ/op (base/cand)',
  ];
  const rows = results.map((r) => [
    r.name,
    r.baselineUs.toFixed(1),
    r.candidateUs.toFixed(1),
    `${r.ratio.toFixed(2)}×`,
    `${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)}`,
    `≤ ${r.target}×`,
    r.pass ? 'pass' : 'MISS',
    r.baselineHeapKiB === undefined || r.candidateHeapKiB === undefined
      ? 'n/a'
      : `~${r.baselineHeapKiB} / ~${r.candidateHeapKiB} KiB`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
      .join('  ');
  const out = [
    `hls-failover bench (node ${process.version}, ${new Date().toISOString()})`,
    `method: warm-up (>= ${settings.warmup} iterations per side and >= ${settings.warmupMs} ms), then ${settings.rounds} interleaved rounds ` +
      `(baseline batch, candidate batch, order alternating; candidate batch ~${settings.roundMs} ms); ` +
      'median per-op time per side; ratio = candidate median / baseline median',
    '',
    'cases:',
    ...results.map((r) => `  ${r.name} (${r.iterationsPerRound} iterations/round): ${r.definition}`),
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
  ];
  const misses = results.filter((r) => !r.pass);
  out.push(
    misses.length === 0
      ? `all ${results.length} cases within ${TARGET_RATIO}× of the bare parse`
      : `MISS: ${misses.map((r) => `${r.name} at ${r.ratio.toFixed(2)}×`).join(', ')} (target ≤ ${TARGET_RATIO}×)`,
  );
  out.push(`run took ${(elapsedMs / 1000).toFixed(1)} s`);
  return `${out.join('\n')}\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseArgs(argv);
  } catch (cause) {
    if (!(cause instanceof UsageError)) throw cause;
    process.stderr.write(`bench: ${cause.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const settings = options.quick ? QUICK : FULL;
  const gc = exposeGc();
  if (options.mode === 'large') return runLarge(options, gc);
  if (options.mode === 'fuzz') return runFuzz(options);
  const started = process.hrtime.bigint();
  const results =
    options.only === undefined || options.only === 'parse'
      ? [mediaCase(), masterCase()].map((c) => measure(c, settings, gc))
      : [];
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (sink === -1) process.stderr.write('\n'); // reads the sink, so no op is dead code
  if (!options.json && results.length > 0) process.stdout.write(table(results, settings, elapsedMs));

  let pipeline: PipelineReport | undefined;
  if (options.only === undefined || options.only === 'pipeline') {
    const base = options.quick ? QUICK_PIPELINE : FULL_PIPELINE;
    const pipelineSettings: PipelineSettings = {
      ...base,
      ...(options.channels === undefined ? {} : { channelSteps: options.channels }),
      ...(options.segments ? {} : { segmentBytes: base.segmentBytes.map(() => 0) }),
    };
    if (!options.json) process.stdout.write(`${results.length > 0 ? '\n' : ''}local pipeline: running...\n`);
    pipeline = await runPipelineBench(pipelineSettings, {
      bisect: !options.quick && options.channels === undefined,
      progress: options.json ? undefined : (line) => process.stdout.write(`  ${line}\n`),
    });
    if (!options.json) process.stdout.write(pipelineTable(pipeline));
  }

  let cost: CostReport | undefined;
  let costPublished: CostReport | undefined;
  if (options.only === undefined || options.only === 'cost') {
    // Both modes (README, "Two modes"): the default's is the one held to the target.
    const run = async (publishing: 'direct' | 'published') => {
      if (!options.json) process.stdout.write(`\ncost (publishing: ${publishing}): running...\n`);
      const report = await runCostBench(
        { ...(options.quick ? QUICK_COST : FULL_COST), publishing },
        {
          progress: options.json ? undefined : (line) => process.stdout.write(`  ${line}\n`),
        },
      );
      if (!options.json) process.stdout.write(costTable(report));
      return report;
    };
    cost = await run('direct');
    costPublished = await run('published');
  }

  let e2e: E2eBenchReport | undefined;
  if (options.e2eRuns !== undefined) {
    e2e = await runE2eFailoverBench({
      runs: options.e2eRuns,
      // Every player, one viewer each (issue 14): hls.js, Shaka Player, video.js (VHS), Chromium's own.
      players: Object.keys(PLAYERS) as PlayerName[],
      ...(options.json ? {} : { log: (line: string) => process.stdout.write(`  ${line}\n`) }),
    });
    if (!options.json) process.stdout.write(`${formatE2eReport(e2e)}\n`);
  }

  if (options.json) {
    const doc = {
      node: process.version,
      date: new Date().toISOString(),
      quick: options.quick,
      elapsedMs: Math.round(elapsedMs),
      cases: results,
      ...(pipeline === undefined ? {} : { pipeline }),
      ...(cost === undefined ? {} : { cost }),
      ...(costPublished === undefined ? {} : { costPublished }),
      ...(e2e === undefined ? {} : { e2e }),
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  }
  return e2e?.scenarios.some((sc) => sc.errors.length > 0) ? 1 : 0;
}

function runLarge(options: Options, gc: (() => void) | undefined): number {
  const progress = options.json ? undefined : (line: string) => process.stdout.write(`  ${line}\n`);
  if (!options.json)
    process.stdout.write(
      `hls-failover large-input bench (node ${process.version}, ${new Date().toISOString()})\n`,
    );
  const results: LargeResult[] = LARGE_CASES.map((c) => runLargeCase(c, gc, options.quick, progress));
  if (largeSink() === -1) process.stderr.write('\n');
  process.stdout.write(
    options.json
      ? `${JSON.stringify({ node: process.version, date: new Date().toISOString(), large: results }, null, 2)}\n`
      : `\n${largeTable(results)}`,
  );
  return 0;
}

async function runFuzz(options: Options): Promise<number> {
  const report: FuzzReport = await runFuzzBench({
    ...options.fuzz,
    batchSize: 50,
    scale: BENCH_SCALE,
    minimizeCauses: 40,
    minimizeAttempts: 200,
    minimizeMs: 180_000,
    ...(options.json ? {} : { progress: (line: string) => process.stdout.write(`  ${line}\n`) }),
  });
  process.stdout.write(
    options.json
      ? `${JSON.stringify({ node: process.version, date: new Date().toISOString(), fuzz: report }, null, 2)}\n`
      : fuzzTable(report, options.fuzz.out),
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (cause: unknown) => {
    process.stderr.write(
      `bench: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`,
    );
    process.exitCode = 1;
  },
);
