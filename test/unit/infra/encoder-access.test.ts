/**
 * Objects the workflow owns are not writable by encoders (issue 16 §2): the stack offers one managed
 * policy per encoder folder, and an encoder holding it may write its own folder of any channel and
 * nothing else. Checked on the template's properties, then evaluated as IAM would with
 * @cloud-copilot/iam-simulate (local/iam.ts) for a role that holds the policy, as an operator attaches
 * it, together with the bucket policy.
 */

import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { HlsFailoverApp } from '../../../infra/create-app';
import { AccessDeniedError } from '../../../local/aws-request';
import { createResolver, type Template as TemplateJson } from '../../../local/cloudformation';
import { createIamAuthorizer } from '../../../local/iam';
import { buildApp, logicalId, objectArn } from './support';

const BUCKET = 'media';
const S3 = `arn:aws:s3:::${BUCKET}`;

let built: HlsFailoverApp;
let template: Template;
/** Logical ids of two roles, each holding one encoder's policy. */
const roles: Record<string, string> = {};
let authorize: ReturnType<typeof createIamAuthorizer>;

beforeAll(() => {
  built = buildApp();
  for (const encoder of ['primary', 'failover']) {
    const policy = built.stack.encoderPolicies[encoder];
    if (policy === undefined) throw new Error(`no encoder policy for ${encoder}`);
    const role = new iam.Role(built.stack, `${encoder}EncoderRole`, {
      assumedBy: new iam.AccountRootPrincipal(),
      managedPolicies: [policy],
    });
    roles[encoder] = logicalId(built, role);
  }
  template = Template.fromStack(built.stack);
  const json = template.toJSON() as TemplateJson;
  const resolve = createResolver(json, {
    region: 'us-east-1',
    accountId: '000000000000',
    partition: 'aws',
    stackName: 'hls-failover',
    physicalNames: { [logicalId(built, built.stack.bucket)]: BUCKET },
  });
  authorize = createIamAuthorizer(json, resolve);
});

/** Whether the role holding `encoder`'s policy may perform `action` on `resource`. */
function allowed(encoder: string, action: string, resource: string): boolean {
  try {
    authorize({ role: roles[encoder] as string, action, resource });
    return true;
  } catch (error) {
    if (error instanceof AccessDeniedError) return false;
    throw error;
  }
}

describe('the encoder policies in the template', () => {
  it('are one managed policy per encoder folder: upload, abort an upload and delete under that folder of any channel, and nothing else', () => {
    const bucketId = logicalId(built, built.stack.bucket);
    for (const encoder of ['primary', 'failover']) {
      template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
        Description: Match.stringLikeRegexp(`<channel>/${encoder}/`),
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'WriteOwnEncoderFolder',
              Effect: 'Allow',
              Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:PutObject'],
              Resource: [objectArn(bucketId, `/*/${encoder}/*`), objectArn(bucketId, `/${encoder}/*`)],
            },
          ],
        },
      });
    }
    expect(Object.keys(template.findResources('AWS::IAM::ManagedPolicy'))).toHaveLength(2);
  });

  it('are not attached to anything by the stack (the operator attaches each to its encoder)', () => {
    for (const policy of Object.values(template.findResources('AWS::IAM::ManagedPolicy'))) {
      expect(policy.Properties).not.toHaveProperty('Roles');
      expect(policy.Properties).not.toHaveProperty('Users');
      expect(policy.Properties).not.toHaveProperty('Groups');
    }
  });

  it('are exported, each output naming its folder', () => {
    const outputs = template.findOutputs('*');
    for (const [n, encoder] of [
      [1, 'primary'],
      [2, 'failover'],
    ] as const) {
      const policy = built.stack.encoderPolicies[encoder];
      expect(outputs[`Encoder${n}PolicyArn`]).toEqual({
        Description: expect.stringContaining(`<channel>/${encoder}/`),
        Value: { Ref: logicalId(built, policy as iam.ManagedPolicy) },
      });
    }
  });

  it('follow the encoders setting', () => {
    const custom = Template.fromStack(buildApp({ encoders: 'cam-a,cam-b' }).stack);
    const resources = Object.values(custom.findResources('AWS::IAM::ManagedPolicy')).map((p) =>
      JSON.stringify(p.Properties.PolicyDocument),
    );
    expect(resources).toEqual([expect.stringContaining('/cam-a/*'), expect.stringContaining('/cam-b/*')]);
    expect(resources.join()).not.toContain('primary');
  });
});

