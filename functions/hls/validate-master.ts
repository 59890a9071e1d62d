/**
 * Master (multivariant) playlist: the model the merge works on, and its validation.
 */
import { checkWithHlsParser } from './parser';
import {
  type Attribute,
  attributeValue,
  type PlaylistLine,
  parseAttributes,
  type ScanLimits,
  scanPlaylist,
  unquote,
} from './scan';
import { isKnownTag, MEDIA_TAGS } from './tags';
import { checkUri, type UriPolicy } from './uris';
import type { ValidationResult } from './validate-media';
import { error, type Violation, warning } from './violations';

export type RenditionType = 'AUDIO' | 'VIDEO' | 'SUBTITLES' | 'CLOSED-CAPTIONS';

/** An EXT-X-MEDIA tag, attributes as written. */
export interface MasterRendition {
  readonly line: number;
  readonly type: string;
  readonly groupId: string;
  readonly attributes: readonly Attribute[];
}

/** An EXT-X-STREAM-INF (with its URI line) or an EXT-X-I-FRAME-STREAM-INF. */
export interface MasterVariant {
  readonly line: number;
  readonly iframe: boolean;
  readonly uri: string;
  /** Line the URI is on (the URI line of a STREAM-INF, the tag's own line for an I-frame variant). */
  readonly uriLine: number;
  /** Attributes as written; for I-frame variants without URI. */
  readonly attributes: readonly Attribute[];
  /** The attribute list as written (identifies duplicates). */
  readonly text: string;
}

/** A session-level tag (VERSION excluded), kept as written: INDEPENDENT-SEGMENTS, START, DEFINE, SESSION-*, unknown. */
export interface SessionTag {
  readonly line: number;
  readonly name: string;
  readonly value: string | undefined;
}

/** What a master playlist says, in the order it says it. */
export interface MasterModel {
  readonly version: number | undefined;
  readonly sessionTags: readonly SessionTag[];
  readonly renditions: readonly MasterRendition[];
  readonly variants: readonly MasterVariant[];
}

export interface MasterValidationOptions extends ScanLimits, UriPolicy {}

/** Variant attributes that name an EXT-X-MEDIA group of the TYPE of the same name. */
const GROUP_ATTRIBUTES: ReadonlySet<string> = new Set<RenditionType>([
  'AUDIO',
  'VIDEO',
  'SUBTITLES',
  'CLOSED-CAPTIONS',
]);

/**
 * Validates a master playlist: BANDWIDTH on every variant, group references, duplicate
 * variants, URIs that leave the encoder's folder, plus hls-parser's strict checks. Reports every
 * violation, never throws.
 */
export function validateMasterPlaylist(
  text: string,
  options: MasterValidationOptions = {},
): ValidationResult<MasterModel> {
  const scanned = scanPlaylist(text, options);
  const violations = [...scanned.violations];
  if (!scanned.readable) return masterResult(violations);
  const model = readMasterLines(scanned.lines, violations);
  violations.push(...checkMasterModel(model, options));
  if (!violations.some((v) => v.severity === 'error')) {
    const strict = checkWithHlsParser(text);
    if (!strict.success) violations.push(error('parser-strict', strict.message));
  }
  return masterResult(violations, model);
}

function masterResult(violations: readonly Violation[], model?: MasterModel): ValidationResult<MasterModel> {
  const errors = violations.filter((v) => v.severity === 'error');
  const warnings = violations.filter((v) => v.severity === 'warning');
  const base = { valid: errors.length === 0, errors, warnings };
  return model === undefined ? base : { ...base, snapshot: model };
}

