/**
 * Objects the workflow owns are not writable through ingest (issue 16 §2, local half): a PUT,
 * DELETE, copy, multipart upload or bulk delete of `<channel>/index.m3u8`, `<channel>/steering.json`
 * or anything under the reserved prefix, through the origin or the S3 endpoint, in any encoding,
 * gets 403 naming the object and why, and the stored object is untouched. The workflow's own
 * writes (the Lambdas' SDK clients, and the runtime's client when it runs the sources) carry the
 * endpoint's session token and still go through; a request merely claiming a Lambda's role does not.
 */
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { parseSettings } from '../../functions/config';
import { localAccessKeyId } from '../../local/aws-request';
import { lambdaFunctionsOf } from '../../local/lambda-host';
import { loadLocalStack } from '../../local/runtime';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { fixture } from '../support/playlists';
import { rawRequest } from '../support/raw-http';

jest.setTimeout(90_000);

const REFUSAL = /is (the index|the steering manifest) of channel "ch1"|is under the prefix "_hls-failover\/"/;

/** The same three objects, as a client may spell their paths. */
const SPELLINGS: Readonly<Record<string, string>> = {
  'ch1/index.m3u8': 'ch1/index.m3u8',
  'ch1/steering.json': 'ch1/steering.json',
  '_hls-failover/x.json': '_hls-failover/x.json',
  'encoded slash': 'ch1%2Findex.m3u8',
  'encoded dot': 'ch1/index%2Em3u8',
  'every character encoded': '%63%68%31%2f%73%74%65%65%72%69%6e%67%2e%6a%73%6f%6e',
  'lower-case escapes of the prefix': '%5fhls-failover%2fstate',
};

/** An S3 error answer's text with its XML entities decoded. */
const xmlDecoded = (xml: string) =>
  xml.replace(
    /&(quot|apos|lt|gt|amp|mldr);/g,
    (_, name: string) => ({ quot: '"', apos: "'", lt: '<', gt: '>', amp: '&', mldr: '…' })[name] ?? name,
  );

/** Both encoders' masters, then segments 4 and 5 of their media playlists: the workflow writes the index. */
async function startChannel(runtime: TestRuntime, channel: string): Promise<void> {
  for (const encoder of ['primary', 'failover'])
    await runtime.ingest(`${channel}/${encoder}/master.m3u8`, fixture('master-simple.m3u8'));
  for (const n of [4, 5]) await runtime.uploadBoth(channel, n);
  await runtime.idle();
}

const bodyFor = (method: string) => (method === 'PUT' ? { body: '#EXTM3U\n' } : {});

type Failure = Error & { $metadata?: { httpStatusCode?: number } };
const statusOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 200,
    (error: Failure) => error.$metadata?.httpStatusCode ?? error.message,
  );

