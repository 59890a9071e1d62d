/**
 * CloudFront in front of the media bucket: origin access control, HTTPS only, CORS for players on
 * other origins, long caching for segments and near-live caching for playlists and steering
 * manifests. The health state is never served.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import { ACCESS_LOG_PREFIXES } from './media-storage';

/** A custom domain for the distribution. */
export interface CustomDomain {
  /** The DNS name viewers use, e.g. live.example.com. */
  readonly domainName: string;
  /** ARN of an ACM certificate in us-east-1 that covers {@link domainName}. */
  readonly certificateArn: string;
}

export interface PlaybackDistributionProps {
  /** The media bucket (the origin). */
  readonly bucket: s3.IBucket;
  /** Bucket for the CloudFront access logs (ACLs enabled). */
  readonly accessLogBucket: s3.IBucket;
  /** Key prefix of the health state, which viewers must never read. */
  readonly statePrefix: string;
  /** Cache lifetime of segments, in seconds. @default 86400 */
  readonly segmentCacheSeconds?: number;
  /** TTL of steering.json, in seconds: no error response is cached longer. @default 2 */
  readonly steeringTtlSeconds?: number;
  /**
   * Folders (an encoder's) whose playlists viewers must never read, in any channel: published mode,
   * where viewers read only the playlists the workflow validated and wrote. Their segments stay
   * readable (the published playlists list them). @default - none
   */
  readonly privatePlaylistFolders?: readonly string[];
  /** Custom domain and certificate. @default - the distribution's *.cloudfront.net domain and certificate */
  readonly customDomain?: CustomDomain;
}

/** Path patterns served with the near-live playlist cache policy. */
export const LIVE_PATH_PATTERNS = ['*.m3u8', '*steering.json'] as const;

/** Every error status whose caching CloudFront lets a distribution set (it caches them 10 s by default). */
export const CACHEABLE_ERROR_STATUSES = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504] as const;

/** CloudFront distribution for the viewers. */
export class PlaybackDistribution extends Construct {
  /** The distribution. */
  readonly distribution: cloudfront.Distribution;
  /** The domain viewers use: the custom domain, or the distribution's own. */
  readonly domainName: string;
  /** False when the bucket is imported and its policy must be edited by hand. */
  readonly bucketPolicyManaged: boolean;

  constructor(scope: Construct, id: string, props: PlaybackDistributionProps) {
    super(scope, id);
    const { bucket, customDomain } = props;
    const segmentSeconds = props.segmentCacheSeconds ?? 86_400;

    const cors = new cloudfront.ResponseHeadersPolicy(this, 'Cors', {
      comment: 'Players on any origin may GET/HEAD playlists, steering manifests and segments',
      corsBehavior: {
        accessControlAllowOrigins: ['*'],
        accessControlAllowMethods: ['GET', 'HEAD'],
        accessControlAllowHeaders: ['*'],
        accessControlAllowCredentials: false,
        accessControlMaxAge: Duration.days(1),
        originOverride: true,
      },
      securityHeadersBehavior: {
        contentTypeOptions: { override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), override: true },
      },
    });
    const segmentCache = new cloudfront.CachePolicy(this, 'SegmentCache', {
      comment: 'Media segments never change once written',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(segmentSeconds),
      maxTtl: Duration.seconds(segmentSeconds),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    // Honours the origin's Cache-Control (index.m3u8 max-age=playlistMaxAgeSeconds, steering.json TTL),
    // never longer than 10 s, so a failover reaches players within seconds.
    const liveCache = new cloudfront.CachePolicy(this, 'LiveCache', {
      comment:
        'Live playlists and steering manifests: the origin Cache-Control, 1 s by default, 10 s at most',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(1),
      maxTtl: Duration.seconds(10),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });

    const origin = origins.S3BucketOrigin.withOriginAccessControl(bucket);
    const behavior = (cachePolicy: cloudfront.ICachePolicy): cloudfront.BehaviorOptions => ({
      origin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
      cachePolicy,
      responseHeadersPolicy: cors,
      compress: true,
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `hls-failover playback (${Stack.of(this).stackName})`,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: behavior(segmentCache),
      additionalBehaviors: Object.fromEntries(LIVE_PATH_PATTERNS.map((p) => [p, behavior(liveCache)])),
      // Error caching is per distribution, not per behavior. A withdrawn playlist answers 403 (no
      // ListBucket for CloudFront), and an origin 5xx is usually over within a second: an error is
      // cached 1 s, never longer than the steering TTL, so a playlist or steering.json is back for
      // viewers as soon as the origin has it. (Caching errors for 0 s would send every viewer's
      // request to a struggling origin.)
      errorResponses: CACHEABLE_ERROR_STATUSES.map((httpStatus) => ({
        httpStatus,
        ttl: Duration.seconds(Math.min(1, props.steeringTtlSeconds ?? 2)),
      })),
      enableLogging: true,
      logBucket: props.accessLogBucket,
      logFilePrefix: ACCESS_LOG_PREFIXES.cloudFront,
      ...(customDomain === undefined
        ? {}
        : {
            domainNames: [customDomain.domainName],
            certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', customDomain.certificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }),
    });
    this.domainName = customDomain?.domainName ?? this.distribution.distributionDomainName;

    // The OAC grant allows s3:GetObject on every key; the health state is the exception.
    const { statementAdded } = bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyCloudFrontHealthState',
        effect: iam.Effect.DENY,
        principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`${props.statePrefix}*`)],
      }),
    );
    this.bucketPolicyManaged = statementAdded;
    const folders = props.privatePlaylistFolders ?? [];
    if (folders.length > 0)
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'DenyCloudFrontEncoderPlaylists',
          effect: iam.Effect.DENY,
          principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
          actions: ['s3:GetObject'],
          resources: folders.flatMap((f) => [
            bucket.arnForObjects(`${f}/*.m3u8`),
            bucket.arnForObjects(`*/${f}/*.m3u8`),
          ]),
        }),
      );

    acknowledge(
      this.distribution,
      'AwsSolutions-CFR1',
      'A live channel is offered to every country; geo restriction is a rights decision made per channel, not by this stack',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR2',
      'Read-only GET/HEAD of public stream files with no application logic behind them; attach a WAF web ACL in front if abuse appears',
    );
    if (customDomain === undefined) {
      acknowledge(
        this.distribution,
        'AwsSolutions-CFR4',
        'default CloudFront certificate; set domainName and certificateArn for TLSv1.2_2021',
      );
    }
  }
}
