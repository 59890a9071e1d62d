/**
 * The one Lambda construct of the project: every workflow function gets the same runtime, bundling,
 * tracing and logging defaults, its own log group and its own role (no managed policies: the role may
 * write to its own log group and nothing else until the stack grants more).
 */
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';

/** The repository root (this file is infra/constructs/failover-function.ts). */
const REPO_ROOT = join(__dirname, '..', '..');

/** Where the handler modules live: `functions/handlers/<module>.ts`, each exporting `handler`. */
export const HANDLERS_DIR = join(REPO_ROOT, 'functions', 'handlers');

export interface FailoverFunctionProps {
  /** The handler module under `functions/handlers/`, without `.ts` (it exports `handler`). */
  readonly module: string;
  /** Environment variables (`NODE_OPTIONS` is added). @default - none besides NODE_OPTIONS */
  readonly environment?: Readonly<Record<string, string>>;
  /** Retention of the function's log group. @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** Description shown in the console. @default - none */
  readonly description?: string;
  /** Memory, in MB. @default 256 */
  readonly memorySize?: number;
  /** Timeout. @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** X-Ray active tracing. @default false */
  readonly tracing?: boolean;
}

/**
 * A Node.js 24 arm64 Lambda bundled locally with esbuild (no Docker): minified CommonJS with source
 * maps, the AWS SDK left to the runtime, logs in an explicit log group in Lambda's JSON format at
 * system level WARN (no START/END/REPORT lines) and application level INFO, X-Ray when asked.
 *
 * The handlers write their log lines (functions/handlers/deps.ts) and the embedded-metric-format
 * lines (functions/metrics.ts) with `process.stdout.write`, not `console`: with the JSON log format
 * Lambda wraps what `console` prints in its own JSON object, which CloudWatch would no longer read as
 * EMF, while a JSON line written to stdout is kept as written and filtered by its `level` (a line
 * without one, such as EMF, counts as INFO).
 *
 * @example
 * const fn = new FailoverFunction(this, 'MergeIndex', { module: 'merge-index', environment: settingsToEnv(settings) });
 * fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('primary/*')] }));
 */
export class FailoverFunction extends Construct {
  /** The Lambda function. */
  readonly function: NodejsFunction;
  /** The function's execution role. */
  readonly role: iam.Role;
  /** The function's log group. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FailoverFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    // What AWSLambdaBasicExecutionRole would give, scoped to this function's own log group.
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(HANDLERS_DIR, `${props.module}.ts`),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: props.tracing === true ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      loggingFormat: lambda.LoggingFormat.JSON,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      role: this.role,
      logGroup: this.logGroup,
      ...(props.description === undefined ? {} : { description: props.description }),
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        target: 'node24',
        format: OutputFormat.CJS,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The Node.js runtime ships the AWS SDK v3.
        externalModules: ['@aws-sdk/*'],
        forceDockerBundling: false,
      },
    });

    if (props.tracing === true) {
      acknowledge(
        this.role,
        'AwsSolutions-IAM5[Resource::*]',
        'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions',
      );
    }
  }

  /** The function's ARN. */
  get functionArn(): string {
    return this.function.functionArn;
  }

  /** Adds a statement to the function's role. */
  addToRolePolicy(statement: iam.PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }
}
