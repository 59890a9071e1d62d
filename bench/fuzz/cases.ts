/**
 * Fuzz cases for the HLS core: playlists from the public corpus and from fast-check generators,
 * mutated the way a broken encoder or an attacker would (issue 12): lines deleted, duplicated and
 * swapped; numbers made huge, negative, fractional or NaN; truncation; CR, BOM, NUL, invalid
 * UTF-8; very long lines; many segments; broken attribute quoting; duplicate attributes.
 *
 * A case is plain data (structured-clone safe), so it can cross to a worker thread and be written
 * to a file; fast-check shrinks it to a minimal counterexample (fewer mutations, smaller values).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

/** One input to the contract (see contract.ts). */
export interface FuzzCase {
  /** Where the playlist came from and what was done to it (for the report). */
  readonly origin: string;
  /** The playlist under test. */
  readonly text: string;
  /** An earlier version of it (the live-update rules compare `text` against it). */
  readonly previous: string;
  /** The other encoder's master, for a two-encoder merge. */
  readonly other: string;
  /** The media playlist path of a media-only encoder. */
  readonly renditionUri: string;
  /** Freshness clock: when the playlist was written and when it is looked at (epoch ms). */
  readonly lastModified: number;
  readonly now: number;
}

const ROOT = join(__dirname, '..', '..');

/** Corpus playlists (shared public corpus, the project's copy, the reproducers) that exist here. */
export function loadSeeds(
  folders: readonly string[] = [
    join(ROOT, '..', 'shared', 'corpus', 'hls'),
    join(ROOT, 'test', 'fixtures', 'corpus'),
    join(ROOT, 'test', 'unit', 'hls', 'fixtures'),
  ],
): { readonly name: string; readonly text: string }[] {
  const seeds: { name: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.m3u8'))
        seeds.push({ name: path.slice(ROOT.length + 1), text: readFileSync(path, 'utf8') });
    }
  };
  for (const folder of folders) {
    try {
      walk(folder);
    } catch {
      // A folder that is not there (e.g. ../shared on a fresh clone) adds no seeds.
    }
  }
  return seeds;
}

/** Numbers as an encoder should not write them: past 2^53 and 2^64, 1e309, 400 digits, negative, fractional, NaN. */
const HOSTILE_NUMBERS = [
  '0',
  '-1',
  '-0',
  '0.5',
  '2.5',
  '1e3',
  '1e21',
  '1e309',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '',
  '4294967296',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '18446744073709551615',
  '18446744073709551616',
  '9'.repeat(400),
  '00000000000000000001',
  ' 7',
];

/** Characters that change how a line is read: line ends, BOM, NUL, what a UTF-8 decoder leaves for bad bytes, a lone surrogate, quoting and URI tricks. */
const HOSTILE_INSERTS = [
  '\r',
  '\r\n',
  '\n',
  '\uFEFF',
  '\u0000',
  '\uFFFD',
  '\uD800',
  '\u2028',
  '"',
  "'",
  ',',
  '=',
  ' ',
  '\t',
  ':',
  '#',
  '\\',
  '{$v}',
  '../',
  '%2e%2e/',
  '//evil.example/',
  'https://evil.example/x.m3u8',
  ',PATHWAY-ID="x"',
  '#EXT-X-DEFINE:NAME="v",VALUE="../../other"',
];

const LONG_LINE_UNITS = ['a', ',', '"', '=', 'A=1,', '#EXTINF:1,', '#ext-x-foo\n'];

export type Mutation =
  | { readonly op: 'delete-line'; readonly at: number }
  | { readonly op: 'duplicate-line'; readonly at: number }
  | { readonly op: 'swap-lines'; readonly at: number; readonly with: number }
  | { readonly op: 'number'; readonly at: number; readonly value: string }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'insert'; readonly at: number; readonly value: string }
  | { readonly op: 'long-line'; readonly at: number; readonly unit: string; readonly count: number }
  | { readonly op: 'many-segments'; readonly count: number }
  | { readonly op: 'break-quote'; readonly at: number }
  | { readonly op: 'duplicate-attribute'; readonly at: number }
  | { readonly op: 'lowercase-line'; readonly at: number }
  | { readonly op: 'crlf' }
  | { readonly op: 'bom' };

