/**
 * The workflow's contract, shared by the CDK stack, the local runtime and the handlers: which
 * Lambda runs each Task, the ASL placeholders and the one function that fills them, and the
 * EventBridge pattern that starts an execution. Nothing here is written twice.
 */
import { join } from 'node:path';

/** The ASL definition (one file for AWS and the local engine). */
export const STATE_MACHINE_FILE = join(__dirname, '..', 'statemachine', 'hls-failover.asl.json');

/** Each Lambda of the workflow: its handler module under functions/handlers/ and its ASL placeholder. */
export const WORKFLOW_FUNCTIONS = {
  validatePlaylist: { module: 'validate-playlist', placeholder: 'ValidatePlaylistFunctionArn' },
  checkFreshness: { module: 'check-freshness', placeholder: 'CheckFreshnessFunctionArn' },
  mergeIndex: { module: 'merge-index', placeholder: 'MergeIndexFunctionArn' },
  withdrawPlaylists: { module: 'withdraw-playlists', placeholder: 'WithdrawPlaylistsFunctionArn' },
  publishPlaylists: { module: 'publish-playlists', placeholder: 'PublishPlaylistsFunctionArn' },
  publishMetrics: { module: 'publish-metrics', placeholder: 'PublishMetricsFunctionArn' },
  watchdog: { module: 'watchdog', placeholder: 'WatchdogFunctionArn' },
  recordInvalidPlaylist: {
    module: 'record-invalid-playlist',
    placeholder: 'RecordInvalidPlaylistFunctionArn',
  },
  markAlertsSent: { module: 'mark-alerts-sent', placeholder: 'MarkAlertsSentFunctionArn' },
} as const;

export type WorkflowFunction = keyof typeof WORKFLOW_FUNCTIONS;

/** The SNS topic alerts go to. */
export const ALERT_TOPIC_PLACEHOLDER = 'AlertTopicArn';

/**
 * The service integrations the ASL calls, by placeholder. Their ARNs hold the partition
 * (`arn:aws-cn:states:::sns:publish` in China), so the file names none: a whole-string placeholder
 * also keeps the file valid for asl-validator as written.
 */
export const SERVICE_INTEGRATIONS = {
  SnsPublishIntegrationArn: 'sns:publish',
  StartExecutionIntegrationArn: 'states:startExecution',
} as const;

/**
 * The ASL substitutions, from the deployed (or local) function ARNs and topic ARN and the partition
 * (`aws`, `aws-cn`, `aws-us-gov`; the stack passes `AWS::Partition`). The stack and the local
 * runtime both call this; a test checks its keys equal the file's placeholders.
 */
export function buildSubstitutions(
  functionArns: Readonly<Record<WorkflowFunction, string>>,
  alertTopicArn: string,
  partition = 'aws',
): Record<string, string> {
  const substitutions: Record<string, string> = { [ALERT_TOPIC_PLACEHOLDER]: alertTopicArn };
  for (const [placeholder, api] of Object.entries(SERVICE_INTEGRATIONS)) {
    substitutions[placeholder] = `arn:${partition}:states:::${api}`;
  }
  for (const [name, { placeholder }] of Object.entries(WORKFLOW_FUNCTIONS)) {
    substitutions[placeholder] = functionArns[name as WorkflowFunction];
  }
  return substitutions;
}

/** Fills `${Name}` placeholders of an ASL text; throws naming any placeholder left unfilled. */
export function substitute(definition: string, substitutions: Readonly<Record<string, string>>): string {
  const missing = new Set<string>();
  const filled = definition.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => {
    const value = substitutions[name];
    if (value === undefined) missing.add(name);
    return value ?? whole;
  });
  if (missing.size > 0) throw new Error(`no substitution for ${[...missing].join(', ')}`);
  return filled;
}

/** The placeholders a definition uses. */
export function placeholdersOf(definition: string): Set<string> {
  return new Set([...definition.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] as string));
}

/**
 * The EventBridge rule pattern: S3 "Object Created" for a `.m3u8` under an encoder folder of any
 * channel (`<channel>/<encoder>/…` or, for the single-channel layout, `<encoder>/…`), uploaded
 * (PutObject, a multipart upload), not copied: the workflow writes into an encoder folder only by
 * CopyObject (a spliced playlist, functions/hls/splice.ts), and its own writes start no execution.
 */
export function playlistEventPattern(bucketName: string, encoders: readonly string[]) {
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: {
      bucket: { name: [bucketName] },
      object: { key: encoders.flatMap((e) => [{ wildcard: `${e}/*.m3u8` }, { wildcard: `*/${e}/*.m3u8` }]) },
      reason: [{ 'anything-but': ['CopyObject'] }],
    },
  };
}

/** The watchdog's scheduled input: the same shape as an S3 event, so one path reads the bucket name. */
export function watchdogInput(bucketName: string) {
  return {
    'detail-type': 'Scheduled Event',
    source: 'hls-failover.watchdog',
    detail: { bucket: { name: bucketName } },
  };
}
