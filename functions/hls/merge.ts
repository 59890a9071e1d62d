/**
 * Merging the encoders' masters into the channel's `index.m3u8` (docs/design.md, "The merged index").
 */
import { ConfigInvalidError, LadderMismatchError, PlaylistInvalidError } from './errors';
import { type Attribute, attributeValue, formatAttributes, quoted, readAttributeList } from './scan';
import { PATHWAY_ID } from './steering';
import { checkUri, hasScheme, isKeySystemUri, joinUri } from './uris';
import {
  type MasterModel,
  type MasterRendition,
  type MasterValidationOptions,
  type MasterVariant,
  type SessionTag,
  validateMasterPlaylist,
} from './validate-master';
import { hasVariableReference, substituteKnown } from './variables';
import { isAcceptable } from './violations';

/** A media playlist of an encoder that writes no master, with the segment sizes that give its bandwidth. */
export interface MediaOnlyRendition {
  /** The media playlist, relative to the encoder folder. */
  readonly uri: string;
  readonly segments: readonly { readonly bytes: number; readonly duration: number }[];
  readonly codecs?: string;
  /** `<width>x<height>`. */
  readonly resolution?: string;
}

/** An encoder that writes only media playlists. */
export type MediaOnlySource = { readonly mediaOnly: readonly MediaOnlyRendition[] };

/** What one encoder offers: its master as text, an already validated model, or media playlists only. */
export type MasterSource = string | MasterModel | MediaOnlySource;

export interface MergeOptions extends MasterValidationOptions {
  /** Encoder folder names, which are also the PATHWAY-IDs. @default ['primary', 'failover'] */
  readonly encoders?: readonly [string, string];
  /** The encoder listed first and first in steering. @default encoders[0] */
  readonly prefer?: string;
  /** Emit `#EXT-X-CONTENT-STEERING` and a PATHWAY-ID per variant. @default true */
  readonly steering?: boolean;
  /** SERVER-URI of the steering manifest, relative to index.m3u8. @default 'steering.json' */
  readonly steeringUri?: string;
  /** Absolute base URL per encoder (CDN per encoder); default: relative `<encoder>/`. */
  readonly baseUrls?: Readonly<Partial<Record<string, string>>>;
  /**
   * A relative folder per encoder that its playlists are listed under instead of `<encoder>/`
   * (published mode: `live/`, the published playlists, which keep the encoder's paths).
   */
  readonly folders?: Readonly<Partial<Record<string, string>>>;
  /** List I-frame playlists (EXT-X-I-FRAME-STREAM-INF). @default true */
  readonly iframes?: boolean;
  /** Folder of each encoder's master inside its encoder folder. @default '' */
  readonly masterDirs?: Readonly<Partial<Record<string, string>>>;
  /** Report a ladder mismatch as a warning instead of throwing. @default false */
  readonly lenient?: boolean;
}

export interface MergeResult {
  /** The merged master, byte-stable for the same input. */
  readonly text: string;
  /** Encoders in the order the index lists them (preferred first): the steering priority. */
  readonly order: readonly string[];
  readonly warnings: readonly string[];
}

export const DEFAULT_ENCODERS = ['primary', 'failover'] as const;

/** Rendition types duplicated per encoder; a variant's attribute of the same name follows the rename. */
const RENAMED_GROUP_TYPES: ReadonlySet<string> = new Set(['AUDIO', 'VIDEO', 'SUBTITLES']);

/**
 * Merges the primary's and (optionally) the failover's master into one index: every variant once
 * per encoder with identical attributes and its own PATHWAY-ID, EXT-X-MEDIA groups duplicated per
 * encoder, CLOSED-CAPTIONS groups shared, session tags once, preferred encoder first.
 *
 * Throws {@link PlaylistInvalidError} for an invalid input master, {@link LadderMismatchError}
 * when the ladders differ (unless `lenient`), {@link ConfigInvalidError} for bad options.
 *
 * @example
 * const { text } = mergeMasters(primaryText, failoverText, { prefer: 'failover' });
 */
