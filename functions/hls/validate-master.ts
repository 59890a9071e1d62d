/**
 * Master (multivariant) playlist: the model the merge works on, and its validation.
 */
import { describeDecimalInteger, parseDecimalInteger, parseSafeInteger } from './numbers';
import { checkWithHlsParser } from './parser';
import {
  type Attribute,
  attributeValue,
  type PlaylistLine,
  type ScanLimits,
  scanPlaylist,
  unquote,
} from './scan';
import { TagChecker } from './tag-lines';
import { isKnownTag, MEDIA_TAGS } from './tags';
import type { UriPolicy } from './uris';
import { error, toValidationResult, type ValidationResult, type Violation, warning } from './violations';

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
  /** EXT-X-DEFINE NAME/VALUE variables: the merge resolves `{$name}` with them to place a URI. */
  readonly variables?: Readonly<Record<string, string>>;
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
  if (!scanned.readable) return toValidationResult(violations);
  const model = readMasterLines(scanned.lines, violations, options);
  violations.push(...checkMasterModel(model));
  if (!violations.some((v) => v.severity === 'error')) {
    const strict = checkWithHlsParser(text);
    if (!strict.success) violations.push(error('parser-strict', strict.message));
  }
  return toValidationResult(violations, model);
}

/** One pass over the lines: the model, plus the rules that belong to single lines. */
function readMasterLines(
  lines: readonly PlaylistLine[],
  violations: Violation[],
  policy: UriPolicy,
): MasterModel {
  const checker = new TagChecker(violations, policy);
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
    const attributes = checker.attributes(name, value, line) ?? [];
    switch (name) {
      case 'EXTM3U':
        break;
      case 'EXT-X-VERSION':
        version = parseSafeInteger(value);
        if (version === undefined)
          violations.push(error('version-invalid', `EXT-X-VERSION ${describeDecimalInteger(value)}`, line));
        break;
      case 'EXT-X-MEDIA': {
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
        checker.uri(next.uri, next.line);
        variants.push({
          line,
          iframe: false,
          uri: next.uri,
          uriLine: next.line,
          attributes,
          text: value ?? '',
        });
        i++;
        break;
      }
      case 'EXT-X-I-FRAME-STREAM-INF': {
        const uri = attributeValue(attributes, 'URI');
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
          attributes: attributes.filter((a) => a.name !== 'URI'),
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
  return { version, sessionTags, renditions, variants, variables: checker.variables.defined };
}

function checkMasterModel(model: MasterModel): Violation[] {
  const found: Violation[] = [];
  const groups = new Set<string>();
  for (const r of model.renditions) {
    let uri: string | undefined;
    let hasInstreamId = false;
    let isDefault = false;
    let autoselect: string | undefined;
    const missing = new Set(['TYPE', 'GROUP-ID', 'NAME']);
    for (const a of r.attributes) {
      missing.delete(a.name);
      if (a.name === 'URI') uri = unquote(a.raw);
      else if (a.name === 'INSTREAM-ID') hasInstreamId = true;
      else if (a.name === 'DEFAULT') isDefault = a.raw === 'YES';
      else if (a.name === 'AUTOSELECT') autoselect = a.raw;
    }
    // RFC 8216 §4.3.4.1: "If the AUTOSELECT attribute is present, its value MUST be YES if the
    // value of the DEFAULT attribute is YES."
    if (isDefault && autoselect !== undefined && autoselect !== 'YES') {
      found.push(
        error(
          'media-default-autoselect',
          `this rendition is DEFAULT=YES with AUTOSELECT=${autoselect}; write AUTOSELECT=YES or leave AUTOSELECT out`,
          r.line,
        ),
      );
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
      if (a.name === 'AVERAGE-BANDWIDTH' && parseDecimalInteger(a.raw) === undefined) {
        found.push(
          error('attribute-value-invalid', `AVERAGE-BANDWIDTH ${describeDecimalInteger(a.raw)}`, v.line),
        );
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
    if (bandwidth === undefined) {
      found.push(
        error('stream-inf-bandwidth-missing', `${tag} needs BANDWIDTH=<peak bits per second>`, v.line),
      );
    } else if (parseDecimalInteger(bandwidth) === undefined) {
      found.push(error('attribute-value-invalid', `BANDWIDTH ${describeDecimalInteger(bandwidth)}`, v.line));
    }
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
