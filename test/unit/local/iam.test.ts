/**
 * IAM as AWS would apply it: every AWS call a handler or the state machine really makes, evaluated
 * with the roles and resource policies of the synthesized template (test/unit/infra/support.ts
 * builds it the way `cdk synth` does). Each call must be allowed; each call a function must never
 * make must fail as AccessDenied naming role, action and resource.
 */
import { acceptedKey, stateKey } from '../../../functions/keys';
import type { WorkflowFunction } from '../../../functions/workflow';
import type { HlsFailoverApp } from '../../../infra/create-app';
import { AccessDeniedError, type AwsRequest } from '../../../local/aws-request';
import { createResolver, resourcesOfType, type Template } from '../../../local/cloudformation';
import { createIamAuthorizer } from '../../../local/iam';
import { logicalId, synthesize } from '../infra/support';

const ACCOUNT = {
  region: 'us-east-1',
  accountId: '000000000000',
  partition: 'aws',
  stackName: 'hls-failover',
} as const;
const BUCKET = 'media';
const S3 = `arn:aws:s3:::${BUCKET}`;
/** The partition key of the item a GetItem / PutItem names (dynamodb:LeadingKeys). */
const item = (key: string) => ({ 'dynamodb:LeadingKeys': [key] });
const HEALTH = (channel: string) => item(stateKey(channel).group);
const ACCEPTED = (channel: string, rest: string) => item(acceptedKey(channel, 'primary', rest).group);

let built: HlsFailoverApp;
let template: Template;
let resolve: (value: unknown) => unknown;
let authorize: (request: AwsRequest) => void;

beforeAll(() => {
  const synthesized = synthesize();
  built = synthesized;
  template = synthesized.template.toJSON() as Template;
  resolve = createResolver(template, {
    ...ACCOUNT,
    physicalNames: { [logicalId(built, built.stack.bucket)]: BUCKET },
  });
  authorize = createIamAuthorizer(template, resolve);
});

const roleOf = (name: WorkflowFunction) => logicalId(built, built.stack.functions[name].role);
const stateMachineRole = () => logicalId(built, built.stack.stateMachine.role);
/** A token of the stack (e.g. `fn.functionArn`) as the local account sees it. */
const local = (token: string) => String(resolve(built.stack.resolve(token)));

/** [function, action, resource, context?]: one S3 or DynamoDB call a handler makes. */
type Call = [WorkflowFunction, string, string, Record<string, string | string[]>?];
/** Stands for the state table's ARN in the local account (known once the stack is built). */
const TABLE = 'state-table';
/** A call's resource as the local account names it. */
const resourceOf = (resource: string) =>
  resource === TABLE ? local(built.stack.stateTable.tableArn) : resource;

/** The denial `request` gets, or undefined when it is allowed. */
function denial(request: AwsRequest): AccessDeniedError | undefined {
  try {
    authorize(request);
    return undefined;
  } catch (error) {
    if (error instanceof AccessDeniedError) return error;
    throw error;
  }
}

