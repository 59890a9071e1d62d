/**
 * Variable substitution (rfc8216bis §4.3, EXT-X-DEFINE §4.4.2.3): a `{$name}` reference in a URI
 * line or a quoted-string attribute value is replaced by the value its EXT-X-DEFINE gives. The URI
 * policy applies to what a player requests, so URIs are checked after substitution.
 */
import { type Attribute, attributeValue } from './scan';
import { error, type Violation } from './violations';

const REFERENCE = /\{\$([A-Za-z0-9_-]+)\}/g;
const VARIABLE_NAME = /^[A-Za-z0-9_-]+$/;

/** True when the text holds a `{$name}` reference. */
export function hasVariableReference(text: string): boolean {
  return text.includes('{$');
}

/** The text with each `{$name}` that `values` defines replaced; other references kept as written. */
export function substituteKnown(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(REFERENCE, (reference, name: string) =>
    Object.hasOwn(values, name) ? (values[name] as string) : reference,
  );
}

/** The variables one playlist defines, in the order it defines them. */
export class Variables {
  /** Name → value; `undefined` for IMPORT and QUERYPARAM, whose values come from elsewhere. */
  private readonly values = new Map<string, string | undefined>();

  /** The NAME/VALUE definitions, for a model that carries them (imported ones excluded). */
  get defined(): Readonly<Record<string, string>> {
    // fromEntries defines own properties, so a variable named __proto__ stays a variable.
    return Object.fromEntries([...this.values].filter((e): e is [string, string] => e[1] !== undefined));
  }

  /** Takes in one EXT-X-DEFINE; returns what is wrong with it. */
  define(attributes: readonly Attribute[], line: number): Violation[] {
    const name = attributeValue(attributes, 'NAME');
    const imported = attributeValue(attributes, 'IMPORT') ?? attributeValue(attributes, 'QUERYPARAM');
    const key = name ?? imported;
    if (key === undefined || !VARIABLE_NAME.test(key))
      return [
        error(
          'define-invalid',
          'EXT-X-DEFINE needs NAME="<name>" (or IMPORT / QUERYPARAM) of letters, digits, "-" and "_"',
          line,
        ),
      ];
    if (this.values.has(key))
      return [error('define-invalid', `variable "${key}" is defined twice; define each name once`, line)];
    const value = name === undefined ? undefined : attributeValue(attributes, 'VALUE');
    if (name !== undefined && value === undefined)
      return [error('define-invalid', `EXT-X-DEFINE of "${key}" needs VALUE="<value>"`, line)];
    this.values.set(key, value);
    return [];
  }

  /**
   * The text with every reference replaced. An undefined name is a violation; an imported one
   * (value unknown here) is left as written.
   */
  substitute(text: string, line: number, violations: Violation[]): string {
    if (!hasVariableReference(text)) return text;
    return text.replace(REFERENCE, (reference, name: string) => {
      if (!this.values.has(name)) {
        violations.push(
          error(
            'variable-undefined',
            `${reference} names no variable; add #EXT-X-DEFINE:NAME="${name}",VALUE="…" before this line`,
            line,
          ),
        );
        return reference;
      }
      return this.values.get(name) ?? reference;
    });
  }
}
