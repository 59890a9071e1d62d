/**
 * What each workflow Lambda may do in the bucket: explicit actions and object ARNs scoped to the key
 * layout `<channel>/<encoder>/…` (channel possibly empty). One table, so the grants can be read (and
 * reviewed) side by side.
 *
 * About s3:ListBucket: S3 answers a GetObject for a missing key with 404 only when the caller may
 * list the bucket, and with 403 AccessDenied otherwise. The handlers read keys that are legitimately
 * missing (a channel's first state, a withdrawn counterpart playlist, an index not yet written) and
 * rely on 404 (`ObjectStore.get` → undefined). A ListBucket limited by an `s3:prefix` condition does
 * not help there (a GetObject request carries no s3:prefix, so the condition never matches), so every
 * function that reads objects may list the bucket, on the bucket ARN only. Listing reveals key names,
 * which viewers can mostly see through CloudFront anyway; no function can read an object it was not
 * granted.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type { WorkflowFunction } from '../functions/workflow';
import type { WildcardResource } from './nag';

/** Where things live in the bucket. */
export interface BucketLayout {
  /** ARN of the bucket (may be a token). */
  readonly bucketArn: string;
  /** The encoder folder names. */
  readonly encoders: readonly string[];
  /** Key prefix of the health state, ending in "/". */
  readonly statePrefix: string;
}

/** The grants of one function. */
export interface FunctionGrants {
  /** Statements for the function's role; empty when it needs nothing in the bucket. */
  readonly statements: iam.PolicyStatement[];
  /** Every wildcard resource among the statements, with the reason (for the IAM5 acknowledgement). */
  readonly wildcards: WildcardResource[];
}

const ENCODER_OBJECTS =
  'Object keys under the encoder folders of any channel (<channel>/<encoder>/...): channels are created by the encoders at run time, not known at deploy time';
const ENCODER_PLAYLISTS =
  "Media playlists (*.m3u8) under the encoder folders of any channel: withdrawal deletes a stalled encoder's playlists; channels are not known at deploy time";
const STATE = 'Health state objects under the state prefix, keyed by channel at run time';
const OUTPUTS =
  'index.m3u8 and steering.json of any channel (<channel>/index.m3u8): channels are not known at deploy time';

/** The object ARNs the grants are made of. */
export function bucketResources(layout: BucketLayout) {
  const { bucketArn, encoders, statePrefix } = layout;
  const object = (key: string) => `${bucketArn}/${key}`;
  return {
    /** Everything the encoders write, in any channel. */
    encoderObjects: encoders.flatMap((e) => [object(`${e}/*`), object(`*/${e}/*`)]),
    /** The encoders' playlists, in any channel. */
    encoderPlaylists: encoders.flatMap((e) => [object(`${e}/*.m3u8`), object(`*/${e}/*.m3u8`)]),
    /** The health state. */
    state: [object(`${statePrefix}*`)],
    /** What the workflow writes for viewers. */
    outputs: ['index.m3u8', '*/index.m3u8', 'steering.json', '*/steering.json'].map(object),
  };
}

/** The bucket permissions of every workflow function. */
export function workflowGrants(layout: BucketLayout): Record<WorkflowFunction, FunctionGrants> {
  const { encoderObjects, encoderPlaylists, state, outputs } = bucketResources(layout);
  const why = new Map<string, string>([
    ...encoderObjects.map((a) => [a, ENCODER_OBJECTS] as const),
    ...encoderPlaylists.map((a) => [a, ENCODER_PLAYLISTS] as const),
    ...state.map((a) => [a, STATE] as const),
    ...outputs.map((a) => [a, OUTPUTS] as const),
  ]);
  const grants = (...statements: iam.PolicyStatement[]): FunctionGrants => {
    const resources = [...new Set(statements.flatMap((s) => s.resources))];
    const wildcards = resources
      .filter((r) => r.includes('*'))
      .map((arn) => ({ arn, reason: why.get(arn) ?? 'A key pattern of this bucket' }));
    return { statements, wildcards };
  };
  const allow = (sid: string, actions: string[], resources: string[]) =>
    new iam.PolicyStatement({ sid, actions, resources });
  const list = () => allow('ListBucketSoMissingKeysAre404', ['s3:ListBucket'], [layout.bucketArn]);

  return {
    validatePlaylist: grants(
      allow('ReadPlaylistsAndState', ['s3:GetObject'], [...encoderObjects, ...state]),
      allow('WriteState', ['s3:PutObject'], state),
      list(),
    ),
    checkFreshness: grants(
      allow('ReadPlaylistsAndState', ['s3:GetObject'], [...encoderObjects, ...state]),
      allow('WriteState', ['s3:PutObject'], state),
      list(),
    ),
    mergeIndex: grants(
      allow('ReadPlaylistsStateAndIndex', ['s3:GetObject'], [...encoderObjects, ...state, ...outputs]),
      allow('WriteIndexSteeringAndState', ['s3:PutObject'], [...outputs, ...state]),
      list(),
    ),
    withdrawPlaylists: grants(
      allow('ReadState', ['s3:GetObject'], state),
      allow('WithdrawMediaPlaylists', ['s3:DeleteObject'], encoderPlaylists),
      list(),
    ),
    publishMetrics: grants(),
    watchdog: grants(
      allow('ReadPlaylistsAndState', ['s3:GetObject'], [...encoderObjects, ...state]),
      allow('WriteState', ['s3:PutObject'], state),
      list(),
    ),
    recordInvalidPlaylist: grants(
      allow('ReadState', ['s3:GetObject'], state),
      allow('WriteState', ['s3:PutObject'], state),
      list(),
    ),
  };
}
