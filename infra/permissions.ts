/**
 * What each workflow Lambda may do in the bucket and the state table: explicit actions, object ARNs
 * scoped to the key layout `<channel>/<encoder>/…` (channel possibly empty), and table items scoped
 * to the kind of record a function uses by the partition key's leading segment
 * (`dynamodb:LeadingKeys`, functions/keys.ts). One table, so the grants can be read (and reviewed)
 * side by side.
 *
 * About s3:ListBucket: S3 answers a GetObject for a missing key with 404 only when the caller may
 * list the bucket, and with 403 AccessDenied otherwise. The handlers read keys that are legitimately
 * missing (a withdrawn counterpart playlist, an index not yet written) and
 * rely on 404 (`ObjectStore.get` → undefined). A ListBucket limited by an `s3:prefix` condition does
 * not help there (a GetObject request carries no s3:prefix, so the condition never matches), so every
 * function that reads objects may list the bucket, on the bucket ARN only. Listing reveals key names,
 * which viewers can mostly see through CloudFront anyway; no function can read an object it was not
 * granted.
 *
 * IAM wildcards span "/": `*\/index.m3u8` also matches an encoder's media playlist named
 * index.m3u8 (`ch1/primary/index.m3u8`, MediaLive's default name). So the function that writes
 * index.m3u8 and steering.json holds an explicit Deny on every key under an encoder folder.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import { ACCEPTED_RECORDS, STATE_RECORDS } from '../functions/keys';
import type { WorkflowFunction } from '../functions/workflow';
import type { WildcardResource } from './nag';

/** Where things live: the bucket and the state table. */
export interface StorageLayout {
  /** ARN of the bucket (may be a token). */
  readonly bucketArn: string;
  /** The encoder folder names. */
  readonly encoders: readonly string[];
  /** ARN of the table of the workflow's records (may be a token). */
  readonly stateTableArn: string;
  /** The key prefix viewers are denied, where the workflow stages spliced playlists. */
  readonly statePrefix: string;
  /** Published mode: the folder of each channel's published playlists. @default - direct mode */
  readonly publishedFolder?: string;
}

/** The grants of one function (or of one encoder). */
export interface FunctionGrants {
  /** Statements for the role; empty when it needs nothing in the bucket or the table. */
  readonly statements: iam.PolicyStatement[];
  /** Every wildcard resource among the statements, with the reason (for the IAM5 acknowledgement). */
  readonly wildcards: WildcardResource[];
}

const ENCODER_OBJECTS =
  'Object keys under the encoder folders of any channel (<channel>/<encoder>/...): channels are created by the encoders at run time, not known at deploy time';
const ENCODER_PLAYLISTS =
  "Media playlists (*.m3u8) under the encoder folders of any channel: withdrawal splices (copies over) or deletes a stalled encoder's playlists; channels are not known at deploy time";
const OWN_FOLDER =
  "Object keys under this encoder's folder of any channel (<channel>/<encoder>/...): channels are created by the encoders at run time, not known at deploy time";
const OUTPUTS =
  'index.m3u8 and steering.json of any channel (<channel>/index.m3u8): channels are not known at deploy time';

const PUBLISHED =
  'The published media playlists of any channel (<channel>/<publishedFolder>/...), which viewers read in published mode: channels are not known at deploy time';

const SPLICES =
  'Spliced playlists staged under the state prefix (viewers are denied it), one per withdrawn media playlist of any channel';

/** The object ARNs the grants are made of. */
export function bucketResources(layout: Pick<StorageLayout, 'bucketArn' | 'encoders'>) {
  const { bucketArn, encoders } = layout;
  const object = (key: string) => `${bucketArn}/${key}`;
  // '*' stands for any channel: encodeURIComponent (the channel's state folder) keeps it as is.
  return {
    /** Everything the encoders write, in any channel. */
    encoderObjects: encoders.flatMap((e) => [object(`${e}/*`), object(`*/${e}/*`)]),
    /** The encoders' playlists, in any channel. */
    encoderPlaylists: encoders.flatMap((e) => [object(`${e}/*.m3u8`), object(`*/${e}/*.m3u8`)]),
    /** What the workflow writes for viewers. */
    outputs: ['index.m3u8', '*/index.m3u8', 'steering.json', '*/steering.json'].map(object),
  };
}

/**
 * Items of the state table whose partition key begins with `prefix` (one kind of record):
 * `dynamodb:LeadingKeys` holds the partition key of every item a GetItem or PutItem names.
 */