describe('evaluated as IAM does (iam-simulate), for a role holding one encoder policy', () => {
  it.each([
    ['primary', `${S3}/ch/primary/720p.m3u8`],
    ['primary', `${S3}/ch/primary/master.m3u8`],
    ['primary', `${S3}/ch/primary/index.m3u8`],
    ['primary', `${S3}/sports/ch2/primary/720p/seg_1.ts`],
    ['primary', `${S3}/primary/720p.m3u8`],
    ['failover', `${S3}/ch/failover/x.ts`],
  ])('the %s encoder may put %s', (encoder, resource) => {
    expect(allowed(encoder, 's3:PutObject', resource)).toBe(true);
  });

  it('an encoder may delete its old segments and abort its own multipart uploads', () => {
    expect(allowed('primary', 's3:DeleteObject', `${S3}/ch/primary/seg_1.ts`)).toBe(true);
    expect(allowed('primary', 's3:AbortMultipartUpload', `${S3}/ch/primary/seg_2.ts`)).toBe(true);
  });

  it.each([
    ['index.m3u8 of a channel', `${S3}/ch/index.m3u8`],
    ['steering.json of a channel', `${S3}/ch/steering.json`],
    ['index.m3u8 of the single-channel layout', `${S3}/index.m3u8`],
    ['steering.json of the single-channel layout', `${S3}/steering.json`],
    ["the other encoder's folder", `${S3}/ch/failover/720p.m3u8`],
    ['a key outside every encoder folder', `${S3}/other-prefix/ch/720p.m3u8`],
    ['a folder named like the encoder but longer', `${S3}/ch/primary-2/720p.m3u8`],
    ['the state prefix', `${S3}/_hls-failover/state.json`],
    ['another bucket', 'arn:aws:s3:::other-bucket/ch/primary/720p.m3u8'],
  ])('the primary encoder may not put %s', (_, resource) => {
    expect(allowed('primary', 's3:PutObject', resource)).toBe(false);
  });

  it('an encoder may not delete what the workflow owns', () => {
    for (const key of ['ch/index.m3u8', 'ch/steering.json', 'index.m3u8'])
      expect(allowed('primary', 's3:DeleteObject', `${S3}/${key}`)).toBe(false);
  });

  it('".." is not a way out: S3 keys are literal, so ch/primary/../index.m3u8 is an object of its own inside the primary folder, and ch/index.m3u8 stays denied', () => {
    // IAM matches the literal key as S3 stores it; nothing resolves "." or "..".
    expect(allowed('primary', 's3:PutObject', `${S3}/ch/primary/../index.m3u8`)).toBe(true);
    expect(allowed('primary', 's3:PutObject', `${S3}/ch/primary/%2e%2e/index.m3u8`)).toBe(true);
    expect(allowed('primary', 's3:PutObject', `${S3}/ch/index.m3u8`)).toBe(false);
    expect(allowed('primary', 's3:PutObject', `${S3}/ch/../index.m3u8`)).toBe(false);
  });

  it('an encoder reads, lists and changes ACLs of nothing, and never reaches the state table', () => {
    expect(allowed('primary', 's3:GetObject', `${S3}/ch/primary/720p.m3u8`)).toBe(false);
    expect(allowed('primary', 's3:ListBucket', S3)).toBe(false);
    expect(allowed('primary', 's3:PutObjectAcl', `${S3}/ch/primary/720p.m3u8`)).toBe(false);
    const table = String(built.stack.resolve(built.stack.stateTable.tableArn));
    expect(allowed('primary', 'dynamodb:PutItem', table)).toBe(false);
  });
});
