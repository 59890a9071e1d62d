/**
 * IAM as AWS would apply it, for the local runtime: an {@link Authorizer} that evaluates every local
 * AWS call against the calling role's policies from the synthesized template, and the resource
 * policy of the resource called, with `@cloud-copilot/iam-simulate` (no hand-written matcher).
 *
 * What is evaluated:
 * - identity policies: each `AWS::IAM::Role`'s inline `Policies`, the `AWS::IAM::Policy` and
 *   `AWS::IAM::ManagedPolicy` resources attached to it (`Roles`), and template managed policies it
 *   names in `ManagedPolicyArns`. AWS managed policies (`arn:aws:iam::aws:policy/…`, e.g.
 *   AWSLambdaBasicExecutionRole) and other policies outside the template have no document here: they
 *   grant nothing locally, and a denial names them;
 * - resource policies: `AWS::S3::BucketPolicy` (its bucket and the bucket's objects),
 *   `AWS::SNS::TopicPolicy` (its topics) and the `KeyPolicy` of each `AWS::KMS::Key`;
 * - `sns:Publish` to a topic encrypted with a key of the template also needs `kms:GenerateDataKey`
 *   and `kms:Decrypt` on that key, as SNS asks KMS with the publisher's permissions: both are
 *   evaluated with the key policy (which must trust the account for IAM policies to count).
 *
 * Every call is made over TLS on AWS, so requests carry `aws:SecureTransport: true` (and
 * `s3:TlsVersion` 1.3 for S3) unless their context says otherwise; the principal is the role's
 * session (`arn:aws:sts::<account>:assumed-role/<role name>/local`).
 */
