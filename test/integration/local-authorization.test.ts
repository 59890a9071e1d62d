/**
 * The IAM seam of the local runtime (local/aws-request.ts): every call a role makes, by a Lambda's
 * bundle to S3 or by the state machine to Lambda, reaches the Authorizer with the role, action and
 * resource IAM would evaluate, and a denial fails as AWS fails it. The seam tests use a stub that
 * denies one action; the last ones evaluate the synthesized template's real policies (local/iam.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseSettings } from '../../functions/config';
import { DynamoRecordStore } from '../../functions/dynamodb-store';
import { acceptedKey, stateKey } from '../../functions/keys';
import { AccessDeniedError, type AwsRequest, localAccessKeyId } from '../../local/aws-request';
import { tablesOf } from '../../local/cloudformation';
import { type DynamoDbEndpoint, startDynamoDbEndpoint } from '../../local/dynamodb-endpoint';
import { lambdaFunctionsOf } from '../../local/lambda-host';
import {
  iamAuthorizer,
  LOCAL_ACCOUNT,
  type LocalRuntime,
  loadLocalStack,
  localStateTable,
  startLocalRuntime,
} from '../../local/runtime';
import { type S3Endpoint, startS3Endpoint } from '../../local/s3-endpoint';
import { fixture, mediaPlaylist } from '../support/playlists';

/** An Authorizer that records every request and denies those `deny` matches. */
function stubAuthorizer(deny: (request: AwsRequest) => boolean) {
  const seen: AwsRequest[] = [];
  const authorizer = (request: AwsRequest) => {
    seen.push(request);
    if (deny(request)) throw new AccessDeniedError(request, 'denied by the test policy');
  };
  return { seen, authorizer };
}

describe('local S3 endpoint: requests signed by a role', () => {
  let endpoint: S3Endpoint;
  const { seen, authorizer } = stubAuthorizer((r) => r.action === 's3:DeleteObject');
  const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new S3Client({ endpoint: endpoint.url, forcePathStyle: true, region: 'us-east-1', credentials });
  beforeAll(async () => {
    const directory = mkdtempSync(join(tmpdir(), 'hlsf-authz-'));
    endpoint = await startS3Endpoint({ directory, bucket: 'live', port: 0, authorizer });
  });
  afterAll(() => endpoint.close());
  beforeEach(() => {
    seen.length = 0;
  });
  const asRole = () =>
    client({ accessKeyId: localAccessKeyId('MergeIndexRole61DE88D2'), secretAccessKey: 'x' });

  it('asks for s3:PutObject on the object ARN, and s3:ListBucket on the bucket with the s3:prefix context', async () => {
    await asRole().send(new PutObjectCommand({ Bucket: 'live', Key: 'ch1/index.m3u8', Body: '#EXTM3U\n' }));
    await asRole().send(new ListObjectsV2Command({ Bucket: 'live', Prefix: 'ch1/' }));
    expect(seen).toEqual([
      {
        role: 'MergeIndexRole61DE88D2',
        action: 's3:PutObject',
        resource: 'arn:aws:s3:::live/ch1/index.m3u8',
      },
      {
        role: 'MergeIndexRole61DE88D2',
        action: 's3:ListBucket',
        resource: 'arn:aws:s3:::live',
        context: { 's3:prefix': 'ch1/' },
      },
    ]);
  });

  it('answers a denied call 403 AccessDenied, with a message naming role, action and resource', async () => {
    const failure = await asRole()
      .send(new DeleteObjectCommand({ Bucket: 'live', Key: 'ch1/index.m3u8' }))
      .catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
    expect(failure).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect((failure as Error).message).toBe(
      'AccessDenied: role MergeIndexRole61DE88D2 is not allowed to perform s3:DeleteObject on arn:aws:s3:::live/ch1/index.m3u8 (denied by the test policy)',
    );
  });

  it('does not check callers that are not a role (encoders, players, tests)', async () => {
    await client(endpoint.credentials).send(
      new DeleteObjectCommand({ Bucket: 'live', Key: 'ch1/index.m3u8' }),
    );
    expect(seen).toEqual([]);
  });
});

