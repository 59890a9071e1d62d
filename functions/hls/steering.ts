/**
 * The content steering manifest (HLS spec, "Content Steering"; Apple's steering manifest JSON):
 * `{"VERSION":1,"TTL":<s>,"RELOAD-URI":<uri>?,"PATHWAY-PRIORITY":[...]}`.
 */
import { ConfigInvalidError } from './errors';

export interface SteeringManifest {
  readonly VERSION: 1;
  readonly TTL: number;
  readonly 'RELOAD-URI'?: string;
  readonly 'PATHWAY-PRIORITY': readonly string[];
}

/** PATHWAY-ID characters allowed by the spec: [a-zA-Z0-9], '.', '-', '_'. */
export const PATHWAY_ID = /^[A-Za-z0-9._-]+$/;

/**
 * Builds the steering manifest; throws {@link ConfigInvalidError} listing every problem.
 *
 * @example buildSteeringManifest(['failover', 'primary'], 2)
 * // { VERSION: 1, TTL: 2, 'PATHWAY-PRIORITY': ['failover', 'primary'] }
 */
export function buildSteeringManifest(
  priority: readonly string[],
  ttl: number,
  reloadUri?: string,
): SteeringManifest {
  const problems: string[] = [];
  if (priority.length === 0) problems.push('PATHWAY-PRIORITY needs at least one pathway');
  for (const id of priority) {
    if (!PATHWAY_ID.test(id)) problems.push(`pathway "${id}" may use only letters, digits, '.', '-' and '_'`);
  }
  if (new Set(priority).size !== priority.length)
    problems.push(`PATHWAY-PRIORITY lists a pathway twice: ${priority.join(', ')}`);
  if (!Number.isInteger(ttl) || ttl < 1)
    problems.push(`TTL must be a whole number of seconds >= 1 (got ${ttl})`);
  if (reloadUri !== undefined && /[\s"]/.test(reloadUri))
    problems.push(`RELOAD-URI "${reloadUri}" holds spaces or quotes`);
  if (problems.length > 0) throw new ConfigInvalidError(problems);
  return reloadUri === undefined
    ? { VERSION: 1, TTL: ttl, 'PATHWAY-PRIORITY': [...priority] }
    : { VERSION: 1, TTL: ttl, 'RELOAD-URI': reloadUri, 'PATHWAY-PRIORITY': [...priority] };
}

/** Serializes a steering manifest deterministically (key order fixed, trailing newline). */
export function stringifySteeringManifest(manifest: SteeringManifest): string {
  return `${JSON.stringify(manifest)}\n`;
}
