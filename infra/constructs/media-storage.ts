/**
 * The media bucket the encoders write to (new, or an existing one by name) and the access-log bucket
 * that receives its server access logs and the CloudFront logs.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';

export interface MediaStorageProps {
  /** Use this existing bucket instead of creating one. @default - a new bucket */
  readonly existingBucketName?: string;
  /** Days before noncurrent object versions expire. @default 7 */
  readonly noncurrentVersionDays?: number;
  /** Days after which media segments expire; 0: never. @default 3 */
  readonly segmentExpirationDays?: number;
  /** Days before noncurrent versions of media segments are removed. @default 1 */
  readonly noncurrentSegmentDays?: number;
  /** Objects over this many bytes are media segments to the lifecycle rules. @default 32768 */
  readonly segmentMinBytes?: number;
  /** Days before access logs expire. @default 365 */
  readonly accessLogDays?: number;
}

/** Key prefixes in the access-log bucket. */
export const ACCESS_LOG_PREFIXES = { bucket: 's3/', cloudFront: 'cloudfront/' } as const;

/**
 * A versioned, private, SSL-only, encrypted media bucket whose object events go to EventBridge and
 * whose media segments expire ({@link mediaLifecycleRules}), and its access-log bucket. Both are
 * retained when the stack is deleted.
 */
export class MediaStorage extends Construct {
  /** The media bucket. */
  readonly bucket: s3.IBucket;
  /** The bucket for S3 server access logs and CloudFront access logs. */
  readonly accessLogBucket: s3.IBucket;
  /** True when {@link bucket} was not created by this stack. */
  readonly imported: boolean;

  constructor(scope: Construct, id: string, props: MediaStorageProps = {}) {
    super(scope, id);
    const accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: s3.BucketEncryption.S3_MANAGED,
      // CloudFront standard logs are delivered with an ACL, which needs ACLs enabled on this bucket.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(props.accessLogDays ?? 365),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.accessLogBucket = bucketRef(accessLogBucket);
    acknowledge(
      accessLogBucket,
      'AwsSolutions-S1',
      'This is the access-log bucket itself: logging its own access would log into itself without end',
    );

    if (props.existingBucketName !== undefined) {
      this.imported = true;
      this.bucket = s3.Bucket.fromBucketName(this, 'Bucket', props.existingBucketName);
      return;
    }
    this.imported = false;
    const lifecycleRules = mediaLifecycleRules(props);
    const bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Withdrawn playlists and overwritten indexes stay recoverable for a while.
      versioned: true,
      lifecycleRules,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: ACCESS_LOG_PREFIXES.bucket,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // EventBridge notifications as a native bucket property. `eventBridgeEnabled: true` would do the same
    // through a custom-resource Lambda (meant for buckets whose notifications other stacks also edit).
    const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.notificationConfiguration = { eventBridgeConfiguration: { eventBridgeEnabled: true } };
    // CloudFormation's schema types ObjectSizeGreaterThan as a string; CDK writes a number (synth warns).
    lifecycleRules.forEach(({ objectSizeGreaterThan }, i) => {
      if (objectSizeGreaterThan === undefined) return;
      cfnBucket.addPropertyOverride(
        `LifecycleConfiguration.Rules.${i}.ObjectSizeGreaterThan`,
        String(objectSizeGreaterThan),
      );
    });
    this.bucket = bucketRef(bucket);
  }
}

/**
 * The media bucket's lifecycle. S3 filters rules by key prefix, tags and object size only, and the
 * channel (the first part of every key) is not known at deploy time, so segments are told from
 * playlists by size and age:
 * - a live media playlist is rewritten every target duration, so its current version is seconds
 *   old and an age rule never reaches it;
 * - the objects written once and kept for the whole life of a channel (encoder masters, init
 *   segments, keys, index.m3u8, which is rewritten only when it changes, steering.json, health
 *   state) are small: an index of a large ladder with many languages, both pathways, is ~10 KB,
 *   under the 32 KiB default of `segmentMinBytes` with room to spare;
 * - video segments are larger (hundreds of kB) and useless once the playlist window has moved
 *   past them. Audio segments of 6 s at 64 kbit/s (48 kB) expire too; 2 s ones stay.
 * What an age rule can still reach is a large playlist that has not changed for
 * `segmentExpirationDays`: a stream that ended that long ago, whose segments expire with it.
 */
export function mediaLifecycleRules(props: MediaStorageProps = {}): s3.LifecycleRule[] {
  const objectSizeGreaterThan = props.segmentMinBytes ?? 32768;
  const expirationDays = props.segmentExpirationDays ?? 3;
  return [
    {
      id: 'expire-noncurrent-versions',
      noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 7),
      expiredObjectDeleteMarker: true,
      abortIncompleteMultipartUploadAfter: Duration.days(1),
    },
    {
      id: 'expire-noncurrent-segments',
      objectSizeGreaterThan,
      noncurrentVersionExpiration: Duration.days(props.noncurrentSegmentDays ?? 1),
    },
    ...(expirationDays === 0
      ? []
      : [{ id: 'expire-segments', objectSizeGreaterThan, expiration: Duration.days(expirationDays) }]),
  ];
}

/**
 * A Bucket as IBucket: aws-cdk-lib declares `Bucket.isWebsite` as `boolean | undefined`, which
 * `exactOptionalPropertyTypes` will not assign to `IBucket.isWebsite?: boolean`.
 */
function bucketRef(bucket: s3.Bucket): s3.IBucket {
  return bucket as s3.IBucket;
}