function records(sid: string, actions: string[], tableArn: string, prefix: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions,
    resources: [tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${prefix}*`] } },
  });
}

/** The bucket and table permissions of every workflow function. */
export function workflowGrants(layout: StorageLayout): Record<WorkflowFunction, FunctionGrants> {
  const { encoderObjects, encoderPlaylists, outputs } = bucketResources(layout);
  const splices = `${layout.bucketArn}/${layout.statePrefix}splices/*`;
  const folder = layout.publishedFolder;
  const published =
    folder === undefined ? [] : [`${folder}/*`, `*/${folder}/*`].map((k) => `${layout.bucketArn}/${k}`);
  const why = new Map<string, string>([
    ...encoderObjects.map((a) => [a, ENCODER_OBJECTS] as const),
    ...encoderPlaylists.map((a) => [a, ENCODER_PLAYLISTS] as const),
    ...outputs.map((a) => [a, OUTPUTS] as const),
    [splices, SPLICES],
    ...published.map((a) => [a, PUBLISHED] as const),
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
  const table = layout.stateTableArn;
  const readWriteHealth = () =>
    records('ReadWriteChannelState', ['dynamodb:GetItem', 'dynamodb:PutItem'], table, STATE_RECORDS);
  const readPlaylists = () => [allow('ReadPlaylists', ['s3:GetObject'], encoderObjects), list()];
  const readAccepted = () =>
    records('ReadAcceptedVersionsOfTheChannel', ['dynamodb:Query'], table, ACCEPTED_RECORDS);
  // Published mode only (functions/publisher.ts): reads an encoder's accepted playlist and the
  // published one, writes the published one, never under an encoder folder (`*/live/*` spans "/").
  const publishing = () =>
    folder === undefined
      ? []
      : [
          allow('ReadEncoderAndPublishedPlaylists', ['s3:GetObject'], [...encoderObjects, ...published]),
          allow('WritePublishedPlaylists', ['s3:PutObject'], published),
          neverUnderEncoderFolders,
          records('ReadAcceptedVersions', ['dynamodb:GetItem'], table, ACCEPTED_RECORDS),
        ];

  return {
    validatePlaylist: grants(
      ...readPlaylists(),
      records('ReadWriteAcceptedVersions', ['dynamodb:GetItem', 'dynamodb:PutItem'], table, ACCEPTED_RECORDS),
    ),
    // Published mode: publishes an upload's rendition itself (functions/publisher.ts).
    checkFreshness: grants(...readPlaylists(), readAccepted(), readWriteHealth(), ...publishing()),
    mergeIndex: grants(
      allow('ReadPlaylistsAndIndex', ['s3:GetObject'], [...encoderObjects, ...outputs]),
      allow('WriteIndexAndSteering', ['s3:PutObject'], outputs),
      neverUnderEncoderFolders,
      list(),
      readWriteHealth(),
    ),
    withdrawPlaylists: grants(
      // Splicing reads the healthy encoder's playlist, copies its newer segments into the withdrawn
      // encoder's folder (GetObject on the source, PutObject on the target: a splice never changes
      // the URI of a segment viewers know), stages the splice under the state prefix and copies it
      // over the withdrawn encoder's playlist; without a lock it deletes the playlist instead.
      allow('ReadEncoderObjectsAndStagedSplices', ['s3:GetObject'], [...encoderObjects, splices]),
      allow('StageSplices', ['s3:PutObject'], [splices]),
      allow('CopySegmentsAndSpliceMediaPlaylists', ['s3:PutObject'], encoderObjects),
      allow('WithdrawMediaPlaylists', ['s3:DeleteObject'], encoderPlaylists),
      list(),
      // The withdrawn encoder's last accepted version: the lock is checked against it.
      records('ReadAcceptedVersions', ['dynamodb:GetItem'], table, ACCEPTED_RECORDS),
      // Records the withdrawal as done, so later events do not repeat it (functions/converge.ts).
      readWriteHealth(),
    ),
    publishPlaylists: grants(
      ...publishing(),
      ...(folder === undefined
        ? []
        : [list(), records('ReadChannelState', ['dynamodb:GetItem'], table, STATE_RECORDS)]),
    ),
    publishMetrics: grants(),
    watchdog: grants(
      ...readPlaylists(),
      // Compares index.m3u8 and steering.json with the hashes MergeIndex recorded (functions/converge.ts).
      allow('ReadIndexAndSteering', ['s3:GetObject'], outputs),
      readAccepted(),
      readWriteHealth(),
      // Listing the channels: a Scan (keys only) cannot be limited by dynamodb:LeadingKeys.
      new iam.PolicyStatement({ sid: 'ListChannels', actions: ['dynamodb:Scan'], resources: [table] }),
    ),
    recordInvalidPlaylist: grants(readWriteHealth()),
    markAlertsSent: grants(readWriteHealth()),
  };
}

/**
 * What an encoder may do in the bucket: write objects under its own folder of any channel
 * (`<channel>/<encoder>/…`, and `<encoder>/…` for the single-channel layout), and nothing else.
 *
 * - `s3:PutObject` covers PutObject and every step of a multipart upload (CreateMultipartUpload,
 *   UploadPart, CompleteMultipartUpload); `s3:AbortMultipartUpload` lets an encoder (or its SDK)
 *   clean up a failed one rather than leave parts billed until the lifecycle rule removes them.
 * - `s3:DeleteObject`: encoders delete the segments that left their window (MediaLive's
 *   KeepSegments, ffmpeg's `delete_segments`); without it each delete fails with 403. Versioning
 *   keeps a delete marker, and only the encoder's own objects are reachable.
 * - No read, no list, no ACL, no table access: an encoder needs none of them.
 *
 * What the workflow owns is out of reach: `<channel>/index.m3u8` and `<channel>/steering.json` are
 * never under an encoder folder (a channel never has a path segment named like an encoder folder,
 * functions/keys.ts), and the state is in the table. S3 keys are literal strings, and IAM matches
 * the literal key: `ch1/primary/../index.m3u8` is an object of its own inside the primary folder,
 * never `ch1/index.m3u8`.
 */
export function encoderGrants(bucketArn: string, encoder: string): FunctionGrants {
  const { encoderObjects } = bucketResources({ bucketArn, encoders: [encoder] });
  return {
    statements: [
      new iam.PolicyStatement({
        sid: 'WriteOwnEncoderFolder',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
        resources: encoderObjects,
      }),
    ],
    wildcards: encoderObjects.map((arn) => ({ arn, reason: OWN_FOLDER })),
  };
}
