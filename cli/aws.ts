/**
 * What the operations commands (audit, status, replay) share: their `--local | --stack [--region]`
 * options, what the deployed stack's outputs are, and the errors people hit with AWS turned into
 * one clear line (exit code 2, no stack trace).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { type CliIo, UsageError } from './io';

/** Where a command runs against AWS. */
export interface AwsTarget {
  readonly stack: string;
  /** Undefined: the SDK's own resolution (AWS_REGION, the profile's region). */
  readonly region: string | undefined;
}

/** The options every operations command takes besides its own. */
const OPERATIONS_OPTIONS = {
  local: { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * An operations command's arguments: `--local`, `--stack`, `--region`, `--json` and `--help`, and
 * the command's own `options`. With `--help` it prints `help` and returns undefined.
 *
 * @example
 * const values = parseOperationsArgs(args, { key: { type: 'string' } }, REPLAY_HELP, io);
 * if (values === undefined) return 0;
 */
export function parseOperationsArgs<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  help: string,
  io: CliIo,
) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...OPERATIONS_OPTIONS, ...options },
  });
  // `values` stays generic here; --help is one of OPERATIONS_OPTIONS.
  if ((values as { help?: boolean }).help) {
    io.out(help);
    return undefined;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  return values;
}

/** Where a command reads: a local data dir (checked to exist), or a stack. */
export function parseTarget(values: {
  local?: string | undefined;
  stack?: string | undefined;
  region?: string | undefined;
}): { local: string } | { aws: AwsTarget } {
  if (values.local !== undefined && values.stack !== undefined)
    throw new UsageError('give either --local <dataDir> or --stack <name>, not both');
  if (values.region !== undefined && values.stack === undefined)
    throw new UsageError('--region goes with --stack');
  if (values.stack !== undefined) {
    if (values.stack.trim() === '') throw new UsageError('--stack needs a stack name');
    return { aws: { stack: values.stack, region: values.region } };
  }
  const dir = resolve(values.local ?? '.hls-failover');
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(
      `no data dir at ${dir}: start the local runtime (npm start) first, or pass --local <dataDir>`,
    );
  return { local: dir };
}

/** The stack outputs the commands read (infra/stack.ts `addOutputs`). */
export interface StackOutputs {
  readonly StateMachineArn?: string;
  readonly StateMachineLogGroup?: string;
  readonly BucketName?: string;
  readonly AlertTopicArn?: string;
  readonly DashboardUrl?: string;
  readonly [name: string]: string | undefined;
}

/** Client options for a target: the region when one was given. */
export function clientConfig(target: AwsTarget): { region?: string } {
  return target.region === undefined ? {} : { region: target.region };
}

/** The outputs of the deployed hls-failover stack. */
export async function stackOutputs(target: AwsTarget): Promise<StackOutputs> {
  const client = new CloudFormationClient(clientConfig(target));
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: target.stack }));
    const stack = out.Stacks?.[0];
    if (stack === undefined) throw notFound(target);
    return Object.fromEntries(
      (stack.Outputs ?? []).flatMap((o) =>
        o.OutputKey === undefined || o.OutputValue === undefined ? [] : [[o.OutputKey, o.OutputValue]],
      ),
    );
  } catch (e) {
    throw asUsageError(e, target);
  } finally {
    client.destroy();
  }
}

/** One output, or a clear message when the stack lacks it (an older deployment). */
export function requireOutput(outputs: StackOutputs, name: string, target: AwsTarget): string {
  const value = outputs[name];
  if (value === undefined || value === '')
    throw new UsageError(
      `stack "${target.stack}" has no ${name} output: is it an hls-failover stack, deployed with this version? (npx cdk deploy)`,
    );
  return value;
}

function notFound(target: AwsTarget): UsageError {
  return new UsageError(
    `stack "${target.stack}" not found in region ${target.region ?? process.env.AWS_REGION ?? '(SDK default)'}: check --stack, and --region (or AWS_REGION)`,
  );
}

const CREDENTIALS_REJECTED = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
]);
const NETWORK = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT']);

/**
 * A usage error for what people get wrong with AWS (credentials, region, names, permissions), by
 * the SDK error's name; any other error of an AWS service too (with its name), never a stack
 * trace. Errors that are not from AWS are returned as they are (bugs should show).
 */
export function asUsageError(error: unknown, target?: AwsTarget, resource?: string): unknown {
  if (error instanceof UsageError) return error;
  if (!(error instanceof Error)) return error;
  const e = error as Error & { code?: string; $metadata?: unknown; Code?: string };
  const region = target?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const name = e.name;
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(e.message))
    return new UsageError(
      'no AWS credentials found: set AWS_PROFILE (and run "aws sso login" if it uses SSO), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    );
  if (/Region is missing/i.test(e.message))
    return new UsageError('no AWS region: pass --region <region> or set AWS_REGION');
  if (CREDENTIALS_REJECTED.has(name))
    return new UsageError(
      `AWS rejected the credentials (${name}): refresh them (aws sso login, or new keys)`,
    );
  if (name === 'ValidationError' && /does not exist/.test(e.message) && target !== undefined)
    return notFound(target);
  if (name === 'ResourceNotFoundException')
    return new UsageError(
      `${resource ?? 'resource'} not found in region ${region ?? '(SDK default)'}: ${e.message}. Was the stack deployed in this region, and has the workflow run yet?`,
    );
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || name === 'AuthorizationError')
    return new UsageError(`not allowed (${name}): ${e.message}`);
  if ((e.code !== undefined && NETWORK.has(e.code)) || name === 'TimeoutError')
    return new UsageError(
      `cannot reach AWS${region === undefined ? '' : ` in region ${region}`} (${e.code ?? name}): check the network, and that the region name is right`,
    );
  if (e.$metadata !== undefined) return new UsageError(`AWS ${name}: ${e.message}`);
  return error;
}
