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

/** A tag name (RFC 8216 §4.1: tags begin with #EXT; letters, digits and '-' follow). */
const TAG_NAME = /^EXT[A-Za-z0-9_-]*$/;

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
      const name = colon < 0 ? raw.slice(1) : raw.slice(1, colon);
      if (!TAG_NAME.test(name)) {
        // A player may still read it as the tag (hls-parser trims the name), so it is refused, never kept.
        violations.push(
          error(
            'tag-malformed',
            `"${name.slice(0, 40)}" is not a tag name: write #EXT<NAME>:<value> with no space or other character before the ':'`,
            i + 1,
          ),
        );
      } else visitor.tag(name, colon < 0 ? undefined : raw.slice(colon + 1), i + 1);
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

/** An attribute list as read: its attributes, and what breaks RFC 8216 §4.2 syntax. */
export interface AttributeList {
  readonly attributes: Attribute[];
  /** Each problem says what to fix; empty when the list is well-formed. */
  readonly problems: string[];
  /** Names given more than once (RFC 8216 §4.2: "MUST NOT appear more than once"). */
  readonly duplicates: string[];
}

const ATTRIBUTE_NAME = /^[A-Z0-9-]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: CR and other controls are what it finds.
const NOT_IN_UNQUOTED = /["\s\u0000-\u001F]/;

/**
 * Reads an attribute list (RFC 8216 §4.2: `NAME=value` pairs, commas inside quoted-strings kept),
 * keeping order and each value as written, and reports its syntax: names of [A-Z0-9-], a
 * quoted-string closed before the next comma and holding no `"`, CR or LF, an unquoted value
 * without quotes or white space, no name twice. One pass, no intermediate list.
 */
export function readAttributeList(value: string | undefined): AttributeList {
  const attributes: Attribute[] = [];
  const problems: string[] = [];
  const duplicates: string[] = [];
  if (value === undefined) return { attributes, problems, duplicates };
  const seen = new Set<string>();
  const length = value.length;
  let i = 0;
  while (i < length) {
    let eq = i;
    while (eq < length && value.charCodeAt(eq) !== 0x3d /* = */ && value.charCodeAt(eq) !== 0x2c /* , */)
      eq++;
    const name = value.slice(i, eq).trim();
    if (eq === length || value.charCodeAt(eq) === 0x2c) {
      if (name === '') problems.push('an empty attribute between commas; remove the extra comma');
      else {
        problems.push(`attribute ${clip(name)} has no value; write ${clip(name)}=<value>`);
        attributes.push({ name, raw: '' });
      }
      i = eq + 1;
      continue;
    }
    let start = eq + 1;
    while (start < length && value.charCodeAt(start) === 0x20) start++;
    let end: number;
    let raw: string;
    if (value.charCodeAt(start) === 0x22 /* " */) {
      const close = value.indexOf('"', start + 1);
      if (close < 0) {
        problems.push(`the quoted value of ${clip(name)} has no closing quote`);
        end = length;
        raw = value.slice(start);
      } else {
        raw = value.slice(start, close + 1);
        end = value.indexOf(',', close + 1);
        if (end < 0) end = length;
        if (value.slice(close + 1, end).trim() !== '')
          problems.push(
            `the quoted value of ${clip(name)} is followed by more text before the next comma (a '"' inside a quoted-string?)`,
          );
        if (/[\r\n]/.test(raw)) problems.push(`the quoted value of ${clip(name)} holds a CR or LF`);
      }
    } else {
      end = value.indexOf(',', start);
      if (end < 0) end = length;
      raw = value.slice(start, end).trim();
      if (raw === '') problems.push(`attribute ${clip(name)} has an empty value`);
      else if (NOT_IN_UNQUOTED.test(raw))
        problems.push(
          `the value of ${clip(name)} holds a quote, white space or a control character; quote it as "…" if it is a quoted-string`,
        );
    }
    if (!ATTRIBUTE_NAME.test(name))
      problems.push(`attribute name "${clip(name)}" may use only A-Z, 0-9 and '-'`);
    if (seen.has(name)) duplicates.push(name);
    seen.add(name);
    attributes.push({ name, raw });
    i = end + 1;
  }
  return { attributes, problems, duplicates };
}

/** The attributes of an attribute list, syntax unchecked (see {@link readAttributeList}). */
export function parseAttributes(value: string | undefined): Attribute[] {
  return readAttributeList(value).attributes;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
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
