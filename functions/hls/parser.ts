/**
 * The one place that calls hls-parser. Its options are process-global; we set them for one
 * synchronous call and restore them, so no caller ever sees or leaks them.
 */
import * as hlsParser from 'hls-parser';
import type { MasterPlaylist, MediaPlaylist } from 'hls-parser/types';
import { type Attribute, readAttributeList } from './scan';

export type ParsedPlaylist = MasterPlaylist | MediaPlaylist;

export type ParseResult =
  | { readonly success: true; readonly playlist: ParsedPlaylist }
  | { readonly success: false; readonly message: string };

/**
 * Parses with hls-parser. `strict` throws on the first spec violation hls-parser knows of; we
 * turn that into a result instead of an exception.
 */
export function parseWithHlsParser(text: string, strict: boolean): ParseResult {
  const saved = hlsParser.getOptions();
  hlsParser.setOptions({ strictMode: strict, silent: true });
  try {
    return { success: true, playlist: hlsParser.parse(text) as ParsedPlaylist };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    return { success: false, message: message.replace(/^Invalid Playlist : /, '') };
  } finally {
    hlsParser.setOptions(saved);
  }
}

export type StrictCheckResult =
  | { readonly success: true }
  | { readonly success: false; readonly message: string };

/** Variants per piece of a master given to hls-parser (its cost per piece is about this squared). */
const VARIANTS_PER_PIECE = 32;

const VARIANT_TAGS: ReadonlySet<string> = new Set(['EXT-X-STREAM-INF', 'EXT-X-I-FRAME-STREAM-INF']);
const MASTER_ONLY_TAGS: ReadonlySet<string> = new Set([
  ...VARIANT_TAGS,
  'EXT-X-MEDIA',
  'EXT-X-SESSION-DATA',
  'EXT-X-SESSION-KEY',
]);
const GROUP_TYPES = ['AUDIO', 'VIDEO', 'SUBTITLES', 'CLOSED-CAPTIONS'] as const;

/**
 * hls-parser's strict checks, at a cost linear in the playlist.
 *
 * hls-parser reads a media playlist in one linear pass, but a master in O(variants × lines): each
 * variant walks every line of the playlist for its renditions (a 30,000-variant, 4.8 MB master
 * takes ~30 s). So a master is given to it in pieces that together hold every line and every
 * rule it checks across lines:
 *
 * - the playlist without its variants, plus the first variant (session tags, every EXT-X-MEDIA
 *   with the checks a variant triggers on them, tag categories, EXT-X-VERSION);
 * - per EXT-X-MEDIA group a variant names, the group's renditions and the first variant naming it
 *   (NAME and DEFAULT unique in a group, the version its INSTREAM-IDs need);
 * - the variants, {@link VARIANTS_PER_PIECE} at a time, each piece with one rendition of every
 *   group its variants name (so the group is found) and the first variant with SCORE and the first
 *   with CLOSED-CAPTIONS=NONE (hls-parser's all-or-none rules for both compare every variant with
 *   those).
 *
 * A master with an attribute list that breaks RFC 8216 §4.2 (an unbalanced quote …), or with a tag
 * between an EXT-X-STREAM-INF and its URI line, is given whole: hls-parser splits such a list its
 * own way and drops the tags it does not know, so a piece could hold other lines than hls-parser
 * sees in the whole text. Our validators never pass a malformed list (`attribute-list-invalid`
 * is found first); the tag before a URI is rare enough to pay the quadratic parse.
 *
 * Returns the first finding, like hls-parser's strict mode.
 */
export function checkWithHlsParser(text: string): StrictCheckResult {
  // Up to a piece's worth of variants, the whole text costs less than cutting it into pieces
  // (and is what the pieces stand for).
  if (variantTagsAtMost(text, VARIANTS_PER_PIECE)) {
    const parsed = parseWithHlsParser(text, true);
    return parsed.success ? { success: true } : parsed;
  }
  for (const piece of pieces(text)) {
    const parsed = parseWithHlsParser(piece, true);
    if (!parsed.success) return parsed;
  }
  return { success: true };
}

/** Whether `text` has at most `limit` variant tags (EXT-X-STREAM-INF, EXT-X-I-FRAME-STREAM-INF). */
function variantTagsAtMost(text: string, limit: number): boolean {
  let count = 0;
  for (let at = text.indexOf('STREAM-INF'); at >= 0; at = text.indexOf('STREAM-INF', at + 10))
    if (++count > limit) return false;
  return true;
}

interface VariantUnit {
  /** The tag line, and for EXT-X-STREAM-INF the URI line after it. */
  readonly text: string;
  /** `TYPE\0GROUP-ID` of each group the variant names. */
  readonly groups: readonly string[];
  readonly scored: boolean;
  readonly captionsNone: boolean;
}