describe('every S3 and DynamoDB call a handler makes is allowed (ch1 = a channel, "" = the single-channel layout)', () => {
  const calls: Call[] = [
    // ValidatePlaylist: the event's playlist, its last accepted version, the 404 of a first version
    ['validatePlaylist', 's3:GetObject', `${S3}/ch1/primary/720p.m3u8`],
    ['validatePlaylist', 's3:GetObject', `${S3}/primary/index.m3u8`],
    ['validatePlaylist', 'dynamodb:GetItem', TABLE, ACCEPTED('ch1', '720p.m3u8')],
    ['validatePlaylist', 'dynamodb:PutItem', TABLE, ACCEPTED('ch1', '720p.m3u8')],
    ['validatePlaylist', 'dynamodb:PutItem', TABLE, ACCEPTED('', 'index.m3u8')],
    ['validatePlaylist', 's3:ListBucket', S3],
    // CheckCounterpartFreshness: the counterpart's playlist, the channel's health
    ['checkFreshness', 's3:GetObject', `${S3}/ch1/failover/720p.m3u8`],
    ['checkFreshness', 'dynamodb:GetItem', TABLE, HEALTH('ch1')],
    ['checkFreshness', 'dynamodb:PutItem', TABLE, HEALTH('ch1')],
    ['checkFreshness', 'dynamodb:PutItem', TABLE, HEALTH('')],
    ['checkFreshness', 's3:ListBucket', S3],
    // MergeIndex: health, masters, the encoder folder of an encoder without a master, index and steering
    ['mergeIndex', 'dynamodb:GetItem', TABLE, HEALTH('ch1')],
    ['mergeIndex', 's3:GetObject', `${S3}/ch1/primary/master.m3u8`],
    ['mergeIndex', 's3:ListBucket', S3, { 's3:prefix': 'ch1/failover/' }],
    ['mergeIndex', 's3:GetObject', `${S3}/ch1/failover/720p/index.m3u8`],
    ['mergeIndex', 's3:GetObject', `${S3}/ch1/index.m3u8`],
    ['mergeIndex', 's3:PutObject', `${S3}/ch1/index.m3u8`],
    ['mergeIndex', 's3:GetObject', `${S3}/ch1/steering.json`],
    ['mergeIndex', 's3:PutObject', `${S3}/ch1/steering.json`],
    ['mergeIndex', 's3:PutObject', `${S3}/sports/ch2/index.m3u8`],
    ['mergeIndex', 's3:PutObject', `${S3}/index.m3u8`],
    ['mergeIndex', 's3:PutObject', `${S3}/steering.json`],
    ['mergeIndex', 'dynamodb:PutItem', TABLE, HEALTH('sports/ch2')],
    // WithdrawStalePlaylists: health, the stalled encoder's folder, its media playlists
    ['withdrawPlaylists', 'dynamodb:GetItem', TABLE, HEALTH('ch1')],
    ['withdrawPlaylists', 's3:ListBucket', S3, { 's3:prefix': 'ch1/failover/' }],
    ['withdrawPlaylists', 's3:DeleteObject', `${S3}/ch1/failover/720p.m3u8`],
    ['withdrawPlaylists', 's3:DeleteObject', `${S3}/ch1/failover/720p/index.m3u8`],
    ['withdrawPlaylists', 's3:DeleteObject', `${S3}/failover/index.m3u8`],
    // Watchdog: the list of channels, each channel's health and playlists
    ['watchdog', 'dynamodb:Scan', TABLE],
    ['watchdog', 'dynamodb:GetItem', TABLE, HEALTH('ch1')],
    ['watchdog', 's3:GetObject', `${S3}/ch1/primary/720p.m3u8`],
    ['watchdog', 'dynamodb:PutItem', TABLE, HEALTH('ch1')],
    // RecordInvalidPlaylist: the channel's state (the invalid-playlist incident)
    ['recordInvalidPlaylist', 'dynamodb:GetItem', TABLE, HEALTH('')],
    ['recordInvalidPlaylist', 'dynamodb:PutItem', TABLE, HEALTH('')],
  ];

  // A rest parameter: jest would take a fourth declared parameter for the `done` callback.
  it.each(calls)('%s may %s %s %j', (...[name, action, resource, context]: Call) => {
    const request = {
      role: roleOf(name),
      action,
      resource: resourceOf(resource),
      ...(context ? { context } : {}),
    };
    expect(denial(request)).toBeUndefined();
  });
});

describe("the state machine's own calls are allowed", () => {
  it('invokes each of the nine workflow functions', () => {
    const functions = Object.values(built.stack.functions);
    expect(functions).toHaveLength(9);
    for (const fn of functions) {
      const request = {
        role: stateMachineRole(),
        action: 'lambda:InvokeFunction',
        resource: local(fn.functionArn),
      };
      expect(denial(request)).toBeUndefined();
    }
  });

  it('publishes to the alert topic (with the KMS key policy of its encryption key)', () => {
    const topic = local(built.stack.alertTopic.topicArn);
    expect(denial({ role: stateMachineRole(), action: 'sns:Publish', resource: topic })).toBeUndefined();
  });

  it('starts executions of itself (the watchdog run), and EventBridge may start it too', () => {
    const stateMachine = local(built.stack.stateMachine.stateMachineArn);
    const [eventsRole] = resourcesOfType(template, 'AWS::IAM::Role').filter((id) =>
      id.startsWith('EventsRole'),
    );
    for (const role of [stateMachineRole(), eventsRole as string]) {
      expect(denial({ role, action: 'states:StartExecution', resource: stateMachine })).toBeUndefined();
    }
  });
});