/** One pass over the lines: the model, plus the rules that belong to single lines. */
function readMasterLines(lines: readonly PlaylistLine[], violations: Violation[]): MasterModel {
  let version: number | undefined;
  const sessionTags: SessionTag[] = [];
  const renditions: MasterRendition[] = [];
  const variants: MasterVariant[] = [];
  const unknownReported = new Set<string>();
  let mixedReported = false;

  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as PlaylistLine;
    if (l.kind === 'uri') {
      violations.push(error('uri-orphan', `URI "${l.uri}" does not follow an EXT-X-STREAM-INF tag`, l.line));
      continue;
    }
    const { name, value, line } = l;
    switch (name) {
      case 'EXTM3U':
        break;
      case 'EXT-X-VERSION':
        version = Number(value);
        break;
      case 'EXT-X-MEDIA': {
        const attributes = parseAttributes(value);
        renditions.push({
          line,
          type: attributeValue(attributes, 'TYPE') ?? '',
          groupId: attributeValue(attributes, 'GROUP-ID') ?? '',
          attributes,
        });
        break;
      }
      case 'EXT-X-STREAM-INF': {
        const next = lines[i + 1];
        if (next?.kind !== 'uri') {
          violations.push(
            error(
              'stream-inf-without-uri',
              'put the variant playlist URI on the line after EXT-X-STREAM-INF',
              line,
            ),
          );
          break;
        }
        variants.push({
          line,
          iframe: false,
          uri: next.uri,
          uriLine: next.line,
          attributes: parseAttributes(value),
          text: value ?? '',
        });
        i++;
        break;
      }
      case 'EXT-X-I-FRAME-STREAM-INF': {
        const all = parseAttributes(value);
        const uri = attributeValue(all, 'URI');
        if (uri === undefined) {
          violations.push(
            error('iframe-uri-missing', 'add URI="<i-frame playlist>" to EXT-X-I-FRAME-STREAM-INF', line),
          );
          break;
        }
        variants.push({
          line,
          iframe: true,
          uri,
          uriLine: line,
          attributes: all.filter((a) => a.name !== 'URI'),
          text: value ?? '',
        });
        break;
      }
      case 'EXT-X-CONTENT-STEERING':
        // The merged index sets its own steering; an encoder's is not carried over.
        break;
      default:
        if (MEDIA_TAGS.has(name)) {
          if (!mixedReported) {
            violations.push(
              error(
                'mixed-playlist',
                `${name} is a media playlist tag; a master playlist cannot carry it`,
                line,
              ),
            );
            mixedReported = true;
          }
          break;
        }
        if (!isKnownTag(name) && !unknownReported.has(name)) {
          unknownReported.add(name);
          violations.push(
            warning('tag-unknown', `${name} is not an HLS tag; it is kept and players ignore it`, line),
          );
        }
        sessionTags.push({ line, name, value });
    }
  }
  return { version, sessionTags, renditions, variants };
}

function checkMasterModel(model: MasterModel, policy: UriPolicy): Violation[] {
  const found: Violation[] = [];
  const groups = new Set<string>();
  for (const r of model.renditions) {
    let uri: string | undefined;
    let hasInstreamId = false;
    const missing = new Set(['TYPE', 'GROUP-ID', 'NAME']);
    for (const a of r.attributes) {
      missing.delete(a.name);
      if (a.name === 'URI') uri = unquote(a.raw);
      else if (a.name === 'INSTREAM-ID') hasInstreamId = true;
    }
    if (missing.size > 0) {
      found.push(error('media-attribute-missing', `EXT-X-MEDIA lacks ${[...missing].join(', ')}`, r.line));
    }
    if (r.type === 'SUBTITLES' && uri === undefined) {
      found.push(error('media-uri-rules', 'a SUBTITLES rendition needs URI="<media playlist>"', r.line));
    }
    if (r.type === 'CLOSED-CAPTIONS') {
      if (uri !== undefined)
        found.push(error('media-uri-rules', 'a CLOSED-CAPTIONS rendition must not have a URI', r.line));
      if (!hasInstreamId)
        found.push(error('media-uri-rules', 'a CLOSED-CAPTIONS rendition needs INSTREAM-ID', r.line));
    }
    if (uri !== undefined) found.push(...checkUri(uri, r.line, policy));
    groups.add(`${r.type}\u0000${r.groupId}`);
  }

  const seen = new Map<string, number>();
  for (const v of model.variants) {
    const tag = v.iframe ? 'EXT-X-I-FRAME-STREAM-INF' : 'EXT-X-STREAM-INF';
    let bandwidth: string | undefined;
    for (const a of v.attributes) {
      if (a.name === 'BANDWIDTH') {
        bandwidth = a.raw;
        continue;
      }
      if (!GROUP_ATTRIBUTES.has(a.name) || (a.name === 'CLOSED-CAPTIONS' && a.raw === 'NONE')) continue;
      const group = unquote(a.raw);
      if (!groups.has(`${a.name}\u0000${group}`)) {
        found.push(
          error(
            'group-not-found',
            `${a.name}="${group}" names no EXT-X-MEDIA group of TYPE=${a.name}`,
            v.line,
          ),
        );
      }
    }
    if (bandwidth === undefined || !/^\d+$/.test(bandwidth)) {
      found.push(
        error(
          'stream-inf-bandwidth-missing',
          `${tag} needs BANDWIDTH=<peak bits per second> (found ${bandwidth ?? 'none'})`,
          v.line,
        ),
      );
    }
    found.push(...checkUri(v.uri, v.uriLine, policy));
    const key = `${tag}\u0000${v.uri}\u0000${v.text}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, v.line);
    else
      found.push(
        error('variant-duplicate', `this variant repeats the one on line ${first}; remove one`, v.line),
      );
  }
  return found;
}
