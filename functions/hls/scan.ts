/**
 * The lexical pass: playlist text → lines with their 1-based line numbers. hls-parser gives us
 * the typed playlist but no line numbers and drops what it does not know; this pass keeps both,
 * so violations can point at a line and the merge can carry attributes through byte for byte.
 */
import { splitByCommaWithPreservingQuotes } from 'hls-parser/utils';
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

/** Reads playlist text into lines; never throws. */
export function scanPlaylist(text: string, limits: ScanLimits = {}): ScannedPlaylist {
  const max = limits.maxPlaylistChars ?? DEFAULT_MAX_PLAYLIST_CHARS;
  if (text.length > max) {
    return unreadable(
      error(
        'playlist-too-large',
        `playlist has ${text.length} characters, more than the limit of ${max}; raise maxPlaylistChars if this is intended`,
      ),
    );
  }
  if (text.trim() === '') {
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
  const rawLines = body.split(/\r\n|\r|\n/);
  if (rawLines[0]?.trimEnd() !== '#EXTM3U') {
    violations.push(error('extm3u-first', 'the first line must be exactly #EXTM3U', 1));
  }

  const lines: PlaylistLine[] = [];
  for (let i = 0; i < rawLines.length; i++) {
    const raw = (rawLines[i] as string).trim();
    if (raw === '') continue;
    const line = i + 1;
    if (raw.charCodeAt(0) !== 0x23 /* # */) {
      lines.push({ kind: 'uri', line, uri: raw });
    } else if (raw.startsWith('#EXT')) {
      const colon = raw.indexOf(':');
      lines.push(
        colon < 0
          ? { kind: 'tag', line, name: raw.slice(1), value: undefined }
          : { kind: 'tag', line, name: raw.slice(1, colon), value: raw.slice(colon + 1) },
      );
    } else if (/^#ext/i.test(raw)) {
      violations.push(
        warning(
          'tag-lowercase',
          `"${raw.slice(0, 40)}" looks like a tag but tags are case-sensitive; write it in upper case (it is ignored as a comment)`,
          line,
        ),
      );
    }
  }
  return { lines, violations, readable: true };
}

function unreadable(violation: Violation): ScannedPlaylist {
  return { lines: [], violations: [violation], readable: false };
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

/** Splits an attribute list (RFC 8216 §4.2), keeping order and each value as written. */
export function parseAttributes(value: string | undefined): Attribute[] {
  if (value === undefined || value.trim() === '') return [];
  return splitByCommaWithPreservingQuotes(value).map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0
      ? { name: pair.trim(), raw: '' }
      : { name: pair.slice(0, eq).trim(), raw: pair.slice(eq + 1).trim() };
  });
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