describe('ingest may not write the objects the workflow owns (real runtime, artifact)', () => {
  let runtime: TestRuntime;
  let before: { index: string; steering: string };
  const s3 = (accessKeyId = 'S3RVER') =>
    new S3Client({
      endpoint: runtime.endpoints.s3,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId, secretAccessKey: 'S3RVER' },
    });
  const stored = async () => ({
    index: await (await runtime.origin('ch1/index.m3u8')).text(),
    steering: await (await runtime.origin('ch1/steering.json')).text(),
  });

  beforeAll(async () => {
    runtime = await startTestRuntime();
    await startChannel(runtime, 'ch1');
    before = await stored();
  });
  afterAll(() => runtime.close());

  it("the workflow's Lambdas wrote the channel's index and steering manifest", () => {
    expect(before.index).toMatch(/^#EXTM3U/);
    expect(JSON.parse(before.steering)).toMatchObject({ VERSION: 1 });
  });

  it.each(Object.entries(SPELLINGS))(
    'the origin answers PUT and DELETE of %s with 403 naming the object and why',
    async (_, path) => {
      for (const method of ['PUT', 'DELETE']) {
        const res = await rawRequest(runtime.endpoints.origin, method, `/${path}`, bodyFor(method));
        expect({ method, status: res.status }).toEqual({ method, status: 403 });
        expect(res.body).toMatch(REFUSAL);
        expect(res.body).toContain('only the workflow writes');
      }
      expect(await stored()).toEqual(before);
    },
  );

  it.each(Object.entries(SPELLINGS))(
    'the S3 endpoint answers PUT and DELETE of %s with 403 AccessDenied naming the object and why',
    async (_, path) => {
      for (const method of ['PUT', 'DELETE']) {
        const res = await rawRequest(runtime.endpoints.s3, method, `/live/${path}`, bodyFor(method));
        expect({ method, status: res.status }).toEqual({ method, status: 403 });
        expect(res.body).toContain('<Code>AccessDenied</Code>');
        expect(xmlDecoded(res.body)).toMatch(REFUSAL);
      }
      expect(await stored()).toEqual(before);
    },
  );

  it('the S3 endpoint refuses a copy onto the index, a multipart upload of the steering manifest and a bulk delete naming them', async () => {
    const client = s3();
    await runtime.ingest('ch1/primary/evil.m3u8', '#EXTM3U\n');

    const results = {
      copy: await statusOf(
        client.send(
          new CopyObjectCommand({
            Bucket: 'live',
            Key: 'ch1/index.m3u8',
            CopySource: 'live/ch1/primary/evil.m3u8',
          }),
        ),
      ),
      multipart: await statusOf(
        client.send(new CreateMultipartUploadCommand({ Bucket: 'live', Key: 'ch1/steering.json' })),
      ),
      bulkDelete: await statusOf(
        client.send(
          new DeleteObjectsCommand({
            Bucket: 'live',
            Delete: { Objects: [{ Key: 'ch1/index.m3u8' }, { Key: 'ch1/steering.json' }] },
          }),
        ),
      ),
    };

    expect(results).toEqual({ copy: 403, multipart: 403, bulkDelete: 403 });
    expect(await stored()).toEqual(before);
    client.destroy();
  });

  it("a request that claims the MergeIndex Lambda's role but lacks the workflow's session token is refused", async () => {
    const { stack, resolve } = loadLocalStack('live', parseSettings({}).stackName);
    const role = lambdaFunctionsOf(stack, resolve).find((f) => f.logicalId.startsWith('MergeIndex'))?.role;
    const client = s3(localAccessKeyId(role ?? 'no MergeIndex function in the template'));

    const put = client.send(
      new PutObjectCommand({ Bucket: 'live', Key: 'ch1/index.m3u8', Body: '#EXTM3U\n' }),
    );
    const remove = client.send(new DeleteObjectCommand({ Bucket: 'live', Key: 'ch1/index.m3u8' }));

    expect([await statusOf(put), await statusOf(remove)]).toEqual([403, 403]);
    expect(await stored()).toEqual(before);
    client.destroy();
  });

  it('encoders still write and delete inside their folders, their master named index.m3u8 included', async () => {
    await runtime.ingest('ch1/primary/index.m3u8', '#EXTM3U\n');
    expect((await runtime.origin('ch1/primary/index.m3u8', { method: 'DELETE' })).status).toBe(204);
    const direct = await statusOf(
      s3().send(new PutObjectCommand({ Bucket: 'live', Key: 'ch1/failover/index.m3u8', Body: '#EXTM3U\n' })),
    );
    expect(direct).toBe(200);
  });
});

describe("the workflow's own client still writes them (real runtime, from sources)", () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime({}, { fromSources: true });
  });
  afterAll(() => runtime.close());

  it('serves the index and steering manifest the in-process handlers wrote', async () => {
    await startChannel(runtime, 'ch1');

    expect((await runtime.origin('ch1/index.m3u8')).status).toBe(200);
    expect((await runtime.origin('ch1/steering.json')).status).toBe(200);
    expect(runtime.executions.filter((e) => e.status === 'FAILED')).toEqual([]);
  });
});