describe('local runtime on the synthesized stack: calls by the state machine', () => {
  jest.setTimeout(60_000);
  let runtime: LocalRuntime;
  afterEach(() => runtime.close());

  /** Starts the runtime with a policy stub and runs both encoders' masters and one media update. */
  async function runWith(deny: (request: AwsRequest) => boolean) {
    const stub = stubAuthorizer(deny);
    runtime = await startLocalRuntime({
      dataDir: mkdtempSync(join(tmpdir(), 'hlsf-authz-runtime-')),
      bucket: 'live',
      settings: parseSettings({}),
      s3Port: 0,
      originPort: 0,
      watchdogSeconds: 3600,
      print: () => undefined,
      fromSources: false,
      createAuthorizer: () => stub.authorizer,
    });
    const put = (path: string, body: string) =>
      fetch(`${runtime.endpoints.origin}/${path}`, { method: 'PUT', body }).then((r) =>
        expect(r.status).toBe(201),
      );
    for (const e of ['primary', 'failover']) await put(`ch1/${e}/master.m3u8`, fixture('master-simple.m3u8'));
    await runtime.idle();
    const body = mediaPlaylist({ sequence: 7, count: 4, targetDuration: 1, duration: 1 });
    await Promise.all(['primary', 'failover'].map((e) => put(`ch1/${e}/720p.m3u8`, body)));
    await runtime.idle();
    const failures = runtime.executions.flatMap((x) =>
      (x.events as { type?: string; state?: { name?: string }; Error?: string; Cause?: string }[])
        .filter((event) => event.type === 'StateFailed')
        .map((event) => ({ state: event.state?.name, error: event.Error, cause: event.Cause })),
    );
    return { seen: stub.seen, failures };
  }

  it("checks each Lambda invoke against the state machine's role; a denial fails the Task as Lambda.AWSLambdaException", async () => {
    const { seen, failures } = await runWith(
      (r) => r.action === 'lambda:InvokeFunction' && r.resource.includes('MergeIndex'),
    );
    expect(seen).toContainEqual({
      role: expect.stringMatching(/^StateMachineRole/),
      action: 'lambda:InvokeFunction',
      resource: expect.stringMatching(/^arn:aws:lambda:us-east-1:000000000000:function:.*ValidatePlaylist/),
    });
    expect(failures).toContainEqual({
      state: 'MergeIndex',
      error: 'Lambda.AWSLambdaException',
      cause: expect.stringMatching(
        /role StateMachineRole\w* is not allowed to perform lambda:InvokeFunction on arn:aws:lambda:.*MergeIndex/,
      ),
    });
  });

  it("checks a bundle's S3 calls against its function's role; a denied write fails the Task as AccessDenied", async () => {
    const { seen, failures } = await runWith(
      (r) => r.action === 's3:PutObject' && r.resource === 'arn:aws:s3:::live/ch1/index.m3u8',
    );
    expect(seen).toContainEqual({
      role: expect.stringMatching(/^ValidatePlaylistRole/),
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::live/ch1/primary/master.m3u8',
    });
    expect(failures).toContainEqual({
      state: 'MergeIndex',
      error: 'AccessDenied',
      cause: expect.stringMatching(
        /role MergeIndexRole\w* is not allowed to perform s3:PutObject on arn:aws:s3:::live\/ch1\/index\.m3u8/,
      ),
    });
  });

  it("checks a bundle's DynamoDB calls against its function's role, with the item's (or the query's) partition key; a denied write fails the Task as AccessDeniedException", async () => {
    const table = 'arn:aws:dynamodb:us-east-1:000000000000:table/hls-failover-state';
    const { seen, failures } = await runWith(
      (r) => r.action === 'dynamodb:PutItem' && r.role.startsWith('CheckFreshness'),
    );
    expect(seen).toContainEqual({
      role: expect.stringMatching(/^ValidatePlaylistRole/),
      action: 'dynamodb:PutItem',
      resource: table,
      context: { 'dynamodb:LeadingKeys': [acceptedKey('ch1', 'primary', '720p.m3u8').group] },
    });
    expect(seen).toContainEqual({
      role: expect.stringMatching(/^CheckFreshnessRole/),
      action: 'dynamodb:Query',
      resource: table,
      context: { 'dynamodb:LeadingKeys': ['accepted/ch1'] },
    });
    expect(failures).toContainEqual({
      state: 'CheckCounterpartFreshness',
      error: 'AccessDeniedException',
      cause: expect.stringMatching(
        new RegExp(`role CheckFreshnessRole\\w* is not allowed to perform dynamodb:PutItem on ${table}`),
      ),
    });
  });
});