export function mergeMasters(
  primary: MasterSource | undefined,
  failover?: MasterSource,
  options: MergeOptions = {},
): MergeResult {
  const encoders = options.encoders ?? DEFAULT_ENCODERS;
  const preferred = options.prefer ?? encoders[0];
  checkOptions(encoders, preferred, options, primary, failover);

  const present: { encoder: string; model: MasterModel }[] = [];
  const [sharedPrimary, sharedFailover] = shareMeasuredLadder(primary, failover);
  [sharedPrimary, sharedFailover].forEach((source, i) => {
    const encoder = encoders[i] as string;
    if (source !== undefined) present.push({ encoder, model: toModel(source, encoder, options) });
  });

  const warnings: string[] = [];
  const [first, second] = present as [(typeof present)[0], (typeof present)[0] | undefined];
  if (second !== undefined) {
    const differences = compareLadders(first, second);
    if (differences.length > 0) {
      if (!options.lenient) throw new LadderMismatchError(differences);
      warnings.push(...differences.map((d) => `ladder mismatch: ${d}`));
    }
    if (sessionSignature(first.model) !== sessionSignature(second.model)) {
      warnings.push(`session tags differ between encoders; the index uses ${first.encoder}'s`);
    }
  }
  const ordered = [...present].sort(
    (a, b) => Number(b.encoder === preferred) - Number(a.encoder === preferred),
  );
  const steering = options.steering ?? true;

  const out: string[] = ['#EXTM3U'];
  const versions = present
    .map((p) => p.model.version)
    .filter((v): v is number => v !== undefined && Number.isSafeInteger(v) && v > 0);
  if (versions.length > 0) out.push(`#EXT-X-VERSION:${Math.max(...versions)}`);
  for (const tag of first.model.sessionTags)
    out.push(sessionTagLine(tag, first.encoder, first.model, options));
  if (steering) {
    out.push(
      `#EXT-X-CONTENT-STEERING:SERVER-URI=${quoted(options.steeringUri ?? 'steering.json')},PATHWAY-ID=${quoted(ordered[0]?.encoder ?? preferred)}`,
    );
  }

  // CLOSED-CAPTIONS travel inside the video, so both encoders share one group (first listed wins).
  const sharedCaptions = new Map<string, MasterRendition>();
  for (const { model } of ordered) {
    for (const r of model.renditions) {
      const key = `${r.type}\u0000${r.groupId}\u0000${attributeValue(r.attributes, 'NAME') ?? ''}`;
      if (!RENAMED_GROUP_TYPES.has(r.type) && !sharedCaptions.has(key)) sharedCaptions.set(key, r);
    }
  }
  for (const { encoder, model } of ordered) {
    for (const r of model.renditions) {
      if (RENAMED_GROUP_TYPES.has(r.type))
        out.push(`#EXT-X-MEDIA:${formatAttributes(rewriteRendition(r, encoder, model, options))}`);
    }
  }
  for (const r of sharedCaptions.values()) out.push(`#EXT-X-MEDIA:${formatAttributes(r.attributes)}`);

  for (const iframe of options.iframes === false ? [false] : [false, true]) {
    for (const { encoder, model } of ordered) {
      for (const v of model.variants) {
        if (v.iframe !== iframe) continue;
        const attributes = rewriteVariant(v, encoder, model, steering, options);
        if (iframe) out.push(`#EXT-X-I-FRAME-STREAM-INF:${formatAttributes(attributes)}`);
        else
          out.push(
            `#EXT-X-STREAM-INF:${formatAttributes(attributes)}`,
            encoderUri(encoder, v.uri, model, options),
          );
      }
    }
  }
  const text = `${out.join('\n')}\n`;
  checkMergedIndex(text, options);
  return { text, order: ordered.map((p) => p.encoder), warnings };
}

/**
 * The merge never writes an index it would refuse: the output is validated (our rules and
 * hls-parser strict) and a failure is a typed error, never a broken index.
 */
function checkMergedIndex(text: string, options: MergeOptions): void {
  const baseHosts = Object.values(options.baseUrls ?? {}).flatMap((base) => {
    try {
      return base === undefined ? [] : [new URL(base).hostname];
    } catch {
      return [];
    }
  });
  const result = validateMasterPlaylist(text, {
    ...options,
    maxPlaylistChars: Number.MAX_SAFE_INTEGER,
    allowedHosts: [...(options.allowedHosts ?? []), ...baseHosts],
  });
  if (!isAcceptable(result))
    throw new PlaylistInvalidError([...result.errors, ...result.policy], 'merged index');
}

