/**
 * The workflow's records live in a DynamoDB table made for small conditional writes: on demand,
 * recoverable, gone with the stack, and named to every function by one environment variable.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { STATE_TABLE_ENV } from '../../../functions/config';
import { STATE_TABLE_PARTITION_KEY, STATE_TABLE_SORT_KEY } from '../../../functions/dynamodb-store';
import type { HlsFailoverApp } from '../../../infra/create-app';
import { asList, logicalId, policyStatements, synthesize } from './support';

let built: HlsFailoverApp;
let template: Template;
let tableId: string;

beforeAll(() => {
  ({ template, ...built } = synthesize());
  tableId = logicalId(built, built.stack.stateTable);
});

describe('the state table', () => {
  it('is billed per request, keyed by a group (partition key) and a name (sort key), with point-in-time recovery and encryption at rest', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: STATE_TABLE_PARTITION_KEY, KeyType: 'HASH' },
        { AttributeName: STATE_TABLE_SORT_KEY, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: STATE_TABLE_PARTITION_KEY, AttributeType: 'S' },
        { AttributeName: STATE_TABLE_SORT_KEY, AttributeType: 'S' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TableName: Match.absent(),
    });
  });

  it('goes with the stack (derived state, no fixed name): cdk destroy then cdk deploy works', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  it('is named to every workflow function by its environment variable, and in the stack outputs', () => {
    for (const fn of Object.values(built.stack.functions)) {
      const properties = template.toJSON().Resources[logicalId(built, fn.function)].Properties;
      expect(properties.Environment.Variables[STATE_TABLE_ENV]).toEqual({ Ref: tableId });
    }
    template.hasOutput('StateTableName', { Value: { Ref: tableId } });
  });

  it('holds the state the bucket held: no policy grants anything under the old state prefix but the staged splices', () => {
    const resources = policyStatements(template).flatMap(({ statement }) =>
      asList(statement.Resource).map((r) => JSON.stringify(r)),
    );
    expect(
      resources.filter((r) => r.includes('_hls-failover') && !r.includes('_hls-failover/splices/*')),
    ).toEqual([]);
  });
});
