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
  /** Days before access logs expire. @default 365 */
  readonly accessLogDays?: number;
}

/** Key prefixes in the access-log bucket. */
export const ACCESS_LOG_PREFIXES = { bucket: 's3/', cloudFront: 'cloudfront/' } as const;

/**
 * A versioned, private, SSL-only, encrypted media bucket whose object events go to EventBridge, and
 * its access-log bucket. Both are retained when the stack is deleted.
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
    const bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Withdrawn playlists and overwritten indexes stay recoverable for a while.
      versioned: true,
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 7),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: ACCESS_LOG_PREFIXES.bucket,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // EventBridge notifications as a native bucket property. `eventBridgeEnabled: true` would do the same
    // through a custom-resource Lambda (meant for buckets whose notifications other stacks also edit).
    (bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
    this.bucket = bucketRef(bucket);
  }
}

/**
 * A Bucket as IBucket: aws-cdk-lib declares `Bucket.isWebsite` as `boolean | undefined`, which
 * `exactOptionalPropertyTypes` will not assign to `IBucket.isWebsite?: boolean`.
 */
function bucketRef(bucket: s3.Bucket): s3.IBucket {
  return bucket as s3.IBucket;
}
