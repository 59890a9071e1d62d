/**
 * CloudFront for viewers: OAC, HTTPS, CORS, cache policies per path, access logs and TLS.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { HlsFailoverApp } from '../../../infra/create-app';
import { logicalId, synthesize } from './support';

let built: HlsFailoverApp;
let template: Template;

const CERTIFICATE = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666';

beforeAll(() => {
  ({ template, ...built } = synthesize());
});

/** The DistributionConfig of the one distribution. */
function distributionConfig(t: Template) {
  const [distribution] = Object.values(t.findResources('AWS::CloudFront::Distribution'));
  return distribution?.Properties.DistributionConfig;
}

/** The cache policy a behavior references, by its logical id. */
function cachePolicyOf(t: Template, behavior: { CachePolicyId: { Ref: string } }) {
  return t.findResources('AWS::CloudFront::CachePolicy')[behavior.CachePolicyId.Ref]?.Properties
    .CachePolicyConfig;
}

describe('the origin', () => {
  it('is the media bucket behind an origin access control that signs every request', () => {
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      }),
    });
    const [origin] = distributionConfig(template).Origins;
    expect(origin.DomainName).toEqual({
      'Fn::GetAtt': [logicalId(built, built.stack.bucket), 'RegionalDomainName'],
    });
    expect(origin.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Id'] });
  });

  it('lets only this distribution read the bucket', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: 's3:GetObject',
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });
});

describe('viewers', () => {
  it('are redirected to HTTPS on every path, over HTTP/2 or HTTP/3', () => {
    const config = distributionConfig(template);
    expect(config.HttpVersion).toBe('http2and3');
    for (const behavior of [config.DefaultCacheBehavior, ...config.CacheBehaviors]) {
      expect(behavior.ViewerProtocolPolicy).toBe('redirect-to-https');
      expect(behavior.AllowedMethods).toEqual(['GET', 'HEAD']);
    }
  });

  it('on any origin may GET and HEAD (CORS), on every path', () => {
    template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        CorsConfig: Match.objectLike({
          AccessControlAllowOrigins: { Items: ['*'] },
          AccessControlAllowMethods: { Items: ['GET', 'HEAD'] },
          AccessControlAllowCredentials: false,
          OriginOverride: true,
        }),
      }),
    });
    const config = distributionConfig(template);
    const policies = new Set(
      [config.DefaultCacheBehavior, ...config.CacheBehaviors].map((b) =>
        JSON.stringify(b.ResponseHeadersPolicyId),
      ),
    );
    expect(policies.size).toBe(1);
  });
});

describe('caching', () => {
  it('keeps segments (the default behavior) for segmentCacheSeconds', () => {
    const config = distributionConfig(template);
    expect(cachePolicyOf(template, config.DefaultCacheBehavior)).toMatchObject({
      MinTTL: 0,
      DefaultTTL: 86_400,
      MaxTTL: 86_400,
    });
    const { template: custom } = synthesize({ segmentCacheSeconds: 3600 });
    expect(cachePolicyOf(custom, distributionConfig(custom).DefaultCacheBehavior)).toMatchObject({
      DefaultTTL: 3600,
      MaxTTL: 3600,
    });
  });

  it("honours the origin's Cache-Control for playlists and steering manifests, 1 s by default, 10 s at most", () => {
    const config = distributionConfig(template);
    const patterns = config.CacheBehaviors.map((b: { PathPattern: string }) => b.PathPattern);
    expect(patterns).toEqual(['*.m3u8', '*steering.json']);
    for (const behavior of config.CacheBehaviors) {
      expect(cachePolicyOf(template, behavior)).toMatchObject({ MinTTL: 0, DefaultTTL: 1, MaxTTL: 10 });
    }
  });

  it('caches no error, 4xx (a withdrawn playlist answers 403) or origin 5xx, longer than the steering TTL: 1 s instead of 10 s', () => {
    // Every status whose error caching CloudFront lets a distribution set.
    const statuses = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];
    const responses = distributionConfig(template).CustomErrorResponses;
    expect(responses).toEqual(statuses.map((ErrorCode) => ({ ErrorCode, ErrorCachingMinTTL: 1 })));
    const steeringTtl = 2; // the steeringTtlSeconds default
    for (const { ErrorCachingMinTTL } of responses)
      expect(ErrorCachingMinTTL).toBeLessThanOrEqual(steeringTtl);
  });
});

describe('access logs and TLS', () => {
  it('writes access logs to the access-log bucket', () => {
    expect(distributionConfig(template).Logging).toEqual({
      Bucket: { 'Fn::GetAtt': [expect.stringMatching(/^StorageAccessLogs/), 'RegionalDomainName'] },
      Prefix: 'cloudfront/',
    });
  });

  it('uses the default *.cloudfront.net certificate when no domain is configured', () => {
    const config = distributionConfig(template);
    expect(config.Aliases).toBeUndefined();
    expect(config.ViewerCertificate).toBeUndefined();
  });

  it('serves a custom domain with its ACM certificate and TLSv1.2_2021 at least', () => {
    const { template: custom } = synthesize({ domainName: 'live.example.com', certificateArn: CERTIFICATE });
    const config = distributionConfig(custom);
    expect(config.Aliases).toEqual(['live.example.com']);
    expect(config.ViewerCertificate).toEqual({
      AcmCertificateArn: CERTIFICATE,
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    });
    custom.hasOutput('PlaybackUrlPattern', { Value: 'https://live.example.com/<channel>/index.m3u8' });
  });
});
