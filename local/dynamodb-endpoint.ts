/**
 * The embedded DynamoDB endpoint: dynalite (LevelDB in a data directory, so the records survive a
 * restart) behind a thin HTTP front that checks every call a local Lambda's role makes against
 * IAM, as local/s3-endpoint.ts does for S3: the operation from `X-Amz-Target`, the table from
 * `TableName`, the partition key of the item named as `dynamodb:LeadingKeys`. A denied call gets
 * DynamoDB's own answer (400 `AccessDeniedException`).
 */
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { type Authorizer, type AwsRequest, roleFromAuthorization } from './aws-request';
import { listen } from './listen';

// dynalite ships CommonJS without types.
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

/** A table as the template defines it (string keys are all the workflow uses). */
export interface TableDefinition {
  readonly tableName: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
}

export interface DynamoDbEndpoint {
  readonly url: string;
  /** Credentials for callers that are not a local Lambda (dynalite wants a signed request). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  close(): Promise<void>;
}

/** Operations whose request names one item: its partition key is `dynamodb:LeadingKeys`. */
const ITEM_OPERATIONS: Readonly<Record<string, 'Key' | 'Item'>> = {
  GetItem: 'Key',
  DeleteItem: 'Key',
  UpdateItem: 'Key',
  PutItem: 'Item',
};
/** Operations on a whole table, with no leading key. */
const TABLE_OPERATIONS = new Set(['Scan', 'DescribeTable']);

/**
 * The partition key value a Query names: its key condition's `<partition key> = :value` (the
 * attribute possibly through a `#name`), or undefined when the condition is not of that form.
 */
function queriedPartition(body: Readonly<Record<string, unknown>>, partitionKey: string): string | undefined {
  const condition = typeof body.KeyConditionExpression === 'string' ? body.KeyConditionExpression : '';
  const names = (body.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (body.ExpressionAttributeValues ?? {}) as Record<string, { S?: string }>;
  for (const clause of condition.split(/\s+AND\s+/i)) {
    const match = /^\s*\(?\s*(#?[\w]+)\s*=\s*(:[\w]+)\s*\)?\s*$/.exec(clause);
    if (match === null) continue;
    const [, attribute = '', placeholder = ''] = match;
    if ((attribute.startsWith('#') ? names[attribute] : attribute) === partitionKey)
      return values[placeholder]?.S;
  }
  return undefined;
}

/**
 * The IAM request a DynamoDB JSON request makes, as DynamoDB authorizes it. Throws for an operation
 * this endpoint does not map (batch and transaction calls, a Query without an equality on the
 * partition key), so nothing a role does goes unchecked.
 */
export function dynamoDbRequest(
  role: string,
  target: string | undefined,
  body: Readonly<Record<string, unknown>>,
  tables: readonly TableDefinition[],
  account: { readonly region: string; readonly accountId: string },
): AwsRequest {
  const operation = /^DynamoDB_\d+\.(\w+)$/.exec(target ?? '')?.[1] ?? '';
  const tableName = typeof body.TableName === 'string' ? body.TableName : '';
  const action = `dynamodb:${operation}`;
  const resource = `arn:aws:dynamodb:${account.region}:${account.accountId}:table/${tableName}`;
  const itemMember = ITEM_OPERATIONS[operation];
  const partitionKey = tables.find((t) => t.tableName === tableName)?.partitionKey;
  if (itemMember !== undefined && partitionKey !== undefined) {
    const key = (body[itemMember] as Record<string, { S?: string }> | undefined)?.[partitionKey]?.S;
    return { role, action, resource, context: { 'dynamodb:LeadingKeys': key === undefined ? [] : [key] } };
  }
  if (operation === 'Query' && partitionKey !== undefined) {
    const key = queriedPartition(body, partitionKey);
    if (key !== undefined) return { role, action, resource, context: { 'dynamodb:LeadingKeys': [key] } };
  }
  if (TABLE_OPERATIONS.has(operation) && tableName !== '') return { role, action, resource };
  throw new Error(
    `the local DynamoDB endpoint does not map ${target ?? '(no X-Amz-Target)'} on table "${tableName}" to an IAM request, so it refuses it for role ${role}`,
  );
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** DynamoDB's answer to a call the caller's policies do not allow. */
function accessDenied(res: ServerResponse, message: string): void {
  res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
  res.end(JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', Message: message }));
}

/**
 * Creates each table unless it exists (a restart on the same data directory) with the template's
 * keys, and waits until it is active. A table left with other keys (a data directory from an older
 * version) is made again: its records are derived state, rebuilt from the encoders' next uploads.
 */
async function ensureTables(url: string, tables: readonly TableDefinition[]): Promise<void> {
  const client = new DynamoDBClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const active = async (tableName: string) => {
      for (;;) {
        const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
        if (out.Table?.TableStatus === 'ACTIVE') return out.Table;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    for (const { tableName, partitionKey, sortKey } of tables) {
      const keys = [
        { AttributeName: partitionKey, KeyType: 'HASH' as const },
        ...(sortKey === undefined ? [] : [{ AttributeName: sortKey, KeyType: 'RANGE' as const }]),
      ];
      const create = () =>
        client.send(
          new CreateTableCommand({
            TableName: tableName,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: keys.map((k) => ({ AttributeName: k.AttributeName, AttributeType: 'S' })),
            KeySchema: keys,
          }),
        );
      await create().catch((error: unknown) => {
        if (!(error instanceof ResourceInUseException)) throw error;
      });
      const table = await active(tableName);
      if (JSON.stringify(table.KeySchema) !== JSON.stringify(keys)) {
        await client.send(new DeleteTableCommand({ TableName: tableName }));
        await create();
        await active(tableName);
      }
    }
  } finally {
    client.destroy();
  }
}

export async function startDynamoDbEndpoint(options: {
  /** Where dynalite keeps its LevelDB store. */
  directory: string;
  tables: readonly TableDefinition[];
  account: { readonly region: string; readonly accountId: string };
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /**
   * Checks every request signed by a local Lambda's role (its access key ID names the role) against
   * that role's policies; other callers (the runtime itself, the CLI, tests) are not checked.
   */
  authorizer?: Authorizer;
}): Promise<DynamoDbEndpoint> {
  const host = options.host ?? '127.0.0.1';
  mkdirSync(options.directory, { recursive: true });
  const backend = dynalite({ path: options.directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const backendPort = await listen(backend, 0, host);

  const front = createServer(async (req, res) => {
    const body = await readBody(req);
    const role = roleFromAuthorization(req.headers.authorization);
    if (role !== undefined && options.authorizer !== undefined) {
      try {
        const target = req.headers['x-amz-target'];
        const parsed = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
        options.authorizer(dynamoDbRequest(role, String(target), parsed, options.tables, options.account));
      } catch (error) {
        return accessDenied(res, (error as Error).message);
      }
    }
    const forward = request(
      { host, port: backendPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', (error) => {
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: error.message,
        }),
      );
    });
    forward.end(body);
  });
  const port = await listen(front, options.port ?? 0, host);
  const url = `http://${host}:${port}`;
  const close = async () => {
    await new Promise<void>((resolve) => front.close(() => resolve()));
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  };
  try {
    await ensureTables(url, options.tables);
  } catch (error) {
    await close();
    throw error;
  }
  return { url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, close };
}
