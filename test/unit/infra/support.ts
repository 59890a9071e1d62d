/**
 * Builds the app the way `npx cdk synth` does (same factory, same cdk.json feature flags, cdk-nag on),
 * minus esbuild bundling, which changes only the asset hashes and takes seconds per function.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { createApp, type HlsFailoverApp } from '../../../infra/create-app';

const CDK_JSON = join(__dirname, '..', '..', '..', 'cdk.json');

/** The context of cdk.json (feature flags). */
export function cdkJsonContext(): Record<string, unknown> {
  const parsed = JSON.parse(readFileSync(CDK_JSON, 'utf8')) as { context?: Record<string, unknown> };
  return parsed.context ?? {};
}

/**
 * The app with these settings (what a settings file would hold; none: every default) and this context
 * on top of cdk.json's, without bundling. Independent of the committed deploy/settings.jsonc.
 */
export function buildApp(
  settings: Record<string, unknown> = {},
  context: Record<string, unknown> = {},
): HlsFailoverApp {
  return createApp({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context },
    settings,
  });
}

/** The synthesized stack template (synth runs cdk-nag: it throws on an unacknowledged finding). */
export function synthesize(settings: Record<string, unknown> = {}): HlsFailoverApp & { template: Template } {
  const built = buildApp(settings);
  return { ...built, template: Template.fromStack(built.stack) };
}

/** Logical id of a construct's CloudFormation resource. */
export function logicalId(built: HlsFailoverApp, construct: { node: { defaultChild?: unknown } }): string {
  const child = construct.node.defaultChild;
  if (child === undefined) throw new Error('construct has no default child');
  return built.stack.getLogicalId(child as Parameters<typeof built.stack.getLogicalId>[0]);
}

/** Every statement of every AWS::IAM::Policy in the template, with the policy's roles. */
export function policyStatements(
  template: Template,
): { policy: string; roles: string[]; statement: PolicyStatementJson }[] {
  return Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([policy, resource]) => {
    const roles = ((resource.Properties.Roles ?? []) as { Ref: string }[]).map((r) => r.Ref);
    return (resource.Properties.PolicyDocument.Statement as PolicyStatementJson[]).map((statement) => ({
      policy,
      roles,
      statement,
    }));
  });
}

export interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** A statement's field as a list. */
export function asList<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** `arn + suffix` the way CloudFormation holds it for a GetAtt Arn. */
export function objectArn(bucketLogicalId: string, suffix: string) {
  return { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketLogicalId, 'Arn'] }, suffix]] };
}
