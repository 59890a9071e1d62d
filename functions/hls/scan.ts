/**
 * The lexical pass: playlist text → lines with their 1-based line numbers. hls-parser gives us
 * the typed playlist but no line numbers and drops what it does not know; this pass keeps both,
 * so violations can point at a line and the merge can carry attributes through byte for byte.
 */
import { error, type Violation, warning } from './violations';

export type PlaylistLine =
  | { readonly kind: 'tag'; readonly line: number; readonly name: string; readonly value: string | undefined }
  | { readonly kind: 'uri'; readonly line: number; readonly uri: string };

export interface ScannedPlaylist {
  /** Tags and URI lines in order; blank lines and comments are skipped (their numbers are not). */
  readonly lines: readonly PlaylistLine[];
  /** Problems found while reading the text itself (size, encoding, first line, tag case). */
  readonly violations: readonly Violation[];
  /** False when the text cannot be read as a playlist at all (then `lines` is empty). */
  readonly readable: boolean;
}

export interface ScanLimits {
  /** Longest accepted playlist, in characters. @default 5_000_000 */
  readonly maxPlaylistChars?: number;
}

export const DEFAULT_MAX_PLAYLIST_CHARS = 5_000_000;

// C0 controls other than TAB/LF/CR, and U+FFFD (what a UTF-8 decoder leaves for bytes that are not UTF-8).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this regex's purpose.
const NOT_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFD]/;

/** Receives each tag and URI line of a playlist, in order, with its 1-based line number. */
export interface LineVisitor {
  tag(name: string, value: string | undefined, line: number): void;
  uri(uri: string, line: number): void;
  /**
   * An EXTINF line, given whole (`#EXTINF:<duration>,<title>`): half of a media playlist's lines,
   * so the visitor reads the duration in place. Without it, EXTINF goes to `tag` like any tag.
   */
  extinf?(raw: string, line: number): void;
}

/**
 * Reads playlist text line by line into a visitor (no per-line objects: this is the hot path of
 * validation); returns what it found wrong with the text itself. Never throws.
 */
export function readLines(
  text: string,
  limits: ScanLimits,
  visitor: LineVisitor,
): { readonly violations: Violation[]; readonly readable: boolean } {
  const max = limits.maxPlaylistChars ?? DEFAULT_MAX_PLAYLIST_CHARS;
  if (text.length > max) {
    return unreadable(
      error(
        'playlist-too-large',
        `playlist has ${text.length} characters, more than the limit of ${max}; raise maxPlaylistChars if this is intended`,
      ),
    );
  }
  if (!/\S/.test(text)) {
    return unreadable(error('playlist-empty', 'playlist is empty; it must start with #EXTM3U', 1));
  }
  const notText = NOT_TEXT.exec(text);
  if (notText) {
    const line = lineOf(text, notText.index);
    return unreadable(
      error(
        'playlist-not-text',
        `line ${line} holds a control character or bytes that are not UTF-8 (U+${notText[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}); is this a media segment?`,
        line,
      ),
    );
  }

  const violations: Violation[] = [];
  let body = text;
  if (body.charCodeAt(0) === 0xfeff) {
    body = body.slice(1);
    violations.push(warning('bom-present', 'remove the UTF-8 byte order mark before #EXTM3U', 1));
  }
  // Split on LF and drop a CR before it; a file with CR alone (classic Mac) splits on CR.
  const rawLines = body.indexOf('\n') >= 0 ? body.split('\n') : body.split('\r');
  if (rawLines[0]?.trim() !== '#EXTM3U') {
    violations.push(error('extm3u-first', 'the first line must be exactly #EXTM3U', 1));
  }

  for (let i = 0; i < rawLines.length; i++) {
    let raw = rawLines[i] as string;
    // trim() only when an end holds white space: most lines have none.
    if (raw.length > 0 && (raw.charCodeAt(raw.length - 1) <= 0x20 || raw.charCodeAt(0) <= 0x20))
      raw = raw.trim();
    if (raw.length === 0) continue;
    if (raw.charCodeAt(0) !== 0x23 /* # */) {
      visitor.uri(raw, i + 1);
    } else if (raw.startsWith('#EXTINF:')) {
      if (visitor.extinf) visitor.extinf(raw, i + 1);
      else visitor.tag('EXTINF', raw.slice(8), i + 1);
    } else if (raw.startsWith('#EXT')) {
      const colon = raw.indexOf(':');
      if (colon < 0) visitor.tag(raw.slice(1), undefined, i + 1);
      else visitor.tag(raw.slice(1, colon), raw.slice(colon + 1), i + 1);
    } else if ((raw.charCodeAt(1) | 0x20) === 0x65 /* e or E */ && /^#ext/i.test(raw)) {
      violations.push(
        warning(
          'tag-lowercase',
          `"${raw.slice(0, 40)}" looks like a tag but tags are case-sensitive; write it in upper case (it is ignored as a comment)`,
          i + 1,
        ),
      );
    }
  }
  return { violations, readable: true };
}

/** Reads playlist text into a list of lines; never throws. */
export function scanPlaylist(text: string, limits: ScanLimits = {}): ScannedPlaylist {
  const lines: PlaylistLine[] = [];
  const { violations, readable } = readLines(text, limits, {
    tag: (name, value, line) => lines.push({ kind: 'tag', line, name, value }),
    uri: (uri, line) => lines.push({ kind: 'uri', line, uri }),
  });
  return { lines, violations, readable };
}

function unreadable(violation: Violation): { violations: Violation[]; readable: false } {
  return { violations: [violation], readable: false };
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** One attribute of an attribute list, its value exactly as written (quotes kept). */
export interface Attribute {
  readonly name: string;
  readonly raw: string;
}

/**
 * Splits an attribute list (RFC 8216 §4.2: `NAME=value` pairs, commas inside quoted-strings kept),
 * keeping order and each value as written. One pass, no intermediate list.
 */
export function parseAttributes(value: string | undefined): Attribute[] {
  const attributes: Attribute[] = [];
  if (value === undefined) return attributes;
  let i = 0;
  while (i < value.length) {
    let end = i;
    let quoted = false;
    // The first '=' of this item, found in the same scan (an indexOf from i would read to the end
    // of the list for every item without one: quadratic on a long line of bare commas).
    let eq = -1;
    while (end < value.length) {
      const c = value.charCodeAt(end);
      if (c === 0x22 /* " */) quoted = !quoted;
      else if (c === 0x2c /* , */ && !quoted) break;
      else if (c === 0x3d /* = */ && eq < 0) eq = end;
      end++;
    }
    if (eq < 0) {
      const name = value.slice(i, end).trim();
      if (name !== '') attributes.push({ name, raw: '' });
    } else {
      attributes.push({ name: value.slice(i, eq).trim(), raw: value.slice(eq + 1, end).trim() });
    }
    i = end + 1;
  }
  return attributes;
}

/** The value of an attribute, unquoted; undefined when absent. */
export function attributeValue(attributes: readonly Attribute[], name: string): string | undefined {
  const found = attributes.find((a) => a.name === name);
  return found === undefined ? undefined : unquote(found.raw);
}

export function unquote(raw: string): string {
  return raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
}

/** Writes an attribute list back, in the given order. */
export function formatAttributes(attributes: readonly Attribute[]): string {
  return attributes.map((a) => `${a.name}=${a.raw}`).join(',');
}

/** A quoted-string value (RFC 8216 §4.2): no double quote, CR or LF inside. */
export function quoted(value: string): string {
  if (/["\r\n]/.test(value)) throw new TypeError(`cannot quote a value holding '"', CR or LF: ${value}`);
  return `"${value}"`;
}
