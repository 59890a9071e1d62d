/**
 * Reads what `cdk synth` wrote to `cdk.out/` (the template CloudFormation deploys and the assets
 * it uploads) and resolves the template's intrinsic functions for a local account, so the local
 * runtime and the tests run the deployed artifact: its state machine definition, its bundles, its
 * environment variables and its IAM policies.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One resource of a CloudFormation template. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly Condition?: string;
}

export interface Template {
  readonly Resources: Readonly<Record<string, TemplateResource>>;
  readonly Parameters?: Readonly<Record<string, { readonly Default?: unknown }>>;
  readonly Conditions?: Readonly<Record<string, unknown>>;
  readonly Outputs?: Readonly<Record<string, { readonly Value: unknown }>>;
}

/** A synthesized stack: its template and the folder its assets are in. */
export interface SynthesizedStack {
  readonly template: Template;
  /** The cloud assembly folder (`cdk.out`). */
  readonly directory: string;
  /** Absolute path of a resource's asset (`Metadata['aws:asset:path']`), e.g. a Lambda bundle folder. */
  assetPath(logicalId: string): string;
}

/** Default cloud assembly folder: `cdk.out` at the project root. */
export const CLOUD_ASSEMBLY_DIR = join(__dirname, '..', 'cdk.out');

/**
 * Loads a synthesized stack's template. Throws with the command that fixes it when the assembly
 * is missing.
 */
export function loadSynthesizedStack(stackId: string, directory = CLOUD_ASSEMBLY_DIR): SynthesizedStack {
  const file = join(directory, `${stackId}.template.json`);
  if (!existsSync(file))
    throw new Error(`${file} does not exist: run \`npm run synth\` to synthesize the stack first`);
  const template = JSON.parse(readFileSync(file, 'utf8')) as Template;
  return {
    template,
    directory,
    assetPath(logicalId) {
      const resource = template.Resources[logicalId];
      const path = resource?.Metadata?.['aws:asset:path'];
      if (typeof path !== 'string') throw new Error(`${logicalId} has no asset in ${file}`);
      return join(directory, path);
    },
  };
}

/** The account a template is resolved for. */
export interface LocalAccount {
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
  readonly stackName: string;
  /** Physical names chosen by the caller (e.g. the local bucket's name), by logical ID. */
  readonly physicalNames?: Readonly<Record<string, string>>;
}

/** Properties that name a resource, by resource type. */
const NAME_PROPERTY: Readonly<Record<string, string>> = {
  'AWS::S3::Bucket': 'BucketName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::Events::Rule': 'Name',
  'AWS::DynamoDB::Table': 'TableName',
};

/**
 * Returns a function that replaces every intrinsic (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`,
 * `Fn::Select`, `Fn::Split`, `Fn::If` with its conditions) in a template value by its value in
 * `account`. Throws naming the intrinsic it cannot resolve.
 *
 * @example
 * const resolve = createResolver(stack.template, { region: 'us-east-1', accountId: '000000000000', partition: 'aws', stackName: 'hls-failover' });
 * resolve({ 'Fn::GetAtt': ['MergeIndexFunction7BFAE7C1', 'Arn'] }); // 'arn:aws:lambda:us-east-1:000000000000:function:…'
 */