/** How big the large mutations may get: the bench goes to 50,000 segments and 1 MB lines, the quick test less. */
export interface Scale {
  readonly maxSegments: number;
  readonly maxLineChars: number;
}

export const BENCH_SCALE: Scale = { maxSegments: 50_000, maxLineChars: 1_000_000 };
export const QUICK_SCALE: Scale = { maxSegments: 2_000, maxLineChars: 20_000 };

function mutationArbitrary(scale: Scale): fc.Arbitrary<Mutation> {
  const at = fc.nat({ max: 1_000_000 });
  // Big inputs are slow by nature (seconds each): the larger, the rarer.
  const sizes = (max: number, steps: readonly number[]) =>
    fc.oneof(
      ...steps
        .filter((n) => n <= max)
        .map((n, i) => ({ weight: 4 ** (steps.length - 1 - i), arbitrary: fc.constant(n) })),
    );
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('delete-line' as const), at }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('duplicate-line' as const), at }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('swap-lines' as const), at, with: at }) },
    {
      weight: 10,
      arbitrary: fc.record({
        op: fc.constant('number' as const),
        at,
        value: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
          { weight: 1, arbitrary: fc.double().map(String) },
          { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String) },
        ),
      }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('truncate' as const), at }) },
    {
      weight: 8,
      arbitrary: fc.record({
        op: fc.constant('insert' as const),
        at,
        value: fc.oneof(
          { weight: 5, arbitrary: fc.constantFrom(...HOSTILE_INSERTS) },
          { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('long-line' as const),
        at,
        unit: fc.constantFrom(...LONG_LINE_UNITS),
        count: sizes(scale.maxLineChars, [100, 3_000, 20_000, 250_000, 1_000_000]),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('many-segments' as const),
        count: sizes(scale.maxSegments, [100, 2_000, 10_000, 50_000]),
      }),
    },
    { weight: 6, arbitrary: fc.record({ op: fc.constant('break-quote' as const), at }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('duplicate-attribute' as const), at }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('lowercase-line' as const), at }) },
    { weight: 1, arbitrary: fc.constant({ op: 'crlf' as const }) },
    { weight: 1, arbitrary: fc.constant({ op: 'bom' as const }) },
  );
}