describe('a call the policies do not allow fails as AccessDenied naming role, action, resource and why', () => {
  const denied: [string, Call, RegExp][] = [
    // The defect of issue 11: */index.m3u8 also matches an encoder's media playlist named index.m3u8.
    [
      'MergeIndex overwriting an encoder media playlist named index.m3u8',
      ['mergeIndex', 's3:PutObject', `${S3}/ch1/primary/index.m3u8`],
      /explicit deny by statement "NeverWriteUnderEncoderFolders"/,
    ],
    [
      "MergeIndex overwriting the single-channel layout's encoder playlist",
      ['mergeIndex', 's3:PutObject', `${S3}/failover/index.m3u8`],
      /explicit deny by statement "NeverWriteUnderEncoderFolders"/,
    ],
    [
      "MergeIndex overwriting a rendition folder's index.m3u8",
      ['mergeIndex', 's3:PutObject', `${S3}/ch1/primary/720p/index.m3u8`],
      /explicit deny by statement "NeverWriteUnderEncoderFolders"/,
    ],
    [
      'MergeIndex writing steering.json into an encoder folder',
      ['mergeIndex', 's3:PutObject', `${S3}/ch1/primary/steering.json`],
      /explicit deny by statement "NeverWriteUnderEncoderFolders"/,
    ],
    [
      'ValidatePlaylist deleting a playlist',
      ['validatePlaylist', 's3:DeleteObject', `${S3}/ch1/primary/720p.m3u8`],
      /implicit deny: no statement of the role's policies \(ValidatePlaylistRoleDefaultPolicy\w+\) allows it/,
    ],
    [
      "ValidatePlaylist writing a channel's state (it writes accepted versions only)",
      ['validatePlaylist', 'dynamodb:PutItem', TABLE, HEALTH('ch1')],
      /implicit deny/,
    ],
    [
      'CheckFreshness writing an accepted version',
      ['checkFreshness', 'dynamodb:PutItem', TABLE, ACCEPTED('ch1', '720p.m3u8')],
      /implicit deny/,
    ],
    [
      'CheckFreshness scanning the table (only the watchdog lists channels)',
      ['checkFreshness', 'dynamodb:Scan', TABLE],
      /implicit deny/,
    ],
    [
      "WithdrawPlaylists writing an accepted version (it writes only the channel's state)",
      ['withdrawPlaylists', 'dynamodb:PutItem', TABLE, ACCEPTED('ch1', '720p.m3u8')],
      /implicit deny/,
    ],
    ['Watchdog deleting an item', ['watchdog', 'dynamodb:DeleteItem', TABLE, HEALTH('ch1')], /implicit deny/],
    [
      'CheckFreshness writing an encoder playlist',
      ['checkFreshness', 's3:PutObject', `${S3}/ch1/primary/720p.m3u8`],
      /implicit deny/,
    ],
    [
      'WithdrawPlaylists writing index.m3u8',
      ['withdrawPlaylists', 's3:PutObject', `${S3}/ch1/index.m3u8`],
      /implicit deny/,
    ],
    [
      'WithdrawPlaylists deleting index.m3u8',
      ['withdrawPlaylists', 's3:DeleteObject', `${S3}/ch1/index.m3u8`],
      /implicit deny/,
    ],
    [
      'WithdrawPlaylists deleting steering.json',
      ['withdrawPlaylists', 's3:DeleteObject', `${S3}/steering.json`],
      /implicit deny/,
    ],
    [
      'WithdrawPlaylists deleting a segment',
      ['withdrawPlaylists', 's3:DeleteObject', `${S3}/ch1/failover/720p/seg_00001.ts`],
      /implicit deny/,
    ],
    [
      'Watchdog reading another bucket',
      ['watchdog', 's3:GetObject', 'arn:aws:s3:::another-bucket/ch1/primary/720p.m3u8'],
      /implicit deny/,
    ],
    [
      'MergeIndex listing another bucket',
      ['mergeIndex', 's3:ListBucket', 'arn:aws:s3:::another-bucket'],
      /implicit deny/,
    ],
    [
      'PublishMetrics reading the bucket at all',
      ['publishMetrics', 's3:GetObject', `${S3}/ch1/index.m3u8`],
      /implicit deny: no statement of the role's policies/,
    ],
    [
      'PublishMetrics reading the table at all',
      ['publishMetrics', 'dynamodb:GetItem', TABLE, HEALTH('ch1')],
      /implicit deny: no statement of the role's policies/,
    ],
    [
      "a function's call without TLS (the bucket policy's SSL-only statement)",
      ['validatePlaylist', 's3:GetObject', `${S3}/ch1/primary/720p.m3u8`, { 'aws:SecureTransport': 'false' }],
      /explicit deny by statement #1 of StorageBucketPolicy\w+/,
    ],
  ];

  it.each(denied)('%s', (_title, [name, action, given, context], reason) => {
    const resource = resourceOf(given);
    const request = { role: roleOf(name), action, resource, ...(context ? { context } : {}) };
    const error = denial(request);
    expect(error?.name).toBe('AccessDenied');
    expect(error?.message).toContain(`role ${roleOf(name)}`);
    expect(error?.message).toContain(`perform ${action} on ${resource}`);
    expect(error?.message).toMatch(reason);
    expect(error?.request).toEqual(request);
  });

  it('a Lambda role publishing to the alert topic (the topic policy admits CloudWatch alarms only)', () => {
    const topic = local(built.stack.alertTopic.topicArn);
    expect(denial({ role: roleOf('mergeIndex'), action: 'sns:Publish', resource: topic })?.message).toMatch(
      /perform sns:Publish on .* \(implicit deny/,
    );
  });

  it('the state machine invoking a function that is not one of its Tasks', () => {
    const other = 'arn:aws:lambda:us-east-1:000000000000:function:someone-else';
    expect(
      denial({ role: stateMachineRole(), action: 'lambda:InvokeFunction', resource: other })?.message,
    ).toMatch(
      /implicit deny: no statement of the role's policies \(StateMachineRoleDefaultPolicy\w+, StartChannelChecks\w+\)/,
    );
  });

  it('a role the template does not have', () => {
    expect(
      denial({ role: 'NoSuchRole', action: 's3:GetObject', resource: `${S3}/ch1/index.m3u8` })?.message,
    ).toContain('the template has no such role');
  });
});

describe('what else the evaluator takes from the template', () => {
  /** The template with `change` applied to a deep copy. */
  const changed = (
    change: (resources: Record<string, { Type: string; Properties: Record<string, unknown> }>) => void,
  ) => {
    const copy = structuredClone(template) as Template;
    change(copy.Resources as never);
    return createIamAuthorizer(
      copy,
      createResolver(copy, { ...ACCOUNT, physicalNames: { [logicalId(built, built.stack.bucket)]: BUCKET } }),
    );
  };

  it('publishing to the encrypted topic needs the key policy to trust the account (kms:GenerateDataKey)', () => {
    const withoutRootTrust = changed((resources) => {
      for (const resource of Object.values(resources)) {
        if (resource.Type !== 'AWS::KMS::Key') continue;
        const policy = resource.Properties.KeyPolicy as { Statement: { Sid?: string }[] };
        policy.Statement = policy.Statement.filter((s) => s.Sid !== undefined);
      }
    });
    const topic = local(built.stack.alertTopic.topicArn);
    expect(() =>
      withoutRootTrust({ role: stateMachineRole(), action: 'sns:Publish', resource: topic }),
    ).toThrow(
      /perform kms:GenerateDataKey on arn:aws:kms:.* \(implicit deny: the resource policy AlertKey\w+\.KeyPolicy does not allow it\)/,
    );
  });

  it('names AWS managed policies it cannot evaluate when it denies', () => {
    const managed = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';
    const role = roleOf('publishMetrics');
    const withManaged = changed((resources) => {
      (resources[role] as { Properties: Record<string, unknown> }).Properties.ManagedPolicyArns = [managed];
    });
    expect(() => withManaged({ role, action: 's3:GetObject', resource: `${S3}/ch1/index.m3u8` })).toThrow(
      `not evaluated locally: ${managed}`,
    );
  });

  it('refuses a template whose policy is not a valid IAM policy, naming it', () => {
    const role = roleOf('watchdog');
    expect(() =>
      changed((resources) => {
        (resources[role] as { Properties: Record<string, unknown> }).Properties.Policies = [
          {
            PolicyName: 'Broken',
            PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Maybe' }] },
          },
        ];
      }),
    ).toThrow(`${role}/Broken`);
  });
});