function checkOptions(
  encoders: readonly [string, string],
  preferred: string,
  options: MergeOptions,
  primary: MasterSource | undefined,
  failover: MasterSource | undefined,
): void {
  const problems: string[] = [];
  if (primary === undefined && failover === undefined)
    problems.push('no encoder master to merge: give at least one');
  const steeringUri = options.steeringUri;
  if (steeringUri !== undefined && (steeringUri === '' || /["\s]/.test(steeringUri)))
    problems.push(`steeringUri "${steeringUri}" must be a non-empty URI without quotes or white space`);
  if (encoders[0] === encoders[1])
    problems.push(`the two encoders need different names (both are "${encoders[0]}")`);
  for (const e of encoders) {
    if (!PATHWAY_ID.test(e))
      problems.push(`encoder name "${e}" may use only letters, digits, '.', '-' and '_'`);
  }
  if (!encoders.includes(preferred))
    problems.push(`prefer must be one of ${encoders.join(', ')} (got "${preferred}")`);
  for (const [encoder, base] of Object.entries(options.baseUrls ?? {})) {
    if (base === undefined) continue;
    if (!encoders.includes(encoder)) problems.push(`baseUrls names an unknown encoder "${encoder}"`);
    if (!/^https?:\/\/[^/\s"]+\/?[^\s"]*$/.test(base))
      problems.push(`base URL for ${encoder} must be an http(s) URL (got "${base}")`);
  }
  if (problems.length > 0) throw new ConfigInvalidError(problems);
}

function isMediaOnly(source: MasterSource | undefined): source is MediaOnlySource {
  return source !== undefined && typeof source !== 'string' && 'mediaOnly' in source;
}

/**
 * Two media-only encoders measure slightly different segment sizes (their bytes are not
 * identical), so each rendition gets one BANDWIDTH from both encoders' segments: the redundant
 * variants then carry identical attributes, as players expect, and the ladders compare equal.
 */
function shareMeasuredLadder(
  primary: MasterSource | undefined,
  failover: MasterSource | undefined,
): [MasterSource | undefined, MasterSource | undefined] {
  if (!isMediaOnly(primary) || !isMediaOnly(failover)) return [primary, failover];
  const segmentsByUri = new Map<string, MediaOnlyRendition['segments'][number][]>();
  for (const r of [...primary.mediaOnly, ...failover.mediaOnly]) {
    segmentsByUri.set(r.uri, [...(segmentsByUri.get(r.uri) ?? []), ...r.segments]);
  }
  const shared = (source: MediaOnlySource): MediaOnlySource => ({
    mediaOnly: source.mediaOnly.map((r) => ({ ...r, segments: segmentsByUri.get(r.uri) ?? r.segments })),
  });
  return [shared(primary), shared(failover)];
}

function toModel(source: MasterSource, encoder: string, options: MergeOptions): MasterModel {
  if (typeof source === 'string') {
    const result = validateMasterPlaylist(source, options);
    if (!isAcceptable(result) || result.snapshot === undefined)
      throw new PlaylistInvalidError([...result.errors, ...result.policy], `${encoder} master`);
    return result.snapshot;
  }
  return 'mediaOnly' in source ? synthesizeMaster(source.mediaOnly, options) : source;
}

/**
 * A master for an encoder that writes only media playlists: BANDWIDTH is the peak segment bit
 * rate and AVERAGE-BANDWIDTH the mean (RFC 8216 §4.3.4.2), both from the sizes the caller gives.
 */
export function synthesizeMaster(
  renditions: readonly MediaOnlyRendition[],
  policy: MasterValidationOptions = {},
): MasterModel {
  const problems: string[] = [];
  if (renditions.length === 0) problems.push('no media playlist to build a master from');
  const variants = renditions.map((r, i): MasterVariant => {
    // One loop: a media-only encoder's playlist can hold thousands of segments.
    let peak = 0;
    let bits = 0;
    let seconds = 0;
    for (const segment of r.segments) {
      if (!(segment.duration > 0 && segment.bytes >= 0)) continue;
      peak = Math.max(peak, (segment.bytes * 8) / segment.duration);
      bits += segment.bytes * 8;
      seconds += segment.duration;
    }
    if (seconds === 0)
      problems.push(`${r.uri}: needs at least one segment with a duration above 0 to derive BANDWIDTH`);
    const average = seconds > 0 ? bits / seconds : 0;
    // BANDWIDTH is a decimal-integer (RFC 8216 §4.2): below 2^64, written without an exponent.
    if (!(Math.ceil(peak) < 2 ** 64))
      problems.push(
        `${r.uri}: a segment's size over its duration gives ${peak} bit/s, beyond a BANDWIDTH of 2^64−1; check the EXTINF durations`,
      );
    const attributes: Attribute[] = [
      { name: 'BANDWIDTH', raw: decimalInteger(peak) },
      { name: 'AVERAGE-BANDWIDTH', raw: decimalInteger(average) },
    ];
    // The rendition URI is an object key: it becomes a URI line of the index, so it is checked as one.
    if (/[\s"]/.test(r.uri) || r.uri === '')
      problems.push(
        `${JSON.stringify(r.uri)}: a media playlist URI holds no white space, line break or quote`,
      );
    else for (const finding of checkUri(r.uri, i + 1, policy)) problems.push(`${r.uri}: ${finding.message}`);
    if (r.codecs !== undefined) {
      if (/["\r\n]/.test(r.codecs))
        problems.push(`${r.uri}: codecs "${r.codecs}" hold a quote or line break`);
      else attributes.push({ name: 'CODECS', raw: quoted(r.codecs) });
    }
    if (r.resolution !== undefined) {
      if (/^\d+x\d+$/.test(r.resolution)) attributes.push({ name: 'RESOLUTION', raw: r.resolution });
      else problems.push(`${r.uri}: resolution "${r.resolution}" is not <width>x<height>`);
    }
    return {
      line: i + 1,
      iframe: false,
      uri: r.uri,
      uriLine: i + 1,
      attributes,
      text: formatAttributes(attributes),
    };
  });
  if (problems.length > 0) throw new ConfigInvalidError(problems);
  return { version: undefined, sessionTags: [], renditions: [], variants };
}

/** A bit rate as a decimal-integer (rounded up); out-of-range rates are reported by the caller. */
function decimalInteger(bitsPerSecond: number): string {
  const rounded = Math.ceil(bitsPerSecond);
  return rounded < 2 ** 64 ? BigInt(rounded).toString() : '0';
}

/**
 * Places an encoder's URI in the index. A URI holding `{$name}` is kept as written (the player
 * substitutes; encoding or resolving it would break the reference): prefixed like any relative
 * path, left alone when its substituted form is absolute.

 * `playlist`: the URI names a playlist (a variant, a rendition), which `folders` may move.
 */
function encoderUri(
  encoder: string,
  uri: string,
  model: MasterModel,
  options: MergeOptions,
  playlist = true,
): string {
  const dir = options.masterDirs?.[encoder] ?? '';
  const base = options.baseUrls?.[encoder];
  const folder = (playlist ? options.folders?.[encoder] : undefined) ?? `${encoder}/`;
  const prefix = base === undefined ? folder : base.endsWith('/') ? base : `${base}/`;
  const relative = dir === '' ? uri : `${dir.replace(/\/?$/, '/')}${uri}`;
  if (!hasVariableReference(uri)) return joinUri(prefix, relative);
  return hasScheme(substituteKnown(uri, model.variables ?? {})) ? uri : `${prefix}${relative}`;
}

/** A session tag as written, its URI (SESSION-DATA, SESSION-KEY) placed like every other URI. */
function sessionTagLine(tag: SessionTag, encoder: string, model: MasterModel, options: MergeOptions): string {
  if (tag.value === undefined) return `#${tag.name}`;
  if (tag.name !== 'EXT-X-SESSION-DATA' && tag.name !== 'EXT-X-SESSION-KEY')
    return `#${tag.name}:${tag.value}`;
  const attributes = readAttributeList(tag.value).attributes;
  const uri = attributeValue(attributes, 'URI');
  if (uri === undefined || isKeySystemUri(tag.name, uri)) return `#${tag.name}:${tag.value}`;
  return `#${tag.name}:${formatAttributes(
    attributes.map((a) =>
      a.name === 'URI' ? { name: a.name, raw: quoted(encoderUri(encoder, uri, model, options, false)) } : a,
    ),
  )}`;
}

function groupName(encoder: string, groupId: string): string {
  return `${encoder}-${groupId}`;
}

function rewriteRendition(
  r: MasterRendition,
  encoder: string,
  model: MasterModel,
  options: MergeOptions,
): Attribute[] {
  return r.attributes.map((a) => {
    if (a.name === 'GROUP-ID') return { name: a.name, raw: quoted(groupName(encoder, r.groupId)) };
    if (a.name === 'URI')
      return {
        name: a.name,
        raw: quoted(encoderUri(encoder, attributeValue([a], 'URI') as string, model, options)),
      };
    return a;
  });
}

function rewriteVariant(
  v: MasterVariant,
  encoder: string,
  model: MasterModel,
  steering: boolean,
  options: MergeOptions,
): Attribute[] {
  const attributes: Attribute[] = [];
  for (const a of v.attributes) {
    if (a.name === 'PATHWAY-ID') continue;
    const renamed = RENAMED_GROUP_TYPES.has(a.name);
    attributes.push(
      renamed ? { name: a.name, raw: quoted(groupName(encoder, attributeValue([a], a.name) as string)) } : a,
    );
  }
  if (v.iframe) attributes.push({ name: 'URI', raw: quoted(encoderUri(encoder, v.uri, model, options)) });
  if (steering) attributes.push({ name: 'PATHWAY-ID', raw: quoted(encoder) });
  return attributes;
}

/** What must be equal between the encoders: variants and renditions, URIs and PATHWAY-IDs aside. */
function ladderEntries(model: MasterModel): string[] {
  const describe = (kind: string, attributes: readonly Attribute[]) =>
    `${kind} ${attributes
      .filter((a) => a.name !== 'URI' && a.name !== 'PATHWAY-ID')
      .map((a) => `${a.name}=${a.raw}`)
      .sort()
      .join(',')}`;
  return [
    ...model.renditions.map((r) => describe('EXT-X-MEDIA', r.attributes)),
    ...model.variants.map((v) =>
      describe(v.iframe ? 'EXT-X-I-FRAME-STREAM-INF' : 'EXT-X-STREAM-INF', v.attributes),
    ),
  ];
}

function compareLadders(
  a: { encoder: string; model: MasterModel },
  b: { encoder: string; model: MasterModel },
): string[] {
  // Output-locked encoders write the same master: equal entries in the same order need no multiset compare.
  if (sameInOrder(a.model, b.model)) return [];
  const left = ladderEntries(a.model);
  const right = ladderEntries(b.model);
  const differences: string[] = [];
  // A multiset difference by counts: linear, where a search of the other list per entry is quadratic.
  const onlyIn = (mine: string[], theirs: string[], encoder: string) => {
    const pool = new Map<string, number>();
    for (const entry of theirs) pool.set(entry, (pool.get(entry) ?? 0) + 1);
    for (const entry of mine) {
      const left = pool.get(entry) ?? 0;
      if (left > 0) pool.set(entry, left - 1);
      else differences.push(`only ${encoder} has ${entry}`);
    }
  };
  onlyIn(left, right, a.encoder);
  onlyIn(right, left, b.encoder);
  return differences;
}

function sameInOrder(a: MasterModel, b: MasterModel): boolean {
  const sameAttributes = (x: readonly Attribute[], y: readonly Attribute[]) =>
    x.length === y.length &&
    x.every(
      (attribute, i) =>
        attribute.name === y[i]?.name &&
        (attribute.raw === y[i]?.raw || attribute.name === 'URI' || attribute.name === 'PATHWAY-ID'),
    );
  return (
    a.renditions.length === b.renditions.length &&
    a.variants.length === b.variants.length &&
    a.renditions.every((r, i) =>
      sameAttributes(r.attributes, (b.renditions[i] as MasterRendition).attributes),
    ) &&
    a.variants.every(
      (v, i) =>
        v.iframe === b.variants[i]?.iframe &&
        sameAttributes(v.attributes, (b.variants[i] as MasterVariant).attributes),
    )
  );
}

function sessionSignature(model: MasterModel): string {
  return model.sessionTags.map((t) => `${t.name}:${t.value ?? ''}`).join('\n');
}
