/**
 * What `cdk destroy` leaves behind, and why the next `cdk deploy` (or the retry of a failed first
 * deploy) still succeeds: nothing kept after deletion has a name fixed by the template.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import type { HlsFailoverApp } from '../../../infra/create-app';
import { logicalId, synthesize } from './support';

let built: HlsFailoverApp;
let template: Template;

beforeAll(() => {
  ({ template, ...built } = synthesize());
});

/** Resources CloudFormation leaves in the account when the stack is deleted. */
function retained(): Record<string, { Type: string; Properties?: Record<string, unknown> }> {
  return Object.fromEntries(
    Object.entries(template.toJSON().Resources as Record<string, Record<string, unknown>>).filter(
      ([, resource]) => resource.DeletionPolicy === 'Retain',
    ),
  ) as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

describe('after cdk destroy', () => {
  it('keeps the data and the logs only: the media bucket, the access-log bucket and the log groups', () => {
    const kept = retained();
    expect(Object.keys(kept)).toEqual(
      expect.arrayContaining([
        logicalId(built, built.stack.bucket),
        logicalId(built, built.stack.stateMachineLogGroup),
      ]),
    );
    expect([...new Set(Object.values(kept).map((r) => r.Type))].sort()).toEqual([
      'AWS::Logs::LogGroup',
      'AWS::S3::Bucket',
    ]);
    expect(Object.values(kept).filter((r) => r.Type === 'AWS::S3::Bucket')).toHaveLength(2);
  });

  it('kept resources have no name fixed in the template, so a new stack never meets its predecessor’s leftovers', () => {
    for (const [id, resource] of Object.entries(retained())) {
      const fixedNames = Object.entries(resource.Properties ?? {}).filter(
        ([property, value]) => /Name$/.test(property) && typeof value === 'string',
      );
      expect({ id, fixedNames }).toEqual({ id, fixedNames: [] });
    }
  });

  it('schedules the alert key for deletion after 7 days (it encrypts nothing that is kept)', () => {
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Delete',
      Properties: { PendingWindowInDays: 7, EnableKeyRotation: true },
    });
  });
});
