/**
 * Typed, validated context: a bad deploy command fails before anything is built, naming every problem.
 */
import { App } from 'aws-cdk-lib';
import { parseSettings } from '../../../functions/config';
import { ConfigInvalidError } from '../../../functions/hls/errors';
import { settingsFromContext } from '../../../infra/settings';
import { HlsFailoverStack } from '../../../infra/stack';
import { buildApp } from './support';

/** The ConfigInvalidError `run` throws. */
function configError(run: () => unknown): ConfigInvalidError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigInvalidError) return error;
    throw error;
  }
  throw new Error('expected a ConfigInvalidError');
}

describe('context validation', () => {
  it('reports every bad value at once, not the first', () => {
    const error = configError(() => buildApp({ watchdogRateMinutes: 'often', logRetentionDays: 42 }));
    expect(error.problems).toHaveLength(2);
    expect(error.problems).toEqual([
      expect.stringContaining('"watchdogRateMinutes" must be a number'),
      expect.stringContaining('"logRetentionDays" must be one of'),
    ]);
    expect(error.message).toContain('watchdogRateMinutes');
    expect(error.message).toContain('logRetentionDays');
  });

  it('reports problems between settings together with the problems of single settings', () => {
    const error = configError(() =>
      buildApp({ domainName: 'live.example.com', alertEmails: 'not-an-address', watchdogRateMinutes: 600 }),
    );
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('"alertEmails" must be e-mail addresses'),
        expect.stringContaining('"domainName" and "certificateArn" must be set together'),
        expect.stringContaining('"watchdogRateMinutes" must be at most 480'),
      ]),
    );
    expect(error.problems).toHaveLength(3);
  });

  it('rejects a certificate outside us-east-1 (CloudFront uses no other region)', () => {
    const error = configError(() =>
      buildApp({
        domainName: 'live.example.com',
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666',
      }),
    );
    expect(error.problems).toEqual([
      expect.stringContaining('"certificateArn" must be the ARN of an ACM certificate in us-east-1'),
    ]);
  });

  it('accepts the string forms `-c name=value` gives (lists comma-separated, numbers and booleans as text)', () => {
    const app = new App({
      context: {
        alertEmails: 'a@example.com, b@example.com',
        channels: 'news,sport',
        watchdogRateMinutes: '2',
        logExecutionData: 'false',
      },
    });
    expect(settingsFromContext(app)).toMatchObject({
      alertEmails: ['a@example.com', 'b@example.com'],
      channels: ['news', 'sport'],
      watchdogRateMinutes: 2,
      logExecutionData: false,
    });
  });

  it('applies the defaults, including the stack name hls-failover', () => {
    const settings = settingsFromContext(new App());
    expect(settings).toEqual(parseSettings({}));
    expect(buildApp().stack.stackName).toBe('hls-failover');
    expect(buildApp({ stackName: 'hls-failover-staging' }).stack.stackName).toBe('hls-failover-staging');
  });

  it('is repeated by the stack for settings given in code', () => {
    const settings = { ...parseSettings({}), domainName: 'live.example.com' };
    const error = configError(() => new HlsFailoverStack(new App(), 'Stack', { settings }));
    expect(error.problems).toEqual([expect.stringContaining('"domainName" and "certificateArn"')]);
  });
});
