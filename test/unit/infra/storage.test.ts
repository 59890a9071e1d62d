/**
 * The media bucket (new or existing) and the access-log bucket.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { HlsFailoverApp } from '../../../infra/create-app';
import { logicalId, objectArn, synthesize } from './support';

let built: HlsFailoverApp;
let template: Template;
let bucketId: string;
let accessLogsId: string;

const BLOCK_ALL = {
  BlockPublicAcls: true,
  BlockPublicPolicy: true,
  IgnorePublicAcls: true,
  RestrictPublicBuckets: true,
};

beforeAll(() => {
  ({ template, ...built } = synthesize());
  bucketId = logicalId(built, built.stack.bucket);
  accessLogsId = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) =>
    id.startsWith('StorageAccessLogs'),
  ) as string;
});

describe('a new media bucket', () => {
  it('is private, encrypted, versioned, and sends its object events to EventBridge', () => {
    template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: BLOCK_ALL,
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(template.findResources('AWS::S3::Bucket')[bucketId]).toBeDefined();
  });

  /** The lifecycle rules of the media bucket in a template. */
  const mediaRules = (t: Template, id = bucketId) =>
    t.findResources('AWS::S3::Bucket')[id]?.Properties.LifecycleConfiguration.Rules as Record<
      string,
      unknown
    >[];

  it('expires media segments (objects over segmentMinBytes) after segmentExpirationDays', () => {
    expect(mediaRules(template)).toContainEqual({
      Id: 'expire-segments',
      Status: 'Enabled',
      ObjectSizeGreaterThan: '32768',
      ExpirationInDays: 3,
    });
  });

  it('never expires a current object by age unless it is over segmentMinBytes (masters, init segments, index, steering, state stay)', () => {
    const expiring = mediaRules(template).filter((r) => 'ExpirationInDays' in r || 'ExpirationDate' in r);
    expect(expiring.length).toBeGreaterThan(0);
    for (const rule of expiring) {
      // No key or tag filter: channels are not known at deploy time; size is what tells segments apart.
      expect(rule).toMatchObject({ ObjectSizeGreaterThan: '32768' });
      expect(rule).not.toHaveProperty('Prefix');
      expect(rule).not.toHaveProperty('TagFilters');
    }
  });

  it('removes noncurrent segment versions after noncurrentSegmentDays, other noncurrent versions after noncurrentVersionDays', () => {
    expect(mediaRules(template)).toEqual(
      expect.arrayContaining([
        {
          Id: 'expire-noncurrent-segments',
          Status: 'Enabled',
          ObjectSizeGreaterThan: '32768',
          NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        },
        {
          Id: 'expire-noncurrent-versions',
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: 7 },
          ExpiredObjectDeleteMarker: true,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
      ]),
    );
  });

  it('takes every lifecycle number from the settings; segmentExpirationDays 0 keeps segments', () => {
    const { template: custom, ...other } = synthesize({
      segmentExpirationDays: 30,
      segmentMinBytes: 65_536,
      noncurrentSegmentDays: 2,
      noncurrentVersionDays: 30,
    });
    expect(mediaRules(custom, logicalId(other, other.stack.bucket))).toEqual([
      expect.objectContaining({
        Id: 'expire-noncurrent-versions',
        NoncurrentVersionExpiration: { NoncurrentDays: 30 },
      }),
      expect.objectContaining({
        ObjectSizeGreaterThan: '65536',
        NoncurrentVersionExpiration: { NoncurrentDays: 2 },
      }),
      expect.objectContaining({
        Id: 'expire-segments',
        ObjectSizeGreaterThan: '65536',
        ExpirationInDays: 30,
      }),
    ]);
    const { template: keep, ...kept } = synthesize({ segmentExpirationDays: 0 });
    expect(mediaRules(keep, logicalId(kept, kept.stack.bucket)).map((r) => r.Id)).toEqual([
      'expire-noncurrent-versions',
      'expire-noncurrent-segments',
    ]);
  });

  it('writes server access logs to the access-log bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: { Ref: accessLogsId }, LogFilePrefix: 's3/' },
    });
  });

  it('refuses requests without TLS 1.2', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  it('keeps the health state away from CloudFront with an explicit Deny', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'DenyCloudFrontHealthState',
            Effect: 'Deny',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: 's3:GetObject',
            Resource: objectArn(bucketId, '/_hls-failover/*'),
          },
        ]),
      },
    });
  });

  it("published mode: keeps the encoders' own playlists away from CloudFront with an explicit Deny (viewers read only the published ones; segments stay readable)", () => {
    const { template: published, ...other } = synthesize({ publishing: 'published' });
    const id = logicalId(other, other.stack.bucket);
    published.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'DenyCloudFrontEncoderPlaylists',
            Effect: 'Deny',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: 's3:GetObject',
            Resource: ['/*/failover/*.m3u8', '/*/primary/*.m3u8', '/failover/*.m3u8', '/primary/*.m3u8'].map(
              (k) => objectArn(id, k),
            ),
          },
        ]),
      },
    });
    const direct = JSON.stringify(template.findResources('AWS::S3::BucketPolicy'));
    expect(direct).not.toContain('DenyCloudFrontEncoderPlaylists');
  });

  it('denies the configured state prefix', () => {
    const { template: custom, ...other } = synthesize({ statePrefix: 'private-state/' });
    custom.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'DenyCloudFrontHealthState',
            Resource: objectArn(logicalId(other, other.stack.bucket), '/private-state/*'),
          }),
        ]),
      },
    });
  });
});

describe('the access-log bucket', () => {
  it('is private, encrypted, expires its logs, and accepts CloudFront log delivery (ACLs enabled)', () => {
    expect(template.findResources('AWS::S3::Bucket')[accessLogsId]).toMatchObject({
      Properties: {
        PublicAccessBlockConfiguration: BLOCK_ALL,
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] },
        LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 365 })] },
      },
      DeletionPolicy: 'Retain',
    });
  });

  it('refuses requests without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: accessLogsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('an existing media bucket (bucketName)', () => {
  let existing: Template;
  beforeAll(() => {
    ({ template: existing } = synthesize({ bucketName: 'my-live-origin' }));
  });

  it('creates only the access-log bucket', () => {
    existing.resourceCountIs('AWS::S3::Bucket', 1);
  });

  it('matches events and scopes permissions by the given bucket name', () => {
    existing.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ detail: Match.objectLike({ bucket: { name: ['my-live-origin'] } }) }),
    });
    existing.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:GetObject',
            Resource: Match.arrayWith([
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::my-live-origin/primary/*']] },
            ]),
          }),
        ]),
      },
    });
  });

  it('states the manual steps (EventBridge notifications, OAC grant, state Deny) in an output', () => {
    existing.hasOutput('ExistingBucketSetup', {
      Value: Match.stringLikeRegexp('EventBridge.*OAC.*Deny'),
    });
  });
});
