/**
 * Least privilege: every action named, object ARNs scoped to the key layout, table items scoped to
 * the kind of record (dynamodb:LeadingKeys), and each Lambda holding only what its Task needs.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import type { WorkflowFunction } from '../../../functions/workflow';
import type { HlsFailoverApp } from '../../../infra/create-app';
import { workflowGrants } from '../../../infra/permissions';
import { asList, logicalId, type PolicyStatementJson, policyStatements, synthesize } from './support';

let built: HlsFailoverApp;
let template: Template;

beforeAll(() => {
  ({ template, ...built } = synthesize());
});

/** A synthesized app and its template. */
type Synthesized = { readonly built: HlsFailoverApp; readonly template: Template };

/** The statements of one function's role (in the default app, or `from`). */
function statementsOf(
  name: WorkflowFunction,
  from: Synthesized = { built, template },
): PolicyStatementJson[] {
  const role = logicalId(from.built, from.built.stack.functions[name].role);
  return policyStatements(from.template)
    .filter(({ roles }) => roles.includes(role))
    .map(({ statement }) => statement);
}

/** Action → the bucket suffixes it is allowed (or denied) on ('' for the bucket itself), for one function. */
function s3Access(
  name: WorkflowFunction,
  effect: 'Allow' | 'Deny' = 'Allow',
  from: Synthesized = { built, template },
): Record<string, string[]> {
  const bucketId = logicalId(from.built, from.built.stack.bucket);
  const suffix = (resource: unknown): string => {
    const json = JSON.stringify(resource);
    if (json === JSON.stringify({ 'Fn::GetAtt': [bucketId, 'Arn'] })) return '';
    const join = (resource as { 'Fn::Join': [string, [unknown, string]] })['Fn::Join'];
    expect(join[1][0]).toEqual({ 'Fn::GetAtt': [bucketId, 'Arn'] });
    return join[1][1];
  };
  const access: Record<string, string[]> = {};
  for (const statement of statementsOf(name, from).filter((s) => s.Effect === effect)) {
    for (const action of asList(statement.Action).filter((a) => a.startsWith('s3:'))) {
      access[action] = [...(access[action] ?? []), ...asList(statement.Resource).map(suffix)].sort();
    }
  }
  return access;
}

