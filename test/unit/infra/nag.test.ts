/**
 * cdk-nag (AwsSolutions) runs on every synth and fails it on any finding not acknowledged; each
 * acknowledgement sits on one resource and says why.
 */
import { type App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildApp } from './support';

const CERTIFICATE = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666';

/** Unacknowledged findings: rule and construct path. */
function findings(app: App): string[] {
  const report = new AwsSolutionsChecks().validateScope(app);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`),
  );
}

/** Every acknowledgement in the tree: where, which rule, why. */
function acknowledgements(
  root: IConstruct,
): { path: string; construct: IConstruct; id: string; reason: string }[] {
  const found: { path: string; construct: IConstruct; id: string; reason: string }[] = [];
  const walk = (c: IConstruct) => {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: c.node.path, construct: c, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
    for (const child of c.node.children) walk(child);
  };
  walk(root);
  return found.filter((a) => a.id.startsWith('AwsSolutions-'));
}

describe('the stack passes AwsSolutions with no unacknowledged finding', () => {
  it.each([
    ['the defaults', {}],
    [
      'an existing bucket, a custom domain, channels and quieter logs',
      {
        bucketName: 'my-live-origin',
        domainName: 'live.example.com',
        certificateArn: CERTIFICATE,
        channels: 'news,sport',
        alertEmails: 'oncall@example.com',
        logLevel: 'ERROR',
        encoders: 'cam-a,cam-b',
        statePrefix: 'state/',
      },
    ],
    ['the full execution log and X-Ray tracing', { logLevel: 'ALL', tracing: 'true' }],
  ])('with %s', (_, context) => {
    const { app } = buildApp(context);
    expect(findings(app)).toEqual([]);
    expect(() => app.synth()).not.toThrow();
  });
});

describe('the checks really run', () => {
  it('fail synth on a non-compliant resource added to the stack', () => {
    const { app, stack } = buildApp();
    new sqs.Queue(stack, 'PlainQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(findings(app)).toEqual(
      expect.arrayContaining([
        'AwsSolutions-SQS3 @ HlsFailover/PlainQueue/Resource',
        'AwsSolutions-SQS4 @ HlsFailover/PlainQueue/Resource',
      ]),
    );
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });

  it("do not let one resource's acknowledgement cover another of the same kind", () => {
    const { app, stack } = buildApp();
    new s3.Bucket(stack, 'UnloggedBucket', {
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    });
    expect(findings(app)).toEqual(['AwsSolutions-S1 @ HlsFailover/UnloggedBucket/Resource']);
  });

  it('report wildcard resources outside the acknowledged ones', () => {
    const { app, stack } = buildApp();
    stack.functions.publishMetrics.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`${stack.bucket.bucketArn}/*`],
      }),
    );
    expect(findings(app)).toEqual([
      expect.stringMatching(
        /^AwsSolutions-IAM5\[Resource::<StorageBucket\w+\.Arn>\/\*\] @ HlsFailover\/PublishMetrics\/Role/,
      ),
    ]);
  });
});

describe('acknowledgements', () => {
  let built: ReturnType<typeof buildApp>;
  let all: ReturnType<typeof acknowledgements>;
  beforeAll(() => {
    built = buildApp();
    all = acknowledgements(built.app);
  });

  it('each name one resource, never the app or the stack, and give a specific reason', () => {
    expect(all.length).toBeGreaterThan(0);
    for (const a of all) {
      expect(a.construct).not.toBe(built.app);
      expect(a.construct).not.toBe(built.stack);
      expect(Stack.isStack(a.construct)).toBe(false);
      expect(a.reason.length).toBeGreaterThanOrEqual(40);
    }
  });

  it('are exactly these rules (the defaults: logLevel ERROR, no X-Ray)', () => {
    const rules = [
      ...new Set(
        all.map((a) => `${a.path.replace(/^HlsFailover\//, '')}: ${a.id.replace(/\[.*\]$/, '[…]')}`),
      ),
    ];
    expect(rules.sort()).toEqual(
      [
        'CheckFreshness: AwsSolutions-IAM5[…]',
        'DeadLetterQueue: AwsSolutions-SQS3',
        'Encoder1Policy: AwsSolutions-IAM5[…]',
        'Encoder2Policy: AwsSolutions-IAM5[…]',
        'MergeIndex: AwsSolutions-IAM5[…]',
        'Playback/Distribution: AwsSolutions-CFR1',
        'Playback/Distribution: AwsSolutions-CFR2',
        'Playback/Distribution: AwsSolutions-CFR4',
        'StateMachine/Role: AwsSolutions-IAM5[…]',
        'StateMachine: AwsSolutions-SF1',
        'StateMachine: AwsSolutions-SF2',
        'Storage/AccessLogs: AwsSolutions-S1',
        'ValidatePlaylist: AwsSolutions-IAM5[…]',
        'Watchdog: AwsSolutions-IAM5[…]',
        'WithdrawPlaylists: AwsSolutions-IAM5[…]',
      ].sort(),
    );
  });

  it('acknowledge CFR4 only while the default certificate is in use', () => {
    const custom = acknowledgements(
      buildApp({ domainName: 'live.example.com', certificateArn: CERTIFICATE }).app,
    );
    expect(custom.map((a) => a.id)).not.toContain('AwsSolutions-CFR4');
    expect(all.find((a) => a.id === 'AwsSolutions-CFR4')?.reason).toBe(
      'default CloudFront certificate; set domainName and certificateArn for TLSv1.2_2021',
    );
  });

  it('acknowledge SF1 and SF2 only while the state machine logs less than ALL and traces nothing, saying where the audit trail is', () => {
    expect(all.find((a) => a.id === 'AwsSolutions-SF1')?.reason).toMatch(
      /^logLevel=ERROR: the audit trail is one record per execution that changed something, in the PublishHealthMetrics log/,
    );
    expect(all.find((a) => a.id === 'AwsSolutions-SF2')?.reason).toMatch(/^X-Ray tracing is off by default/);
    const full = acknowledgements(buildApp({ logLevel: 'ALL', tracing: 'true' }).app).map((a) => a.id);
    expect(full).not.toContain('AwsSolutions-SF1');
    expect(full).not.toContain('AwsSolutions-SF2');
    expect(full).toContain('AwsSolutions-IAM5[Resource::*]');
  });
});