import {
  createValidatedPolicy,
  type ValidatedPolicy,
  type ValidationError,
  validateIdentityPolicy,
  validateResourcePolicy,
} from '@cloud-copilot/iam-policy';
import { runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { AccessDeniedError, type Authorizer, type AwsRequest } from './aws-request';
import type { Template, TemplateResource } from './cloudformation';

type Policy = ValidatedPolicy<{ name: string }>;

interface Role {
  readonly sessionArn: string;
  readonly roleArn: string;
  readonly policies: readonly Policy[];
  /** Managed policy ARNs the template attaches but does not hold (AWS managed ones). */
  readonly notEvaluated: readonly string[];
}

interface PolicyStatement {
  readonly Effect?: string;
  readonly Sid?: string;
}

/** Evaluations kept before the cache starts over (the keys the handlers use are few and repeat). */
const CACHE_LIMIT = 10_000;

/**
 * Creates the authorizer for a synthesized template resolved for a local account.
 * Throws naming the policy when a policy of the template is not a valid IAM policy.
 *
 * @example
 * const authorize = createIamAuthorizer(stack.template, createResolver(stack.template, account));
 * authorize({ role: 'MergeIndexRole61DE88D2', action: 's3:PutObject', resource: 'arn:aws:s3:::media/ch1/primary/index.m3u8' });
 * // throws AccessDeniedError: … (explicit deny by statement "NeverWriteUnderEncoderFolders" of MergeIndexRoleDefaultPolicy…)
 */
export function createIamAuthorizer(template: Template, resolve: (value: unknown) => unknown): Authorizer {
  const text = (value: unknown) => String(resolve(value));
  const accountId = text({ Ref: 'AWS::AccountId' });
  const partition = text({ Ref: 'AWS::Partition' });
  const region = text({ Ref: 'AWS::Region' });
  const resources = Object.entries(template.Resources).filter(
    ([, r]) => r.Condition === undefined || resolve({ Condition: r.Condition }) === true,
  );
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const props = (resource: TemplateResource) => resource.Properties ?? {};
  const refs = (value: unknown) =>
    (Array.isArray(value) ? value : []).map((v) => (v as { Ref?: string }).Ref);

  const problems: string[] = [];
  const validated = (
    document: unknown,
    name: string,
    validate: (policy: unknown) => ValidationError[],
  ): Policy => {
    const policy = createValidatedPolicy(resolve(document), validate, { name });
    for (const error of policy.errors) problems.push(`${name}: ${error.message} (at ${error.path})`);
    return policy;
  };

  // Identity policies, by role logical ID.
  const attached = new Map<string, Policy[]>();
  const attach = (role: string, policy: Policy) =>
    attached.set(role, [...(attached.get(role) ?? []), policy]);
  const managed = new Map<string, Policy>();
  for (const [id, resource] of [...ofType('AWS::IAM::Policy'), ...ofType('AWS::IAM::ManagedPolicy')]) {
    const policy = validated(props(resource).PolicyDocument, id, validateIdentityPolicy);
    if (resource.Type === 'AWS::IAM::ManagedPolicy') managed.set(id, policy);
    for (const role of refs(props(resource).Roles)) if (role !== undefined) attach(role, policy);
  }
  const roles = new Map<string, Role>();
  for (const [id, resource] of ofType('AWS::IAM::Role')) {
    const { Policies, ManagedPolicyArns } = props(resource);
    const inline = ((Policies ?? []) as { PolicyName: unknown; PolicyDocument: unknown }[]).map((p) =>
      validated(p.PolicyDocument, `${id}/${text(p.PolicyName)}`, validateIdentityPolicy),
    );
    const named = (Array.isArray(ManagedPolicyArns) ? ManagedPolicyArns : []).map((arn) => {
      const ref = (arn as { Ref?: string }).Ref;
      return (ref === undefined ? undefined : managed.get(ref)) ?? text(arn);
    });
    const roleName = text({ Ref: id });
    roles.set(id, {
      roleArn: `arn:${partition}:iam::${accountId}:role/${roleName}`,
      sessionArn: `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/local`,
      policies: [
        ...inline,
        ...named.filter((p): p is Policy => typeof p !== 'string'),
        ...(attached.get(id) ?? []),
      ].filter((p, i, all) => all.indexOf(p) === i),
      notEvaluated: named.filter((p): p is string => typeof p === 'string'),
    });
  }

  // Resource policies, by the ARN they protect (an S3 bucket's also covers its objects).
  const resourcePolicies = new Map<string, Policy>();
  for (const [id, resource] of ofType('AWS::S3::BucketPolicy')) {
    const { Bucket, PolicyDocument } = props(resource);
    resourcePolicies.set(
      `arn:${partition}:s3:::${text(Bucket)}`,
      validated(PolicyDocument, id, validateResourcePolicy),
    );
  }
  for (const [id, resource] of ofType('AWS::SNS::TopicPolicy')) {
    const { Topics, PolicyDocument } = props(resource);
    const policy = validated(PolicyDocument, id, validateResourcePolicy);
    for (const topic of (Topics ?? []) as unknown[]) resourcePolicies.set(text(topic), policy);
  }
  for (const [id, resource] of ofType('AWS::KMS::Key')) {
    const policy = validated(props(resource).KeyPolicy, `${id}.KeyPolicy`, validateResourcePolicy);
    resourcePolicies.set(text({ 'Fn::GetAtt': [id, 'Arn'] }), policy);
  }
  const topicKeys = new Map<string, string>();
  for (const [id, resource] of ofType('AWS::SNS::Topic')) {
    const key = props(resource).KmsMasterKeyId;
    if (key !== undefined) topicKeys.set(text({ Ref: id }), text(key));
  }
  if (problems.length > 0)
    throw new Error(`the template's IAM policies are not valid:\n- ${problems.join('\n- ')}`);

  /** A resource policy that leaves the decision to the account's IAM policies (as a key policy's root statement does). */
  const trustTheAccount = createValidatedPolicy(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
          Action: '*',
          Resource: '*',
        },
      ],
    },
    validateResourcePolicy,
    { name: 'trust the account' },
  );

  const resourcePolicyOf = (arn: string): Policy | undefined => {
    const s3 = /^(arn:[^:]+:s3:::[^/]+)/.exec(arn);
    return resourcePolicies.get(s3?.[1] ?? arn);
  };

  const simulate = (
    role: Role,
    request: AwsRequest,
    identityPolicies: readonly Policy[],
    resourcePolicy: Policy | undefined,
  ) => {
    const simulation: Simulation = {
      request: {
        principal: role.sessionArn,
        action: request.action,
        // An ARN without an account (S3) is a resource of this account: the stack's own bucket.
        resource: { resource: request.resource, accountId: request.resource.split(':')[4] || accountId },
        contextVariables: {
          'aws:SecureTransport': 'true',
          'aws:PrincipalArn': role.roleArn,
          'aws:PrincipalAccount': accountId,
          'aws:PrincipalType': 'AssumedRole',
          'aws:RequestedRegion': region,
          ...(request.action.startsWith('s3:') ? { 's3:TlsVersion': '1.3' } : {}),
          ...(request.context as Record<string, string | string[]> | undefined),
        },
      },
      identityPolicies: identityPolicies.map((policy) => ({ name: policy.metadata?.name ?? '', policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy === undefined ? {} : { resourcePolicy }),
    };
    return runUnsafeSimulation(simulation, { simulationMode: 'Strict' });
  };

  /** Why a request was denied: the deny statement that matched, or what no statement allows. */
  const reasonFor = (role: Role, request: AwsRequest, resourcePolicy: Policy | undefined): string => {
    const denies = [
      ...role.policies.map((p) => ({
        policy: p,
        alone: (q: Policy) => simulate(role, request, [q], undefined),
      })),
      ...(resourcePolicy === undefined
        ? []
        : [{ policy: resourcePolicy, alone: (q: Policy) => simulate(role, request, [], q) }]),
    ];
    for (const { policy, alone } of denies) {
      const statements = [policy.policyDocument.Statement].flat() as PolicyStatement[];
      for (const [index, statement] of statements.entries()) {
        if (statement.Effect !== 'Deny') continue;
        const single = createValidatedPolicy({ ...policy.policyDocument, Statement: [statement] }, () => [], {
          name: policy.metadata?.name ?? '',
        });
        if (alone(single) === 'ExplicitlyDenied') {
          const which = statement.Sid === undefined ? `#${index + 1}` : `"${statement.Sid}"`;
          return `explicit deny by statement ${which} of ${policy.metadata?.name}`;
        }
      }
    }
    const unevaluated =
      role.notEvaluated.length === 0 ? '' : `; not evaluated locally: ${role.notEvaluated.join(', ')}`;
    if (resourcePolicy !== undefined && simulate(role, request, role.policies, trustTheAccount) === 'Allowed')
      return `implicit deny: the resource policy ${resourcePolicy.metadata?.name} does not allow it${unevaluated}`;
    const names = role.policies.map((p) => p.metadata?.name).join(', ') || 'none';
    return `implicit deny: no statement of the role's policies (${names}) allows it${unevaluated}`;
  };

  const decide = (request: AwsRequest): string | undefined => {
    const role = roles.get(request.role);
    if (role === undefined) return 'implicit deny: the template has no such role';
    const resourcePolicy = resourcePolicyOf(request.resource);
    const result = simulate(role, request, role.policies, resourcePolicy);
    return result === 'Allowed' ? undefined : reasonFor(role, request, resourcePolicy);
  };

  const cache = new Map<string, string | undefined>();
  const check = (request: AwsRequest): void => {
    const key = JSON.stringify([request.role, request.action, request.resource, request.context]);
    let reason = cache.get(key);
    if (!cache.has(key)) {
      if (cache.size >= CACHE_LIMIT) cache.clear();
      reason = decide(request);
      cache.set(key, reason);
    }
    if (reason !== undefined) throw new AccessDeniedError(request, reason);
  };

  return (request) => {
    check(request);
    // SNS encrypts with the topic's key using the publisher's permissions.
    const key = request.action === 'sns:Publish' ? topicKeys.get(request.resource) : undefined;
    if (key === undefined) return;
    const viaSns = { 'kms:ViaService': `sns.${region}.amazonaws.com`, 'kms:CallerAccount': accountId };
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt'])
      check({ role: request.role, action, resource: key, context: { ...viaSns, ...request.context } });
  };
}