/** The pieces of a master (see {@link checkWithHlsParser}), one at a time; anything else is one piece. */
function* pieces(text: string): Generator<string> {
  const lines = text.split('\n');
  let version: string | undefined;
  const rest: string[] = [];
  const units: VariantUnit[] = [];
  const groups = new Map<string, string[]>();
  let master = false;
  let malformed = false;
  let tagBeforeUri = false;
  const attributesOf = (line: string) => {
    const list = readAttributeList(line.slice(line.indexOf(':') + 1));
    if (list.problems.length > 0) malformed = true;
    return list.attributes;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    const name = tagName(line);
    if (name === undefined || !VARIANT_TAGS.has(name)) {
      // hls-parser keeps the last EXT-X-VERSION; every piece carries it for the version checks.
      if (name === 'EXT-X-VERSION') version = line;
      rest.push(line);
      if (name !== undefined && MASTER_ONLY_TAGS.has(name)) master = true;
      if (name === 'EXT-X-MEDIA') {
        const attributes = attributesOf(line);
        const key = `${unquote(lastRaw(attributes, 'TYPE') ?? '')}\u0000${unquote(lastRaw(attributes, 'GROUP-ID') ?? '')}`;
        const members = groups.get(key);
        if (members === undefined) groups.set(key, [line]);
        else members.push(line);
      }
      continue;
    }
    master = true;
    let unit = line;
    if (name === 'EXT-X-STREAM-INF') {
      let next = i + 1;
      while (next < lines.length && /^\s*(#(?!EXT)|$)/.test(lines[next] as string)) next++;
      const uri = lines[next]?.trim();
      if (uri !== undefined && !uri.startsWith('#')) {
        unit = `${line}\n${uri}`;
        i = next;
      } else if (uri !== undefined && !VARIANT_TAGS.has(tagName(uri) ?? '')) {
        // A tag between EXT-X-STREAM-INF and its URI: hls-parser drops the tags it does not know
        // and fails on the ones it knows; which is which is its own list, so it gets the whole text.
        tagBeforeUri = true;
      }
    }
    const attributes = attributesOf(line);
    const named: string[] = [];
    for (const type of GROUP_TYPES) {
      const raw = lastRaw(attributes, type);
      if (raw !== undefined && !(type === 'CLOSED-CAPTIONS' && raw === 'NONE'))
        named.push(`${type}\u0000${unquote(raw)}`);
    }
    if (units.length === 0) rest.push(unit);
    units.push({
      text: unit,
      groups: named,
      scored: attributes.some((a) => a.name === 'SCORE'),
      captionsNone: lastRaw(attributes, 'CLOSED-CAPTIONS') === 'NONE',
    });
  }
  if (!master || units.length === 0 || malformed || tagBeforeUri) {
    yield text;
    return;
  }

  const head = version === undefined ? ['#EXTM3U'] : ['#EXTM3U', version];
  const piece = (body: readonly string[]) => `${[...head, ...body].join('\n')}\n`;
  const representativesOf = (units: readonly VariantUnit[]) => {
    const found = new Map<string, string>();
    for (const unit of units) {
      for (const key of unit.groups) {
        const member = groups.get(key)?.[0];
        if (member !== undefined) found.set(key, member);
      }
    }
    return found;
  };
  yield `${rest.join('\n')}\n`;

  const exercised = new Set((units[0] as VariantUnit).groups);
  for (const unit of units) {
    for (const key of unit.groups) {
      if (exercised.has(key)) continue;
      exercised.add(key);
      const others = representativesOf([unit]);
      others.delete(key);
      yield piece([...others.values(), ...(groups.get(key) ?? []), unit.text]);
    }
  }

  const witnesses = [units.find((u) => u.scored), units.find((u) => u.captionsNone)].filter(
    (u): u is VariantUnit => u !== undefined,
  );
  for (let start = 0; start < units.length; start += VARIANTS_PER_PIECE) {
    const chunk = [...witnesses, ...units.slice(start, start + VARIANTS_PER_PIECE)];
    yield piece([...representativesOf(chunk).values(), ...chunk.map((u) => u.text)]);
  }
}

/** An attribute's value as written; the last one when it repeats, as hls-parser reads it. */
function lastRaw(attributes: readonly Attribute[], name: string): string | undefined {
  for (let i = attributes.length - 1; i >= 0; i--)
    if (attributes[i]?.name === name) return attributes[i]?.raw;
  return undefined;
}

/** The tag name of a line as hls-parser reads it (`#EXT…` up to ':'), undefined for URIs and comments. */
function tagName(line: string): string | undefined {
  if (!line.startsWith('#EXT')) return undefined;
  const colon = line.indexOf(':');
  return (colon < 0 ? line.slice(1) : line.slice(1, colon)).trim();
}

/** Unquotes as hls-parser does: a leading and a trailing '"' are dropped each on its own (`a"` reads as `a`). */
function unquote(raw: string): string {
  return raw.trim().replace(/^"/, '').replace(/"$/, '');
}