describe("the synthesized stack's own policies on the local DynamoDB endpoint", () => {
  let endpoint: DynamoDbEndpoint;
  let validateRole: string;
  const table = localStateTable(parseSettings({}).stackName);
  beforeAll(async () => {
    const { stack, resolve } = loadLocalStack('live', parseSettings({}).stackName);
    const validate = lambdaFunctionsOf(stack, resolve).find((f) =>
      f.logicalId.startsWith('ValidatePlaylist'),
    );
    validateRole = validate?.role ?? 'the template has no ValidatePlaylist function';
    endpoint = await startDynamoDbEndpoint({
      directory: mkdtempSync(join(tmpdir(), 'hlsf-iam-ddb-')),
      tables: tablesOf(stack.template, resolve),
      account: LOCAL_ACCOUNT,
      authorizer: iamAuthorizer(stack.template, resolve),
    });
  });
  afterAll(() => endpoint.close());

  it("ValidatePlaylist writes accepted versions, never a channel's state, and queries nothing (400 AccessDeniedException naming role, action and table)", async () => {
    const client = new DynamoDBClient({
      endpoint: endpoint.url,
      region: 'us-east-1',
      credentials: { accessKeyId: localAccessKeyId(validateRole), secretAccessKey: 'x' },
    });
    const records = new DynamoRecordStore(client, table.tableName);
    await expect(
      records.put(acceptedKey('ch1', 'primary', '720p.m3u8'), '{}', { absent: true }),
    ).resolves.toBe(1);

    const failure = await records.put(stateKey('ch1'), '{}', { absent: true }).catch((e: Error) => e);
    const query = await records.query('channel/ch1').catch((e: Error) => e);

    expect(failure).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    expect(query).toMatchObject({ name: 'AccessDeniedException' });
    expect((failure as Error).message).toMatch(
      new RegExp(
        `^AccessDenied: role ${validateRole} is not allowed to perform dynamodb:PutItem on arn:aws:dynamodb:us-east-1:000000000000:table/${table.tableName} \\(implicit deny`,
      ),
    );
    client.destroy();
  });
});

describe("the synthesized stack's own policies on the local S3 endpoint", () => {
  let endpoint: S3Endpoint;
  let mergeIndexRole: string;
  beforeAll(async () => {
    const { stack, resolve } = loadLocalStack('live', parseSettings({}).stackName);
    const mergeIndex = lambdaFunctionsOf(stack, resolve).find((f) => f.logicalId.startsWith('MergeIndex'));
    mergeIndexRole = mergeIndex?.role ?? 'the template has no MergeIndex function';
    const directory = mkdtempSync(join(tmpdir(), 'hlsf-iam-'));
    endpoint = await startS3Endpoint({
      directory,
      bucket: 'live',
      port: 0,
      authorizer: iamAuthorizer(stack.template, resolve),
    });
  });
  afterAll(() => endpoint.close());
  const asMergeIndex = () =>
    new S3Client({
      endpoint: endpoint.url,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: localAccessKeyId(mergeIndexRole), secretAccessKey: 'x' },
    });

  it("MergeIndex writes the channel's index.m3u8, never an encoder's media playlist named index.m3u8 (403 AccessDenied naming role, action, resource and the deny)", async () => {
    const put = (Key: string) =>
      asMergeIndex().send(new PutObjectCommand({ Bucket: 'live', Key, Body: '#EXTM3U\n' }));
    await expect(put('ch1/index.m3u8')).resolves.toMatchObject({ ETag: expect.any(String) });

    const failure = await put('ch1/primary/index.m3u8').catch(
      (e: Error & { $metadata?: { httpStatusCode?: number } }) => e,
    );

    expect(failure).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect((failure as Error).message).toMatch(
      new RegExp(
        `^AccessDenied: role ${mergeIndexRole} is not allowed to perform s3:PutObject on arn:aws:s3:::live/ch1/primary/index\\.m3u8 \\(explicit deny by statement "\\w+" of MergeIndexRole`,
      ),
    );
  });
});
