/**
 * The alert topic's key and policy admit CloudWatch only on behalf of this account's alarms
 * (confused-deputy prevention: aws:SourceAccount and aws:SourceArn on every service grant).
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { asList, type PolicyStatementJson, synthesize } from './support';

let template: Template;

beforeAll(() => {
  ({ template } = synthesize());
});

const THIS_ACCOUNTS_ALARMS = {
  ArnLike: {
    'aws:SourceArn': {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':cloudwatch:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':alarm:*',
        ],
      ],
    },
  },
  StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
};

/** Statements of the alert key's policy and the alert topic's policy that name a service principal. */
function serviceGrants(): PolicyStatementJson[] {
  const keyStatements = Object.values(template.findResources('AWS::KMS::Key')).flatMap(
    (k) => k.Properties.KeyPolicy.Statement as PolicyStatementJson[],
  );
  const topicStatements = Object.values(template.findResources('AWS::SNS::TopicPolicy')).flatMap(
    (p) => p.Properties.PolicyDocument.Statement as PolicyStatementJson[],
  );
  return [...keyStatements, ...topicStatements].filter(
    (s) =>
      s.Effect === 'Allow' && (s as { Principal?: { Service?: unknown } }).Principal?.Service !== undefined,
  );
}

describe('the alert key and topic', () => {
  it('let CloudWatch use the key only for alarms of this account and region', () => {
    const [keyGrant] = Object.values(template.findResources('AWS::KMS::Key')).flatMap((k) =>
      (k.Properties.KeyPolicy.Statement as PolicyStatementJson[]).filter(
        (s) => s.Sid === 'AllowCloudWatchAlarmsToUseTheKey',
      ),
    );
    expect(keyGrant).toMatchObject({
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Condition: THIS_ACCOUNTS_ALARMS,
    });
  });

  it('grant no service principal anything without aws:SourceAccount and aws:SourceArn', () => {
    const grants = serviceGrants();
    expect(grants.flatMap((g) => asList(g.Action))).toEqual(
      expect.arrayContaining(['kms:Decrypt', 'sns:Publish']),
    );
    for (const grant of grants) expect(grant.Condition).toEqual(THIS_ACCOUNTS_ALARMS);
  });
});
