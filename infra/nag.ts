/**
 * cdk-nag v3 acknowledgements, always on one construct (never the whole stack) and always with the
 * reason. v3 acknowledges each finding of a multi-finding rule (IAM5) by its own id,
 * `AwsSolutions-IAM5[Resource::<resource as cdk-nag prints it>]`.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** A resource ARN with a wildcard, and why the wildcard is needed. */
export interface WildcardResource {
  /** The ARN as given to the policy statement (may hold tokens). */
  readonly arn: string;
  /** Why this resource needs a wildcard. */
  readonly reason: string;
}

/** Acknowledges one cdk-nag rule on `scope` (and the resources below it) with a specific reason. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * Acknowledges AwsSolutions-IAM5 for exactly these wildcard resources of the policies under `scope`;
 * any other wildcard still fails synth.
 */
export function acknowledgeWildcardResources(
  scope: IConstruct,
  resources: readonly WildcardResource[],
): void {
  const seen = new Set<string>();
  for (const { arn, reason } of resources) {
    const id = `AwsSolutions-IAM5[Resource::${nagResourceName(scope, arn)}]`;
    if (seen.has(id)) continue;
    seen.add(id);
    acknowledge(scope, id, reason);
  }
}

/**
 * A resource the way cdk-nag names it in a finding: the resolved value with `Fn::Join` joined,
 * `Fn::GetAtt` as `<LogicalId.Attr>` and `Ref` as `<LogicalId>` (cdk-nag's flattenCfnReference).
 */
export function nagResourceName(scope: IConstruct, value: string): string {
  return flatten(Stack.of(scope).resolve(value));
}

function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const o = node as Record<string, unknown>;
    if (Array.isArray(o['Fn::Join'])) {
      const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (o['Fn::Sub'] !== undefined) return flatten(o['Fn::Sub']);
    if (Array.isArray(o['Fn::GetAtt'])) {
      const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (o['Fn::ImportValue'] !== undefined) return flatten(o['Fn::ImportValue']);
    if (o.Ref !== undefined) return `<${flatten(o.Ref)}>`;
  }
  return JSON.stringify(node);
}
