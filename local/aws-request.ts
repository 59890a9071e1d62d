/**
 * The seam between the local runtime and IAM: every AWS call made locally (by a Lambda's bundle or
 * by the state machine) is described as an {@link AwsRequest} and passed to an {@link Authorizer},
 * which evaluates it against the calling role's policies from the synthesized template.
 *
 * A Lambda's bundle runs with credentials whose access key ID names its role
 * ({@link localAccessKeyId}); the local S3 endpoint reads it back from the request's SigV4
 * `Authorization` header ({@link roleFromAuthorization}).
 */

/** One AWS API call as IAM sees it. */
export interface AwsRequest {
  /** Logical ID (in the synthesized template) of the IAM role making the call. */
  readonly role: string;
  /** IAM action, e.g. `s3:GetObject`, `sns:Publish`, `lambda:InvokeFunction`. */
  readonly action: string;
  /** Resource ARN, e.g. `arn:aws:s3:::bucket/ch1/index.m3u8`. */
  readonly resource: string;
  /** Request context keys (e.g. `s3:prefix` for ListBucket), when the action has them. */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

/** Denies a call by throwing {@link AccessDeniedError}; returns when IAM would allow it. */
export type Authorizer = (request: AwsRequest) => void;

/** What AWS answers a call the caller's policies do not allow (S3: 403 AccessDenied). */
export class AccessDeniedError extends Error {
  readonly request: AwsRequest;
  constructor(request: AwsRequest, reason: string) {
    super(
      `AccessDenied: role ${request.role} is not allowed to perform ${request.action} on ${request.resource} (${reason})`,
    );
    this.name = 'AccessDenied';
    this.request = request;
  }
}

const PREFIX = 'LOCALROLE';

/** The access key ID a local Lambda runs with: it names the function's role. */
export function localAccessKeyId(roleLogicalId: string): string {
  return `${PREFIX}${roleLogicalId}`;
}

/**
 * The role logical ID named by a SigV4 `Authorization` header
 * (`AWS4-HMAC-SHA256 Credential=<access key id>/<date>/<region>/<service>/aws4_request, …`), or
 * undefined for any other caller (an encoder, a test client).
 */
export function roleFromAuthorization(authorization: string | undefined): string | undefined {
  const accessKeyId = /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
  return accessKeyId?.startsWith(PREFIX) ? accessKeyId.slice(PREFIX.length) : undefined;
}