/** Applies one mutation; positions are taken modulo what the text has, so every mutation applies. */
export function applyMutation(text: string, m: Mutation): string {
  const lines = text.split('\n');
  const line = (at: number) => at % Math.max(1, lines.length);
  switch (m.op) {
    case 'delete-line':
      lines.splice(line(m.at), 1);
      return lines.join('\n');
    case 'duplicate-line': {
      const i = line(m.at);
      lines.splice(i, 0, lines[i] ?? '');
      return lines.join('\n');
    }
    case 'swap-lines': {
      const [i, j] = [line(m.at), line(m.with)];
      [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
      return lines.join('\n');
    }
    case 'number': {
      const numbers = [...text.matchAll(/-?\d+(?:\.\d+)?/g)];
      const found = numbers[m.at % Math.max(1, numbers.length)];
      if (found === undefined) return text;
      return text.slice(0, found.index) + m.value + text.slice(found.index + found[0].length);
    }
    case 'truncate':
      return text.slice(0, m.at % (text.length + 1));
    case 'insert': {
      const i = m.at % (text.length + 1);
      return text.slice(0, i) + m.value + text.slice(i);
    }
    case 'long-line': {
      const unit = m.unit.repeat(Math.ceil(m.count / m.unit.length)).slice(0, m.count);
      lines.splice(line(m.at), 0, unit);
      return lines.join('\n');
    }
    case 'many-segments': {
      const body = lines.join('\n').replace(/\n?#EXT-X-ENDLIST\s*$/, '');
      const extra: string[] = [];
      for (let i = 0; i < m.count; i++) extra.push('#EXTINF:2.000,', `many_${i}.ts`);
      return `${body.replace(/\n*$/, '\n')}${extra.join('\n')}\n`;
    }
    case 'break-quote': {
      const quotes = [...text.matchAll(/"/g)];
      const found = quotes[m.at % Math.max(1, quotes.length)];
      return found === undefined ? `${text}"` : text.slice(0, found.index) + text.slice(found.index + 1);
    }
    case 'duplicate-attribute': {
      const candidates = lines.map((l, i) => [l, i] as const).filter(([l]) => /^#EXT[^:]*:[A-Z-]+=/.test(l));
      const picked = candidates[m.at % Math.max(1, candidates.length)];
      if (picked === undefined) return text;
      const [l, i] = picked;
      const first = l.slice(l.indexOf(':') + 1).split(',')[0] ?? '';
      lines[i] = `${l},${first}`;
      return lines.join('\n');
    }
    case 'lowercase-line': {
      const i = line(m.at);
      lines[i] = (lines[i] ?? '').toLowerCase();
      return lines.join('\n');
    }
    case 'crlf':
      return text.replace(/\n/g, '\r\n');
    case 'bom':
      return `\uFEFF${text}`;
  }
}

/** Media sequence numbers worth trying: ordinary, and at the edges of what a double holds. */
const SEQUENCE = fc.oneof(
  { weight: 20, arbitrary: fc.nat({ max: 1_000_000 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('9007199254740991', '9007199254740993', '18446744073709551615') },
);

/** A media playlist from parameters (live, EVENT or VOD; discontinuities; program date time; keys). */
const generatedMedia: fc.Arbitrary<string> = fc
  .record({
    version: fc.integer({ min: 1, max: 10 }),
    targetDuration: fc.integer({ min: 1, max: 12 }),
    sequence: SEQUENCE,
    discontinuitySequence: fc.option(fc.nat({ max: 10 }), { nil: undefined }),
    type: fc.constantFrom(undefined, 'EVENT', 'VOD'),
    segments: fc.array(
      fc.record({
        duration: fc.oneof(
          fc.integer({ min: 0, max: 12 }).map(String),
          fc.double({ min: 0, max: 12, noNaN: true }).map((d) => d.toFixed(3)),
        ),
        discontinuity: fc.boolean(),
        key: fc.boolean(),
        pdt: fc.boolean(),
      }),
      { maxLength: 12 },
    ),
    endlist: fc.boolean(),
  })
  .map((p) => {
    const out = [
      '#EXTM3U',
      `#EXT-X-VERSION:${p.version}`,
      `#EXT-X-TARGETDURATION:${p.targetDuration}`,
      `#EXT-X-MEDIA-SEQUENCE:${p.sequence}`,
    ];
    if (p.discontinuitySequence !== undefined)
      out.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`);
    if (p.type !== undefined) out.push(`#EXT-X-PLAYLIST-TYPE:${p.type}`);
    p.segments.forEach((s, i) => {
      if (s.discontinuity) out.push('#EXT-X-DISCONTINUITY');
      if (s.key) out.push(`#EXT-X-KEY:METHOD=AES-128,URI="key${i}.bin"`);
      if (s.pdt)
        out.push(`#EXT-X-PROGRAM-DATE-TIME:2025-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`);
      out.push(`#EXTINF:${s.duration},`, `seg${i}.ts`);
    });
    if (p.endlist) out.push('#EXT-X-ENDLIST');
    return `${out.join('\n')}\n`;
  });

/** A master from parameters: variants with group references, renditions, I-frame variants, session tags. */
const generatedMaster: fc.Arbitrary<string> = fc
  .record({
    version: fc.integer({ min: 1, max: 10 }),
    audio: fc.array(
      fc.record({
        group: fc.constantFrom('aac', 'ac3'),
        name: fc.constantFrom('en', 'de', 'fr'),
        default: fc.boolean(),
      }),
      { maxLength: 4 },
    ),
    captions: fc.boolean(),
    variants: fc.array(
      fc.record({
        bandwidth: fc.oneof(fc.nat().map(String), fc.constantFrom(...HOSTILE_NUMBERS)),
        audio: fc.option(fc.constantFrom('aac', 'ac3', 'none-such'), { nil: undefined }),
        resolution: fc.option(fc.constantFrom('1280x720', '1920x1080', '0x0'), { nil: undefined }),
        iframe: fc.boolean(),
        uri: fc.constantFrom('v/index.m3u8', 'https://cdn.example/v.m3u8', '../v.m3u8', 'v w.m3u8'),
      }),
      { maxLength: 8 },
    ),
    session: fc.array(
      fc.constantFrom(
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-START:TIME-OFFSET=-10',
        '#EXT-X-SESSION-DATA:DATA-ID="com.x",VALUE="y"',
        '#EXT-X-DEFINE:NAME="v",VALUE="1"',
      ),
      { maxLength: 3 },
    ),
  })
  .map((p) => {
    const out = ['#EXTM3U', `#EXT-X-VERSION:${p.version}`, ...p.session];
    for (const a of p.audio) {
      out.push(
        `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="${a.group}",NAME="${a.name}",LANGUAGE="${a.name}",DEFAULT=${a.default ? 'YES' : 'NO'},URI="audio/${a.group}/${a.name}.m3u8"`,
      );
    }
    if (p.captions) out.push('#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="en",INSTREAM-ID="CC1"');
    p.variants.forEach((v, i) => {
      const attributes = [`BANDWIDTH=${v.bandwidth}`];
      if (v.resolution !== undefined) attributes.push(`RESOLUTION=${v.resolution}`);
      if (v.audio !== undefined) attributes.push(`AUDIO="${v.audio}"`);
      if (p.captions) attributes.push('CLOSED-CAPTIONS="cc"');
      if (v.iframe) out.push(`#EXT-X-I-FRAME-STREAM-INF:${attributes.join(',')},URI="iframe${i}.m3u8"`);
      else out.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, v.uri);
    });
    return `${out.join('\n')}\n`;
  });

/** Media playlist paths a media-only encoder might be configured with, hostile ones included. */
const RENDITION_URIS = [
  '720p/index.m3u8',
  'index.m3u8',
  'a b/index.m3u8',
  '../other/index.m3u8',
  'a"b.m3u8',
  'x.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttps://evil.example/v.m3u8',
  '{$v}/index.m3u8',
  '/root.m3u8',
  'https://evil.example/i.m3u8',
];

/**
 * The fuzz case arbitrary: a seed (corpus file or generated playlist), up to four mutations of
 * it, an earlier version (the seed itself, the mutant, or the seed mutated differently) and the
 * freshness clock.
 */
export function fuzzCaseArbitrary(
  seeds: readonly { readonly name: string; readonly text: string }[],
  scale: Scale,
): fc.Arbitrary<FuzzCase> {
  const corpus =
    seeds.length > 0 ? fc.constantFrom(...seeds) : fc.constant({ name: 'empty', text: '#EXTM3U\n' });
  const seed = fc.oneof(
    { weight: 3, arbitrary: corpus },
    { weight: 1, arbitrary: generatedMedia.map((text) => ({ name: 'generated media', text })) },
    { weight: 1, arbitrary: generatedMaster.map((text) => ({ name: 'generated master', text })) },
  );
  const mutations = fc.array(mutationArbitrary(scale), { minLength: 0, maxLength: 4 });
  return fc
    .record({
      seed,
      mutations,
      previousMutations: fc.array(mutationArbitrary({ maxSegments: 100, maxLineChars: 100 }), {
        maxLength: 2,
      }),
      previousIs: fc.constantFrom('seed', 'self', 'other-mutant'),
      renditionUri: fc.constantFrom(...RENDITION_URIS),
      lastModified: fc.oneof(
        { weight: 6, arbitrary: fc.constant(1_735_689_600_000) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            0,
            -1,
            8.64e15,
            8.64e15 + 1,
            Number.MAX_SAFE_INTEGER,
            Number.NaN,
            Number.POSITIVE_INFINITY,
          ),
        },
      ),
      age: fc.oneof(fc.nat({ max: 60_000 }), fc.constantFrom(-5_000, 1e15)),
    })
    .map((p) => {
      const text = p.mutations.reduce(applyMutation, p.seed.text);
      const previous =
        p.previousIs === 'seed'
          ? p.seed.text
          : p.previousIs === 'self'
            ? text
            : p.previousMutations.reduce(applyMutation, p.seed.text);
      const ops = p.mutations.map((m) => m.op).join('+') || 'unmutated';
      return {
        origin: `${p.seed.name} [${ops}; previous: ${p.previousIs}]`,
        text,
        previous,
        other: p.seed.text,
        renditionUri: p.renditionUri,
        lastModified: p.lastModified,
        now: p.lastModified + p.age,
      };
    });
}
