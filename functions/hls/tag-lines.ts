/**
 * What every tag and URI line gets in both kinds of playlist: attribute-list syntax (RFC 8216
 * §4.2), EXT-X-DEFINE variables (rfc8216bis §4.3), and the URI policy applied after substitution
 * to every URI a player requests (URI lines and URI attributes).
 */
import { type Attribute, attributeValue, readAttributeList } from './scan';
import { ATTRIBUTE_LIST_TAGS, URI_ATTRIBUTE_TAGS } from './tags';
import { checkUri, isKeySystemUri, type UriPolicy } from './uris';
import { Variables } from './variables';
import { error, type Violation } from './violations';

export class TagChecker {
  readonly variables = new Variables();

  constructor(
    private readonly violations: Violation[],
    private readonly policy: UriPolicy,
  ) {}

  /**
   * The attributes of an attribute-list tag, with its syntax, its DEFINE and its URI attribute
   * checked; undefined for tags whose value is not an attribute list.
   */
  attributes(name: string, value: string | undefined, line: number): Attribute[] | undefined {
    if (!ATTRIBUTE_LIST_TAGS.has(name)) return undefined;
    const list = readAttributeList(value);
    for (const problem of list.problems)
      this.violations.push(error('attribute-list-invalid', `${name}: ${problem}`, line));
    for (const duplicate of new Set(list.duplicates))
      this.violations.push(
        error('attribute-duplicate', `${name} gives ${duplicate} more than once; keep one`, line),
      );
    if (name === 'EXT-X-DEFINE') {
      this.violations.push(...this.variables.define(list.attributes, line));
      return list.attributes;
    }
    for (const a of list.attributes) {
      // Quoted-strings may hold references too (rfc8216bis §4.3); an undefined one is an error.
      if (a.name !== 'URI' && a.raw.startsWith('"')) this.variables.substitute(a.raw, line, this.violations);
    }
    if (URI_ATTRIBUTE_TAGS.has(name)) {
      const uri = attributeValue(list.attributes, 'URI');
      if (uri !== undefined && !isKeySystemUri(name, uri)) this.uri(uri, line);
    }
    return list.attributes;
  }

  /** A URI as a player requests it (variables substituted), checked against the policy. */
  uri(raw: string, line: number): string {
    const uri = this.variables.substitute(raw, line, this.violations);
    this.violations.push(...checkUri(uri, line, this.policy));
    return uri;
  }
}
