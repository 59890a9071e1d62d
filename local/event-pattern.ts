/**
 * EventBridge event-pattern matching for the subset the workflow's rule uses (exact values,
 * `wildcard`, `prefix`, `suffix`, `anything-but` of values, nested objects), so the local runtime
 * filters events with the same pattern object the CDK rule deploys.
 */
type Pattern = { readonly [field: string]: Pattern | readonly unknown[] };

function matchesValue(rule: unknown, value: unknown): boolean {
  if (rule === null || typeof rule !== 'object') return rule === value;
  const r = rule as Record<string, unknown>;
  if (typeof value !== 'string') return false;
  if (typeof r.wildcard === 'string') {
    const regex = new RegExp(
      `^${r.wildcard
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      's',
    );
    return regex.test(value);
  }
  if (typeof r.prefix === 'string') return value.startsWith(r.prefix);
  if (typeof r.suffix === 'string') return value.endsWith(r.suffix);
  if ('anything-but' in r) {
    const excluded = r['anything-but'];
    return !(Array.isArray(excluded) ? excluded : [excluded]).includes(value);
  }
  throw new Error(`unsupported event pattern operator: ${JSON.stringify(rule)}`);
}

/** True when `event` matches `pattern` (EventBridge semantics for the supported operators). */
export function matchesEventPattern(pattern: Pattern, event: unknown): boolean {
  if (event === null || typeof event !== 'object') return false;
  const e = event as Record<string, unknown>;
  return Object.entries(pattern).every(([field, rule]) => {
    const value = e[field];
    if (Array.isArray(rule)) return rule.some((r) => matchesValue(r, value));
    return matchesEventPattern(rule as Pattern, value);
  });
}
