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
 *
 * IAM wildcards span "/": `*\/index.m3u8` also matches an encoder's media playlist named
 * index.m3u8 (`ch1/primary/index.m3u8`, MediaLive's default name). So the function that writes
 * index.m3u8 and steering.json holds an explicit Deny on every key under an encoder folder, and
 * state grants name the state keys each function really uses (functions/keys.ts), not the prefix.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import { ConfigInvalidError } from '../functions/hls/errors';
import { acceptedKey, stateKey } from '../functions/keys';
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
const HEALTH =
  "Each channel's health state (<statePrefix>channels/<channel>/health.json), keyed by channel at run time";
const ACCEPTED =
  'The last accepted version of each encoder playlist (<statePrefix>channels/<channel>/accepted/<encoder>/...), keyed by channel and playlist at run time';
const OUTPUTS =
  'index.m3u8 and steering.json of any channel (<channel>/index.m3u8): channels are not known at deploy time';

/**
 * Folder names of the state keys' layout (functions/keys.ts). An encoder folder of that name would
 * put state keys under an "encoder folder", where the writers of index.m3u8 may not write.
 */
const STATE_FOLDERS = ['channels'];

/** The object ARNs the grants are made of. */
export function bucketResources(layout: BucketLayout) {
  const { bucketArn, encoders, statePrefix } = layout;
  const object = (key: string) => `${bucketArn}/${key}`;
  // '*' stands for any channel: encodeURIComponent (the channel's state folder) keeps it as is.
  return {
    /** Everything the encoders write, in any channel. */
    encoderObjects: encoders.flatMap((e) => [object(`${e}/*`), object(`*/${e}/*`)]),
    /** The encoders' playlists, in any channel. */
    encoderPlaylists: encoders.flatMap((e) => [object(`${e}/*.m3u8`), object(`*/${e}/*.m3u8`)]),
    /** Each channel's health. */
    health: [object(stateKey(statePrefix, '*'))],
    /** The last accepted version of each encoder playlist, in any channel. */
    accepted: encoders.map((e) => object(acceptedKey(statePrefix, '*', e, '*'))),
    /** What the workflow writes for viewers. */
    outputs: ['index.m3u8', '*/index.m3u8', 'steering.json', '*/steering.json'].map(object),
  };
}

/**
 * The bucket permissions of every workflow function. Throws ConfigInvalidError when an encoder
 * folder name collides with the state layout.
 */
export function workflowGrants(layout: BucketLayout): Record<WorkflowFunction, FunctionGrants> {
  const stateFolder = layout.statePrefix.replace(/\/$/, '');
  const problems = layout.encoders
    .filter((e) => e === stateFolder || STATE_FOLDERS.includes(e))
    .map(
      (e) =>
        `setting "encoders": "${e}" is a folder of the health state's keys (${layout.statePrefix}${STATE_FOLDERS[0]}/…): choose another encoder folder name`,
    );
  if (problems.length > 0) throw new ConfigInvalidError(problems);

  const { encoderObjects, encoderPlaylists, health, accepted, outputs } = bucketResources(layout);
  const why = new Map<string, string>([
    ...encoderObjects.map((a) => [a, ENCODER_OBJECTS] as const),
    ...encoderPlaylists.map((a) => [a, ENCODER_PLAYLISTS] as const),
    ...health.map((a) => [a, HEALTH] as const),
    ...accepted.map((a) => [a, ACCEPTED] as const),
    ...outputs.map((a) => [a, OUTPUTS] as const),
  ]);
  const grants = (...statements: iam.PolicyStatement[]): FunctionGrants => {
    const resources = [
      ...new Set(statements.filter((s) => s.effect === iam.Effect.ALLOW).flatMap((s) => s.resources)),
    ];
    const wildcards = resources
      .filter((r) => r.includes('*'))
      .map((arn) => ({ arn, reason: why.get(arn) ?? 'A key pattern of this bucket' }));
    return { statements, wildcards };
  };
  const allow = (sid: string, actions: string[], resources: string[]) =>
    new iam.PolicyStatement({ sid, actions, resources });
  const list = () => allow('ListBucketSoMissingKeysAre404', ['s3:ListBucket'], [layout.bucketArn]);
  const neverUnderEncoderFolders = new iam.PolicyStatement({
    sid: 'NeverWriteUnderEncoderFolders',
    effect: iam.Effect.DENY,
    actions: ['s3:PutObject'],
    resources: encoderObjects,
  });
  const healthOnly = () => [
    allow('ReadPlaylistsAndHealth', ['s3:GetObject'], [...encoderObjects, ...health]),
    allow('WriteHealth', ['s3:PutObject'], health),
    list(),
  ];

  return {
    validatePlaylist: grants(
      allow('ReadPlaylistsAndAcceptedVersions', ['s3:GetObject'], [...encoderObjects, ...accepted]),
      allow('WriteAcceptedVersions', ['s3:PutObject'], accepted),
      list(),
    ),
    checkFreshness: grants(...healthOnly()),
    mergeIndex: grants(
      allow('ReadPlaylistsHealthAndIndex', ['s3:GetObject'], [...encoderObjects, ...health, ...outputs]),
      allow('WriteIndexSteeringAndHealth', ['s3:PutObject'], [...outputs, ...health]),
      neverUnderEncoderFolders,
      list(),
    ),
    withdrawPlaylists: grants(
      allow('ReadHealth', ['s3:GetObject'], health),
      allow('WithdrawMediaPlaylists', ['s3:DeleteObject'], encoderPlaylists),
      list(),
    ),
    publishMetrics: grants(),
    watchdog: grants(...healthOnly()),
    recordInvalidPlaylist: grants(
      allow('ReadHealth', ['s3:GetObject'], health),
      allow('WriteHealth', ['s3:PutObject'], health),
      list(),
    ),
  };
}