/** Action → the partition key patterns (dynamodb:LeadingKeys) it is allowed on in the state table; '(any)' without a condition. */
function tableAccess(
  name: WorkflowFunction,
  from: Synthesized = { built, template },
): Record<string, string[]> {
  const tableArn = { 'Fn::GetAtt': [logicalId(from.built, from.built.stack.stateTable), 'Arn'] };
  const access: Record<string, string[]> = {};
  for (const statement of statementsOf(name, from)) {
    const actions = asList(statement.Action).filter((a) => a.startsWith('dynamodb:'));
    if (actions.length === 0) continue;
    expect(statement).toMatchObject({ Effect: 'Allow', Resource: tableArn });
    const condition = statement.Condition as
      | { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': string | string[] } }
      | undefined;
    const keys =
      condition === undefined
        ? ['(any)']
        : asList(condition['ForAllValues:StringLike']['dynamodb:LeadingKeys']);
    for (const action of actions) access[action] = [...(access[action] ?? []), ...keys].sort();
  }
  return access;
}

const ENCODER_OBJECTS = ['/*/failover/*', '/*/primary/*', '/failover/*', '/primary/*'];
const STATE = ['channel/*'];
const ACCEPTED = ['accepted/*'];
const OUTPUTS = ['/*/index.m3u8', '/*/steering.json', '/index.m3u8', '/steering.json'];
const sorted = (...lists: string[][]) => lists.flat().sort();

describe('no wildcard actions', () => {
  it('holds for every statement of every IAM policy in the template', () => {
    const wildcards = policyStatements(template).flatMap(({ policy, statement }) =>
      asList(statement.Action)
        .filter((action) => action.includes('*'))
        .map((action) => `${policy}: ${action}`),
    );
    expect(wildcards).toEqual([]);
  });

  it('leaves Resource "*" only to X-Ray and Step Functions log delivery, which have no resource-level permissions', () => {
    const unscoped = policyStatements(template)
      .filter(({ statement }) => asList(statement.Resource).includes('*'))
      .flatMap(({ statement }) => asList(statement.Action));
    expect(
      unscoped.every((a) =>
        /^xray:|^logs:(\w*LogDelivery|\w*LogDeliveries|DescribeLogGroups|DescribeResourcePolicies|PutResourcePolicy)$/.test(
          a,
        ),
      ),
    ).toBe(true);
  });
});

describe('bucket and table access per function (allowed actions; the denied ones are listed apart)', () => {
  it('ValidatePlaylist reads encoder objects; reads and writes only the accepted versions in the table', () => {
    expect(s3Access('validatePlaylist')).toEqual({
      's3:GetObject': ENCODER_OBJECTS,
      's3:ListBucket': [''],
    });
    expect(tableAccess('validatePlaylist')).toEqual({
      'dynamodb:GetItem': ACCEPTED,
      'dynamodb:PutItem': ACCEPTED,
    });
  });

  it("CheckFreshness reads encoder objects; queries the accepted versions; reads and writes only the channels' state in the table", () => {
    expect(s3Access('checkFreshness')).toEqual({
      's3:GetObject': ENCODER_OBJECTS,
      's3:ListBucket': [''],
    });
    expect(tableAccess('checkFreshness')).toEqual({
      'dynamodb:GetItem': STATE,
      'dynamodb:PutItem': STATE,
      'dynamodb:Query': ACCEPTED,
    });
  });

  it("MergeIndex reads encoder objects, index and steering; writes index and steering; reads and writes the channels' state", () => {
    expect(s3Access('mergeIndex')).toEqual({
      's3:GetObject': sorted(ENCODER_OBJECTS, OUTPUTS),
      's3:PutObject': OUTPUTS,
      's3:ListBucket': [''],
    });
    expect(tableAccess('mergeIndex')).toEqual({ 'dynamodb:GetItem': STATE, 'dynamodb:PutItem': STATE });
  });

  it('MergeIndex may never write under an encoder folder: */index.m3u8 also matches <channel>/<encoder>/index.m3u8', () => {
    expect(s3Access('mergeIndex', 'Deny')).toEqual({ 's3:PutObject': ENCODER_OBJECTS });
    expect(statementsOf('mergeIndex')).toContainEqual(
      expect.objectContaining({
        Sid: 'NeverWriteUnderEncoderFolders',
        Effect: 'Deny',
        Action: 's3:PutObject',
      }),
    );
  });

  it('no other function holds a Deny (none has a grant reaching into encoder folders it must not write)', () => {
    const denying = (Object.keys(built.stack.functions) as WorkflowFunction[]).filter(
      (name) => Object.keys(s3Access(name, 'Deny')).length > 0,
    );
    expect(denying).toEqual(['mergeIndex']);
  });

  it("WithdrawPlaylists reads the channels' state and accepted versions, records the withdrawal done, stages splices under the state prefix, writes only under encoder folders (spliced playlists and copied segments) and deletes only encoder media playlists", () => {
    const mediaPlaylists = ['/*/failover/*.m3u8', '/*/primary/*.m3u8', '/failover/*.m3u8', '/primary/*.m3u8'];
    expect(s3Access('withdrawPlaylists')).toEqual({
      's3:DeleteObject': mediaPlaylists,
      's3:GetObject': [...ENCODER_OBJECTS, '/_hls-failover/splices/*'].sort(),
      's3:PutObject': [...ENCODER_OBJECTS, '/_hls-failover/splices/*'].sort(),
      's3:ListBucket': [''],
    });
    expect(tableAccess('withdrawPlaylists')).toEqual({
      'dynamodb:GetItem': [...ACCEPTED, ...STATE].sort(),
      'dynamodb:PutItem': STATE,
    });
  });

  it('PublishViewerPlaylists has no bucket or table access in direct mode (it is never invoked)', () => {
    expect(s3Access('publishPlaylists')).toEqual({});
    expect(tableAccess('publishPlaylists')).toEqual({});
  });

  it("PublishViewerPlaylists and CheckCounterpartFreshness, published mode: read the encoders' objects and the published playlists, write only the published folder (never under an encoder folder), read accepted versions (and the channel state)", () => {
    const { template: t, ...b } = synthesize({ publishing: 'published' });
    const published = { built: b, template: t };
    const live = ['/*/live/*', '/live/*'];
    expect(s3Access('publishPlaylists', 'Allow', published)).toEqual({
      's3:GetObject': [...ENCODER_OBJECTS, ...live].sort(),
      's3:PutObject': live,
      's3:ListBucket': [''],
    });
    expect(s3Access('publishPlaylists', 'Deny', published)).toEqual({ 's3:PutObject': ENCODER_OBJECTS });
    expect(tableAccess('publishPlaylists', published)).toEqual({
      'dynamodb:GetItem': [...ACCEPTED, ...STATE].sort(),
    });
    // CheckCounterpartFreshness publishes an upload's rendition itself: the same bucket access.
    expect(s3Access('checkFreshness', 'Allow', published)).toEqual({
      's3:GetObject': [...ENCODER_OBJECTS, ...ENCODER_OBJECTS, ...live].sort(),
      's3:PutObject': live,
      's3:ListBucket': [''],
    });
    expect(s3Access('checkFreshness', 'Deny', published)).toEqual({ 's3:PutObject': ENCODER_OBJECTS });
  });

  it('PublishMetrics has no bucket or table access (it only writes EMF log lines)', () => {
    expect(s3Access('publishMetrics')).toEqual({});
    expect(tableAccess('publishMetrics')).toEqual({});
  });

  it("RecordInvalidPlaylist reads and writes only the channel's state (the invalid-playlist incident)", () => {
    expect(s3Access('recordInvalidPlaylist')).toEqual({});
    expect(tableAccess('recordInvalidPlaylist')).toEqual({
      'dynamodb:GetItem': STATE,
      'dynamodb:PutItem': STATE,
    });
  });

  it("MarkAlertsSent reads and writes only the channel's state (its alert outbox)", () => {
    expect(s3Access('markAlertsSent')).toEqual({});
    expect(tableAccess('markAlertsSent')).toEqual({
      'dynamodb:GetItem': STATE,
      'dynamodb:PutItem': STATE,
    });
  });

  it("Watchdog reads encoder objects and the index and steering it compares, lists the channels (a Scan), queries the accepted versions and reads and writes the channels' state", () => {
    expect(s3Access('watchdog')).toEqual({
      's3:GetObject': [...ENCODER_OBJECTS, ...OUTPUTS].sort(),
      's3:ListBucket': [''],
    });
    expect(tableAccess('watchdog')).toEqual({
      'dynamodb:GetItem': STATE,
      'dynamodb:PutItem': STATE,
      'dynamodb:Query': ACCEPTED,
      'dynamodb:Scan': ['(any)'],
    });
  });

  it('no function may delete, update or batch-write table items, nor touch the table itself', () => {
    const all = policyStatements(template).flatMap(({ statement }) => asList(statement.Action));
    expect(
      all.filter((a) => /^dynamodb:/.test(a) && !/^dynamodb:(GetItem|PutItem|Query|Scan)$/.test(a)),
    ).toEqual([]);
  });

  it('no function may delete anything outside the encoder playlists, or touch object versions or ACLs', () => {
    const all = policyStatements(template).flatMap(({ statement }) => asList(statement.Action));
    expect(
      all.filter((a) => /^s3:/.test(a) && !/^s3:(GetObject|PutObject|ListBucket|DeleteObject)$/.test(a)),
    ).toEqual([]);
  });

  it('each function writes only to its own log group', () => {
    for (const [name, fn] of Object.entries(built.stack.functions)) {
      const logs = statementsOf(name as WorkflowFunction).filter((s) =>
        asList(s.Action).some((a) => a.startsWith('logs:')),
      );
      expect(logs).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logicalId(built, fn.logGroup), 'Arn'] },
        },
      ]);
    }
  });
});

