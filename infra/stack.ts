/**
 * The hls-failover stack: media bucket → EventBridge → Express state machine (the ASL file in
 * statemachine/) with its Lambdas → index.m3u8 / steering.json; a watchdog schedule; SNS alerts,
 * alarms and a dashboard; CloudFront for the viewers.
 */
import {
  Annotations,
  Aws,
  CfnOutput,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { parseSettings, type Settings, STATE_TABLE_ENV, settingsToEnv } from '../functions/config';
import { STATE_TABLE_PARTITION_KEY, STATE_TABLE_SORT_KEY } from '../functions/dynamodb-store';
import { ConfigInvalidError } from '../functions/hls/errors';
import {
  buildSubstitutions,
  playlistEventPattern,
  STATE_MACHINE_FILE,
  WORKFLOW_FUNCTIONS,
  type WorkflowFunction,
  watchdogInput,
} from '../functions/workflow';
import { FailoverFunction } from './constructs/failover-function';
import { HealthMonitoring } from './constructs/health-monitoring';
import { MediaStorage } from './constructs/media-storage';
import { PlaybackDistribution } from './constructs/playback-distribution';
import { acknowledge, acknowledgeWildcardResources } from './nag';
import { encoderGrants, workflowGrants } from './permissions';
import { relatedSettingProblems } from './settings';

export interface HlsFailoverStackProps extends StackProps {
  /**
   * Validated settings (read them from the settings file with `settingsFromFile`).
   * @default - the default of every setting
   */
  readonly settings?: Settings;
}

/**
 * How long, and how often, EventBridge retries starting the workflow (its defaults are 24 h and 185
 * attempts). A playlist event is stale within seconds, and an event older than two watchdog periods
 * has been overtaken: by then a watchdog run has checked every channel against the clock. What is
 * still undelivered goes to the dead-letter queue, from which `hls-failover replay` runs it again.
 */
export function eventDelivery(watchdogRateMinutes: number) {
  return { retryAttempts: 4, maxEventAge: Duration.minutes(2 * watchdogRateMinutes) } as const;
}

const LOG_LEVELS: Readonly<Record<string, sfn.LogLevel>> = {
  ALL: sfn.LogLevel.ALL,
  ERROR: sfn.LogLevel.ERROR,
  FATAL: sfn.LogLevel.FATAL,
  OFF: sfn.LogLevel.OFF,
};

const FUNCTION_DESCRIPTIONS: Readonly<Record<WorkflowFunction, string>> = {
  validatePlaylist:
    'hls-failover: validates a new encoder playlist against RFC 8216 and the last accepted one',
  checkFreshness: "hls-failover: assesses both encoders' freshness and records the channel health",
  mergeIndex: "hls-failover: merges the encoders' masters into index.m3u8 and writes steering.json",
  withdrawPlaylists:
    "hls-failover: splices (or deletes) a stalled encoder's media playlists so its viewers play on",
  publishPlaylists:
    "hls-failover (published mode): writes the viewers' media playlists from validated encoder playlists",
  publishMetrics: 'hls-failover: writes health metrics in the CloudWatch embedded metric format',
  watchdog: 'hls-failover: checks every channel against the clock on a schedule',
  recordInvalidPlaylist:
    'hls-failover: records a rejected playlist in the channel state; the first of an incident alerts on-call',
  markAlertsSent: "hls-failover: removes published alerts from their channel's outbox so none is sent twice",
};

/**
 * Memory of each function, in MB, sized by measurement (`npx tsx bench/lambda-memory.ts`: each
 * bundle in a Node process with its heap capped at the MemorySize, driven through the workflow at a
 * normal size and with every playlist at `maxPlaylistChars`, 172,410 segments). Peak RSS at the
 * largest input, over heap caps of 128, 256 and 512 MB: ValidatePlaylist 310–338 MB (its heap outgrows
 * a 128 MB cap), CheckCounterpartFreshness 155–188 MB, Watchdog 152–201 MB; the other four stay
 * under 70 MB whatever the playlist size. Lambda gives CPU in proportion to memory: ValidatePlaylist's
 * 3.5 s of CPU on the largest playlist would take about 24 s at 256 MB, close to the 30 s timeout.
 */
export const FUNCTION_MEMORY_MB: Readonly<Record<WorkflowFunction, number>> = {
  validatePlaylist: 512,
  checkFreshness: 256,
  // Not measured at its worst (a 5 M-character master, or media-only encoders whose masters it
  // synthesizes from their media playlists): it reads those as CheckCounterpartFreshness does.
  mergeIndex: 256,
  watchdog: 256,
  withdrawPlaylists: 128,
  // Reads one media playlist, its accepted record and the published one per rendition, as
  // WithdrawStalePlaylists does for a splice: sized alike, not measured at maxPlaylistChars.
  publishPlaylists: 128,
  publishMetrics: 128,
  recordInvalidPlaylist: 128,
  // Reads and writes one state record per channel alerted: no playlist in memory.
  markAlertsSent: 128,
};

/** The whole deployment of hls-failover in one stack. */
export class HlsFailoverStack extends Stack {
  /** The settings the stack was built with. */
  readonly settings: Settings;
  /** The media bucket. */
  readonly bucket: MediaStorage['bucket'];
  /** The workflow's records: each channel's state and the last accepted playlist versions. */
  readonly stateTable: dynamodb.Table;
  /** The workflow's Lambdas. */
  readonly functions: Readonly<Record<WorkflowFunction, FailoverFunction>>;
  /** The Express state machine. */
  readonly stateMachine: sfn.StateMachine;
  /** Log group of the state machine: failed executions (every event at logLevel ALL). */
  readonly stateMachineLogGroup: logs.LogGroup;
  /** Where the audit records are: the log group of PublishHealthMetrics (functions/audit.ts). */
  readonly auditLogGroup: logs.LogGroup;
  /** The alert topic. */
  readonly alertTopic: sns.Topic;
  /** Events EventBridge could not deliver to the state machine. */
  readonly deadLetterQueue: sqs.Queue;
  /** The CloudFront distribution for viewers. */
  readonly playback: PlaybackDistribution;
  /** Alarms and dashboard. */
  readonly monitoring: HealthMonitoring;
  /**
   * One managed policy per encoder folder, for the encoders' own roles or users: write (and
   * delete) under `<channel>/<encoder>/` only (infra/permissions.ts encoderGrants).
   */
  readonly encoderPolicies: Readonly<Record<string, iam.ManagedPolicy>>;

  constructor(scope: Construct, id: string, props: HlsFailoverStackProps = {}) {
    const settings = props.settings ?? parseSettings({});
    const problems = relatedSettingProblems(settings, 'setting');
    if (problems.length > 0) throw new ConfigInvalidError(problems);
    super(scope, id, {
      description: 'hls-failover: keeps a live HLS channel playing when one of two redundant encoders stalls',
      ...props,
      stackName: props.stackName ?? settings.stackName,
    });
    this.settings = settings;
    const retention = settings.logRetentionDays as logs.RetentionDays;

    // Storage
    const storage = new MediaStorage(this, 'Storage', {
      ...(settings.bucketName === undefined ? {} : { existingBucketName: settings.bucketName }),
      noncurrentVersionDays: settings.noncurrentVersionDays,
      segmentExpirationDays: settings.segmentExpirationDays,
      noncurrentSegmentDays: settings.noncurrentSegmentDays,
      segmentMinBytes: settings.segmentMinBytes,
      accessLogDays: settings.logRetentionDays,
    });
    this.bucket = storage.bucket;
    this.encoderPolicies = Object.fromEntries(
      settings.encoders.map((encoder, i) => {
        const { statements, wildcards } = encoderGrants(this.bucket.bucketArn, encoder);
        const policy = new iam.ManagedPolicy(this, `Encoder${i + 1}Policy`, {
          description: `hls-failover: lets the encoder that writes <channel>/${encoder}/ upload to and delete from that folder of the media bucket, and nothing else`,
          statements,
        });
        acknowledgeWildcardResources(policy, wildcards);
        // Ids by position (Encoder1PolicyArn, Encoder2PolicyArn): folder names may hold '.', '-', '_'.
        new CfnOutput(this, `Encoder${i + 1}PolicyArn`, {
          description: `Managed policy for the encoder writing <channel>/${encoder}/: attach it to that encoder's IAM role or user (upload and delete under its own folder only; never index.m3u8 or steering.json)`,
          value: policy.managedPolicyArn,
        });
        return [encoder, policy];
      }),
    );

    // The workflow's small conditionally written records (functions/record-store.ts), on demand:
    // a few hundred bytes to 2 KB each. Derived state, rebuilt from the encoders' next uploads, so
    // it goes with the stack (no fixed name: `cdk destroy` then `cdk deploy` works). Encrypted at
    // rest with the AWS owned key, as the bucket is with S3-managed keys (no KMS charge per request).
    this.stateTable = new dynamodb.Table(this, 'StateTable', {
      partitionKey: { name: STATE_TABLE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: STATE_TABLE_SORT_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.DEFAULT,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Lambdas, each with exactly the bucket and table access its Task needs
    const grants = workflowGrants({
      bucketArn: this.bucket.bucketArn,
      encoders: settings.encoders,
      stateTableArn: this.stateTable.tableArn,
      statePrefix: settings.statePrefix,
      ...(settings.publishing === 'published' ? { publishedFolder: settings.publishedFolder } : {}),
    });
    const environment = { ...settingsToEnv(settings), [STATE_TABLE_ENV]: this.stateTable.tableName };
    const functions = {} as Record<WorkflowFunction, FailoverFunction>;
    for (const [name, { module }] of Object.entries(WORKFLOW_FUNCTIONS) as [
      WorkflowFunction,
      (typeof WORKFLOW_FUNCTIONS)[WorkflowFunction],
    ][]) {
      const fn = new FailoverFunction(this, pascal(name), {
        module,
        environment,
        logRetention: retention,
        description: FUNCTION_DESCRIPTIONS[name],
        memorySize: FUNCTION_MEMORY_MB[name],
        tracing: settings.tracing,
      });
      for (const statement of grants[name].statements) fn.addToRolePolicy(statement);
      acknowledgeWildcardResources(fn, grants[name].wildcards);
      functions[name] = fn;
    }
    this.functions = functions;
    this.auditLogGroup = functions.publishMetrics.logGroup;

    // Alerts
    // It encrypts alerts in transit through SNS only, nothing stored: deleted with the stack (after
    // KMS's shortest waiting period) rather than left behind at a monthly charge.
    const alertKey = new kms.Key(this, 'AlertKey', {
      description: 'Encrypts the hls-failover alert topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch alarms publish to the encrypted topic with the service's own identity: the key and the
    // topic accept it only on behalf of this account's alarms in this region (confused-deputy
    // prevention; both conditions are in the requests CloudWatch makes for an alarm action).
    const ownAlarms = {
      ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
    };
    alertKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToUseTheKey',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: ownAlarms,
      }),
    );
    this.alertTopic = new sns.Topic(this, 'AlertTopic', {
      displayName: 'hls-failover alerts',
      masterKey: alertKey,
      enforceSSL: true,
    });
    this.alertTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alertTopic.topicArn],
        conditions: ownAlarms,
      }),
    );
    for (const email of settings.alertEmails) {
      this.alertTopic.addSubscription(new subscriptions.EmailSubscription(email));
    }

    // The workflow: the one ASL file, with substitutions
    // Kept when the stack is deleted (the audit trail), so its name must differ for every stack ever
    // created under this name: the stack id's UUID. A fixed name would fail `cdk deploy` after
    // `cdk destroy`, and the retry of a failed first deploy, with "already exists". Step Functions
    // log groups are named /aws/vendedlogs/… so that log delivery does not grow the account's
    // CloudWatch Logs resource policy, which is capped at 5,120 characters.
    this.stateMachineLogGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      logGroupName: Fn.join('', [
        `/aws/vendedlogs/states/${this.stackName}-`,
        Fn.select(2, Fn.split('/', Aws.STACK_ID)),
      ]),
      retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const functionArns = Object.fromEntries(
      Object.entries(functions).map(([name, fn]) => [name, fn.functionArn]),
    ) as Record<WorkflowFunction, string>;
    const logLevel = LOG_LEVELS[settings.logLevel] ?? sfn.LogLevel.ERROR;
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.EXPRESS,
      definitionBody: sfn.DefinitionBody.fromFile(STATE_MACHINE_FILE),
      definitionSubstitutions: buildSubstitutions(functionArns, this.alertTopic.topicArn, Aws.PARTITION),
      logs: {
        destination: this.stateMachineLogGroup,
        level: logLevel,
        includeExecutionData: settings.logExecutionData,
      },
      tracingEnabled: settings.tracing,
    });
    // CDK cannot see the Tasks inside a definition file: every grant is explicit. The ASL calls the
    // unqualified function ARNs, so no version or alias (`:*`) is granted.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'InvokeWorkflowFunctions',
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(functionArns),
      }),
    );
    // What topic.grantPublish gives, with exact actions (it grants kms:GenerateDataKey*).
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PublishAlerts',
        actions: ['sns:Publish'],
        resources: [this.alertTopic.topicArn],
      }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'EncryptAlerts',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [alertKey.keyArn],
      }),
    );
    // The watchdog run starts one execution per channel ($$.StateMachine.Id). A policy of its own:
    // in the role's default policy, the state machine (which depends on it) would depend on itself.
    new iam.Policy(this, 'StartChannelChecks', {
      roles: [this.stateMachine.role],
      statements: [
        new iam.PolicyStatement({
          sid: 'StartChannelChecks',
          actions: ['states:StartExecution'],
          resources: [this.stateMachine.stateMachineArn],
        }),
      ],
    });
    acknowledge(
      this.stateMachine.role,
      'AwsSolutions-IAM5[Resource::*]',
      `Step Functions log delivery (logs:CreateLogDelivery and related)${settings.tracing ? ' and X-Ray tracing' : ''} support no resource-level permissions`,
    );
    if (logLevel !== sfn.LogLevel.ALL) {
      acknowledge(
        this.stateMachine,
        'AwsSolutions-SF1',
        `logLevel=${settings.logLevel}: the audit trail is one record per execution that changed something, in the PublishHealthMetrics log (AuditLogGroup output)${logLevel === sfn.LogLevel.ERROR ? ", with every failed execution's error and cause in this log" : ''}; ALL would also log every state's data, about 50 KB per routine execution`,
      );
    }
    if (!settings.tracing) {
      acknowledge(
        this.stateMachine,
        'AwsSolutions-SF2',
        'X-Ray tracing is off by default (tracing setting): it is billed per trace, and the audit records, execution log and metrics already cover what on-call needs; turn it on to profile a deployment',
      );
    }

    // Starting the workflow: playlist events and the watchdog schedule
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the EventBridge targets',
    );
    const eventsRole = new iam.Role(this, 'EventsRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
      description: 'Lets EventBridge start the hls-failover state machine, and nothing else',
    });
    const target = (input?: events.RuleTargetInput) =>
      new targets.SfnStateMachine(this.stateMachine, {
        role: eventsRole,
        deadLetterQueue: this.deadLetterQueue,
        ...eventDelivery(settings.watchdogRateMinutes),
        ...(input === undefined ? {} : { input }),
      });
    const pattern = playlistEventPattern(this.bucket.bucketName, settings.encoders);
    new events.Rule(this, 'PlaylistRule', {
      description: 'A new .m3u8 under an encoder folder of any channel starts the failover workflow',
      eventPattern: { source: pattern.source, detailType: pattern['detail-type'], detail: pattern.detail },
      targets: [target()],
    });
    new events.Rule(this, 'WatchdogRule', {
      description: 'Runs the failover workflow on every channel against the clock',
      schedule: events.Schedule.rate(Duration.minutes(settings.watchdogRateMinutes)),
      targets: [target(events.RuleTargetInput.fromObject(watchdogInput(this.bucket.bucketName)))],
    });

    // Viewers
    this.playback = new PlaybackDistribution(this, 'Playback', {
      bucket: this.bucket,
      accessLogBucket: storage.accessLogBucket,
      statePrefix: settings.statePrefix,
      segmentCacheSeconds: settings.segmentCacheSeconds,
      steeringTtlSeconds: settings.steeringTtlSeconds,
      // Published mode: viewers read only the published playlists, never an encoder's own.
      ...(settings.publishing === 'published' ? { privatePlaylistFolders: settings.encoders } : {}),
      ...(settings.domainName === ''
        ? {}
        : { customDomain: { domainName: settings.domainName, certificateArn: settings.certificateArn } }),
    });

    // Operations
    this.monitoring = new HealthMonitoring(this, 'Monitoring', {
      namespace: settings.metricsNamespace,
      channels: settings.channels,
      encoders: settings.encoders,
      topic: this.alertTopic,
      stateMachine: this.stateMachine,
      ...(logLevel === sfn.LogLevel.OFF ? {} : { executionLog: this.stateMachineLogGroup }),
      deadLetterQueue: this.deadLetterQueue,
      watchdogRateMinutes: settings.watchdogRateMinutes,
      functions: Object.values(functions),
    });

    this.addOutputs(storage.imported);
  }

  private addOutputs(bucketImported: boolean): void {
    const domain = this.playback.domainName;
    new CfnOutput(this, 'PlaybackUrlPattern', {
      description:
        'Playback URL of a channel: replace <channel> (drop "<channel>/" for the single-channel layout)',
      value: `https://${domain}/<channel>/index.m3u8`,
    });
    new CfnOutput(this, 'DistributionDomainName', {
      description: 'CloudFront domain; point a custom domainName at it (CNAME or alias record)',
      value: this.playback.distribution.distributionDomainName,
    });
    new CfnOutput(this, 'BucketName', {
      description: 'Encoders write to <channel>/<encoder>/ in this bucket',
      value: this.bucket.bucketName,
    });
    new CfnOutput(this, 'StateTableName', {
      description: "DynamoDB table of each channel's state (hls-failover status reads it)",
      value: this.stateTable.tableName,
    });
    new CfnOutput(this, 'AlertTopicArn', {
      description: 'SNS topic of failover alerts and alarms (subscribe more endpoints here)',
      value: this.alertTopic.topicArn,
    });
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'StateMachineLogGroup', {
      description:
        'Execution log of the workflow: failed executions with their error and cause (every event at logLevel ALL)',
      value: this.stateMachineLogGroup.logGroupName,
    });
    new CfnOutput(this, 'AuditLogGroup', {
      description:
        'The audit trail: one record per execution that changed something (the PublishHealthMetrics log)',
      value: this.auditLogGroup.logGroupName,
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.monitoring.dashboard.dashboardName}`,
    });
    if (bucketImported) {
      const message =
        'Existing bucket: turn on "Send notifications to Amazon EventBridge" in its properties, and add to its ' +
        'policy (1) the CloudFront OAC grant (s3:GetObject on <bucket>/* for cloudfront.amazonaws.com with ' +
        'AWS:SourceArn = this distribution) and (2) a Deny of s3:GetObject on <bucket>/<statePrefix>* for ' +
        'cloudfront.amazonaws.com; and (3) lifecycle rules that expire media segments (docs/settings.md, ' +
        '"Storage lifecycle"). This stack cannot change a bucket it does not own.';
      new CfnOutput(this, 'ExistingBucketSetup', { description: 'Manual steps', value: message });
      Annotations.of(this).addWarningV2('hls-failover:existing-bucket', message);
    }
  }
}

/** `validatePlaylist` → `ValidatePlaylist`. */
function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
