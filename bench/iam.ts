/**
 * Cost of the local IAM check (local/iam.ts) per S3 request, on the synthesized template:
 * the first evaluation of a (role, action, resource) by @cloud-copilot/iam-simulate, and a repeated
 * one (cached). The template comes from cdk.out when `npm run synth` wrote it, else it is built in
 * memory without bundling.
 *
 *   npx tsx bench/iam.ts [evaluations]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, STACK_ID } from '../infra/create-app';
import type { AwsRequest } from '../local/aws-request';
import {
  CLOUD_ASSEMBLY_DIR,
  createResolver,
  loadSynthesizedStack,
  resourcesOfType,
  type Template,
} from '../local/cloudformation';
import { createIamAuthorizer } from '../local/iam';

function loadTemplate(): Template {
  if (existsSync(join(CLOUD_ASSEMBLY_DIR, `${STACK_ID}.template.json`)))
    return loadSynthesizedStack(STACK_ID).template;
  const cdkJson = require('../cdk.json') as { context?: Record<string, unknown> };
  const { app, stack } = createApp({
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] },
  });
  return app.synth().getStackByName(stack.stackName).template as Template;
}

const template = loadTemplate();
const [bucket] = resourcesOfType(template, 'AWS::S3::Bucket').filter((id) => id.startsWith('StorageBucket'));
const [role] = resourcesOfType(template, 'AWS::IAM::Role').filter((id) => id.startsWith('MergeIndexRole'));
if (bucket === undefined || role === undefined) throw new Error('no storage bucket or MergeIndex role');
const resolve = createResolver(template, {
  region: 'us-east-1',
  accountId: '000000000000',
  partition: 'aws',
  stackName: 'hls-failover',
  physicalNames: { [bucket]: 'media' },
});

let started = performance.now();
const authorize = createIamAuthorizer(template, resolve);
const createMs = performance.now() - started;

const n = Number(process.argv[2] ?? 500);
const request = (i: number): AwsRequest => ({
  role,
  action: 's3:GetObject',
  resource: `arn:aws:s3:::media/ch${i}/primary/720p.m3u8`,
});
started = performance.now();
for (let i = 0; i < n; i++) authorize(request(i));
const firstUs = ((performance.now() - started) * 1000) / n;
const rounds = 20;
started = performance.now();
for (let r = 0; r < rounds; r++) for (let i = 0; i < n; i++) authorize(request(i));
const cachedUs = ((performance.now() - started) * 1000) / (n * rounds);

console.log(
  `local IAM check: authorizer built in ${createMs.toFixed(0)} ms; ` +
    `first evaluation of a request ${firstUs.toFixed(0)} µs; repeated (cached) ${cachedUs.toFixed(1)} µs ` +
    `(${n} distinct S3 GetObject requests of the MergeIndex role)`,
);