describe('workflowGrants', () => {
  const grants = workflowGrants({
    bucketArn: 'arn:aws:s3:::origin',
    encoders: ['cam-a', 'cam-b'],
    statePrefix: '_hls-failover/',
    stateTableArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/state',
  });

  it('follows the configured encoder folders and the state table', () => {
    const resources = Object.values(grants).flatMap((g) => g.statements.flatMap((s) => s.resources));
    expect(resources).toEqual(
      expect.arrayContaining([
        'arn:aws:s3:::origin/cam-a/*',
        'arn:aws:s3:::origin/*/cam-a/*',
        'arn:aws:s3:::origin/cam-b/*',
        'arn:aws:s3:::origin/*/cam-b/*',
        'arn:aws:s3:::origin/*/index.m3u8',
        'arn:aws:dynamodb:us-east-1:000000000000:table/state',
      ]),
    );
    expect(resources.some((r) => r.includes('primary'))).toBe(false);
  });

  it('lists every wildcard resource of an Allow with a reason, for the IAM5 acknowledgements', () => {
    for (const { statements, wildcards } of Object.values(grants)) {
      const allowed = statements.filter((s) => s.effect === 'Allow');
      const withWildcard = new Set(allowed.flatMap((s) => s.resources).filter((r) => r.includes('*')));
      expect(new Set(wildcards.map((w) => w.arn))).toEqual(withWildcard);
      for (const w of wildcards) expect(w.reason.length).toBeGreaterThan(30);
    }
  });

  it('never grants ListBucket on objects, nor any action on "*"', () => {
    for (const { statements } of Object.values(grants)) {
      for (const s of statements) {
        const json = s.toStatementJson() as { Action: string | string[]; Resource: string | string[] };
        if (asList(json.Action).includes('s3:ListBucket'))
          expect(asList(json.Resource)).toEqual(['arn:aws:s3:::origin']);
        expect(asList(json.Resource)).not.toContain('*');
      }
    }
  });
});
