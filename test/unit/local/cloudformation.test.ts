// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings use ${…}
import { createResolver, type Template } from '../../../local/cloudformation';

const template: Template = {
  Parameters: { Version: { Default: '/cdk-bootstrap/version' } },
  Conditions: { InUsEast1: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] } },
  Resources: {
    Bucket: { Type: 'AWS::S3::Bucket' },
    Named: {
      Type: 'AWS::Lambda::Function',
      Properties: { FunctionName: { 'Fn::Sub': '${AWS::StackName}-fn' } },
    },
    Topic: { Type: 'AWS::SNS::Topic' },
  },
};
const resolve = createResolver(template, {
  region: 'us-east-1',
  accountId: '000000000000',
  partition: 'aws',
  stackName: 'stack',
  physicalNames: { Bucket: 'local-bucket' },
});

describe('createResolver (the template resolved for a local account)', () => {
  it('resolves Ref and Fn::GetAtt to physical names and ARNs of the local account', () => {
    expect(resolve({ Ref: 'Bucket' })).toBe('local-bucket');
    expect(resolve({ 'Fn::GetAtt': ['Bucket', 'Arn'] })).toBe('arn:aws:s3:::local-bucket');
    expect(resolve({ 'Fn::GetAtt': 'Named.Arn' })).toBe(
      'arn:aws:lambda:us-east-1:000000000000:function:stack-fn',
    );
    expect(resolve({ Ref: 'Topic' })).toBe('arn:aws:sns:us-east-1:000000000000:stack-Topic');
    expect(resolve({ Ref: 'Version' })).toBe('/cdk-bootstrap/version');
  });

  it('resolves Fn::Join, Fn::Sub (with variables and ${!literal}), Fn::Select, Fn::Split and Fn::If', () => {
    expect(resolve({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket', 'Arn'] }, '/*/index.m3u8']] })).toBe(
      'arn:aws:s3:::local-bucket/*/index.m3u8',
    );
    expect(resolve({ 'Fn::Sub': ['${Bucket}/${x}/${!kept}', { x: { Ref: 'AWS::Partition' } }] })).toBe(
      'local-bucket/aws/${kept}',
    );
    expect(resolve({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] })).toBe('b');
    expect(resolve({ 'Fn::If': ['InUsEast1', 'yes', 'no'] })).toBe('yes');
  });

  it('names the intrinsic it cannot resolve', () => {
    expect(() => resolve({ 'Fn::ImportValue': 'x' })).toThrow('no local value for Fn::ImportValue');
    expect(() => resolve({ 'Fn::GetAtt': ['Topic', 'Nope'] })).toThrow('Topic.Nope');
    expect(() => resolve({ Ref: 'Missing' })).toThrow('no resource Missing');
  });
});