export function createResolver(template: Template, account: LocalAccount): (value: unknown) => unknown {
  const { region, accountId, partition, stackName } = account;
  const pseudo: Record<string, string> = {
    'AWS::Region': region,
    'AWS::AccountId': accountId,
    'AWS::Partition': partition,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': stackName,
    'AWS::StackId': `arn:${partition}:cloudformation:${region}:${accountId}:stack/${stackName}/local`,
  };

  const resourceOf = (logicalId: string): TemplateResource => {
    const resource = template.Resources[logicalId];
    if (resource === undefined) throw new Error(`the template has no resource ${logicalId}`);
    return resource;
  };

  const nameOf = (logicalId: string): string => {
    const chosen = account.physicalNames?.[logicalId];
    if (chosen !== undefined) return chosen;
    const resource = resourceOf(logicalId);
    const property = NAME_PROPERTY[resource.Type];
    const given = property === undefined ? undefined : resource.Properties?.[property];
    if (given !== undefined) return String(resolve(given));
    // CloudFormation generates `<stack>-<logical id>-<suffix>`; locally the suffix is not needed.
    return `${stackName}-${logicalId}`.slice(0, 64);
  };

  const arn = (service: string, resource: string, regional = true) =>
    `arn:${partition}:${service}:${regional ? region : ''}:${service === 's3' ? '' : accountId}:${resource}`;

  const ref = (name: string): unknown => {
    const fromPseudo = pseudo[name];
    if (fromPseudo !== undefined) return fromPseudo;
    const parameter = template.Parameters?.[name];
    if (parameter !== undefined) return parameter.Default;
    const { Type } = resourceOf(name);
    const physical = nameOf(name);
    switch (Type) {
      case 'AWS::SNS::Topic':
        return arn('sns', physical);
      case 'AWS::StepFunctions::StateMachine':
        return arn('states', `stateMachine:${physical}`);
      case 'AWS::SQS::Queue':
        return `https://sqs.${region}.amazonaws.com/${accountId}/${physical}`;
      default:
        return physical;
    }
  };

  const getAtt = (logicalId: string, attribute: string): unknown => {
    const { Type } = resourceOf(logicalId);
    const physical = nameOf(logicalId);
    const byType: Record<string, Record<string, () => string>> = {
      'AWS::S3::Bucket': {
        Arn: () => arn('s3', physical, false),
        DomainName: () => `${physical}.s3.amazonaws.com`,
        RegionalDomainName: () => `${physical}.s3.${region}.amazonaws.com`,
      },
      'AWS::Lambda::Function': { Arn: () => arn('lambda', `function:${physical}`) },
      'AWS::IAM::Role': {
        Arn: () => `arn:${partition}:iam::${accountId}:role/${physical}`,
        RoleId: () => physical,
      },
      'AWS::SNS::Topic': { TopicArn: () => arn('sns', physical), TopicName: () => physical },
      'AWS::SQS::Queue': { Arn: () => arn('sqs', physical), QueueName: () => physical },
      'AWS::StepFunctions::StateMachine': {
        Arn: () => arn('states', `stateMachine:${physical}`),
        Name: () => physical,
      },
      'AWS::Logs::LogGroup': { Arn: () => arn('logs', `log-group:${physical}:*`) },
      'AWS::KMS::Key': { Arn: () => arn('kms', `key/${physical}`), KeyId: () => physical },
      'AWS::Events::Rule': { Arn: () => arn('events', `rule/${physical}`) },
      'AWS::DynamoDB::Table': { Arn: () => arn('dynamodb', `table/${physical}`) },
      'AWS::CloudFront::Distribution': { DomainName: () => `${physical}.cloudfront.net`, Id: () => physical },
      'AWS::CloudFront::OriginAccessControl': { Id: () => physical },
      'AWS::CloudWatch::Alarm': { Arn: () => arn('cloudwatch', `alarm:${physical}`) },
    };
    const value = byType[Type]?.[attribute];
    if (value === undefined)
      throw new Error(`no local value for Fn::GetAtt ${logicalId}.${attribute} (${Type})`);
    return value();
  };

  const condition = (name: string): boolean => {
    const definition = template.Conditions?.[name];
    if (definition === undefined) throw new Error(`the template has no condition ${name}`);
    return Boolean(resolve(definition));
  };

  const sub = (text: string, variables: Record<string, unknown>): string =>
    text.replace(/\$\{(!?)([^}]*)\}/g, (_whole, literal: string, name: string) => {
      if (literal === '!') return `\${${name}}`;
      if (name in variables) return String(resolve(variables[name]));
      const [logicalId, attribute] = name.split('.', 2) as [string, string | undefined];
      return String(attribute === undefined ? ref(logicalId) : getAtt(logicalId, attribute));
    });

  function resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [only] = entries;
    if (entries.length === 1 && only !== undefined) {
      const [key, argument] = only;
      const args = argument as unknown[];
      switch (key) {
        case 'Ref':
          return ref(String(argument));
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = (typeof argument === 'string' ? argument.split('.', 2) : args) as [
            string,
            string,
          ];
          return getAtt(logicalId, String(resolve(attribute)));
        }
        case 'Fn::Join':
          return (resolve(args[1]) as unknown[]).map(String).join(String(args[0]));
        case 'Fn::Sub':
          return typeof argument === 'string'
            ? sub(argument, {})
            : sub(String(args[0]), (args[1] ?? {}) as Record<string, unknown>);
        case 'Fn::Select':
          return (resolve(args[1]) as unknown[])[Number(resolve(args[0]))];
        case 'Fn::Split':
          return String(resolve(args[1])).split(String(args[0]));
        case 'Fn::If':
          return resolve(condition(String(args[0])) ? args[1] : args[2]);
        case 'Fn::Equals':
          return resolve(args[0]) === resolve(args[1]);
        case 'Fn::Or':
          return args.some((a) => Boolean(resolve(a)));
        case 'Fn::And':
          return args.every((a) => Boolean(resolve(a)));
        case 'Fn::Not':
          return !resolve(args[0]);
        case 'Condition':
          return condition(String(argument));
        default:
          if (key.startsWith('Fn::')) throw new Error(`no local value for ${key}`);
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
  }

  return resolve;
}

/** Logical IDs of a template's resources of one type. */
export function resourcesOfType(template: Template, type: string): string[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId]) => logicalId);
}

/** Every DynamoDB table of a template: its name in the local account and its keys. */
export function tablesOf(
  template: Template,
  resolve: (value: unknown) => unknown,
): { tableName: string; partitionKey: string; sortKey?: string }[] {
  return resourcesOfType(template, 'AWS::DynamoDB::Table').map((logicalId) => {
    const properties = template.Resources[logicalId]?.Properties ?? {};
    const keys = (properties.KeySchema ?? []) as { AttributeName: string; KeyType: string }[];
    const types = (properties.AttributeDefinitions ?? []) as {
      AttributeName: string;
      AttributeType: string;
    }[];
    const hash = keys.find((k) => k.KeyType === 'HASH')?.AttributeName;
    const range = keys.find((k) => k.KeyType === 'RANGE')?.AttributeName;
    const isString = (name: string | undefined) =>
      types.find((a) => a.AttributeName === name)?.AttributeType === 'S';
    if (hash === undefined || !isString(hash) || (range !== undefined && !isString(range)))
      throw new Error(
        `${logicalId}: the local runtime makes tables with a string partition key and an optional string sort key, and this one has ${JSON.stringify(keys)}`,
      );
    const tableName = String(resolve({ Ref: logicalId }));
    return range === undefined
      ? { tableName, partitionKey: hash }
      : { tableName, partitionKey: hash, sortKey: range };
  });
}
