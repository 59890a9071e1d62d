/**
 * URI policy for what an encoder writes: relative paths that stay inside the encoder's folder,
 * or absolute http(s) URLs to hosts the operator allowed. Anything else (`..` above the folder,
 * root-relative paths, other schemes such as `javascript:` or `file:`) is a hosting-policy
 * finding (severity `policy`): valid HLS, but the merged index must never send a viewer somewhere
 * the channel does not own, so the workflow and the merge refuse it.
 */
import { policy as finding, type Violation } from './violations';

export interface UriPolicy {
  /** Hosts that absolute http(s) URIs may point to. @default none */
  readonly allowedHosts?: readonly string[];
}

/** A URI scheme (`http:`, `skd:`, `data:` …): the URI is absolute. */
export const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;
/** Path characters that URL resolution leaves unchanged, with no '.' or '..' segment. */
const PLAIN_PATH =
  /^(?!\.{1,2}(?:\/|$))(?:[A-Za-z0-9_~!$&'()*+,;=:@%-]|\.(?!\.?(?:\/|$))|\/(?!\.{1,2}(?:\/|$)))+$/;

/** Checks one URI (after variable substitution) found on `line`; returns the policy findings. */
export function checkUri(uri: string, line: number, policy: UriPolicy): Violation[] {
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme !== 'http' && scheme !== 'https') {
      return [
        finding(
          'uri-scheme',
          `"${truncate(uri)}" uses the ${scheme}: scheme; use a relative path or http(s)`,
          line,
        ),
      ];
    }
    let host: string;
    try {
      host = new URL(uri).hostname;
    } catch {
      return [finding('uri-scheme', `"${truncate(uri)}" is not a valid URL`, line)];
    }
    return (policy.allowedHosts ?? []).includes(host)
      ? []
      : [
          finding(
            'uri-absolute',
            `"${truncate(uri)}" points to host ${host}; use a path relative to the encoder folder or add ${host} to allowedHosts`,
            line,
          ),
        ];
  }
  if (uri.startsWith('/') || uri.startsWith('\\')) {
    return [
      finding(
        'uri-absolute',
        `"${truncate(uri)}" is root-relative; make it relative to the encoder folder`,
        line,
      ),
    ];
  }
  if (escapesFolder(uri)) {
    return [
      finding('uri-escapes-folder', `"${truncate(uri)}" climbs above the encoder's folder with '..'`, line),
    ];
  }
  return [];
}

/** True when a relative reference climbs above its base folder ('..', also percent-encoded or with backslashes). */
export function escapesFolder(uri: string): boolean {
  if (!uri.includes('..') && !uri.includes('%')) return false;
  const path = uri.split(/[?#]/, 1)[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = path;
  }
  let depth = 0;
  for (const part of decoded.split(/[/\\]/)) {
    if (part === '..') depth--;
    else if (part !== '.' && part !== '') depth++;
    if (depth < 0) return true;
  }
  return false;
}

/**
 * Joins a relative reference onto a folder prefix ('primary/', 'https://cdn/x/'), resolving '.'
 * and '..' the way a player would. The reference must already have passed {@link checkUri}.
 */
export function joinUri(prefix: string, relative: string): string {
  if (SCHEME.test(relative)) return relative;
  // The common case, a plain path under a relative prefix, needs no URL parsing.
  if (!SCHEME.test(prefix) && PLAIN_PATH.test(relative)) return prefix + relative;
  const base = new URL(prefix, 'http://relative.invalid/');
  const resolved = new URL(relative, base);
  if (resolved.origin === 'http://relative.invalid')
    return resolved.href.slice('http://relative.invalid/'.length);
  return resolved.href;
}

/** True when the URI starts with a scheme (`https:`, `skd:`, ...): it is absolute. */
export function hasScheme(uri: string): boolean {
  return SCHEME.test(uri);
}

/**
 * A key URI a DRM system resolves itself (FairPlay `skd:`, Widevine/PlayReady `data:`) on
 * EXT-X-KEY / EXT-X-SESSION-KEY: no request to a host, so the URI policy does not apply.
 */
export function isKeySystemUri(tag: string, uri: string): boolean {
  return (tag === 'EXT-X-KEY' || tag === 'EXT-X-SESSION-KEY') && /^(?:skd|data):/i.test(uri);
}

function truncate(uri: string): string {
  return uri.length > 80 ? `${uri.slice(0, 77)}...` : uri;
}
