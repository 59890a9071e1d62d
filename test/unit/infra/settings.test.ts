/**
 * The deploy settings file: a bad file fails synth before anything is built, naming every problem;
 * settings given as CDK context are refused, so a later deploy cannot drop what the file configures.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { readSettingsFile as readLocalConfig } from '../../../cli/local-data';
import { parseSettings } from '../../../functions/config';
import { ConfigInvalidError } from '../../../functions/hls/errors';
import { createApp } from '../../../infra/create-app';
import { DEFAULT_SETTINGS_FILE, parseSettingsText, settingsFromFile } from '../../../infra/settings';
import { HlsFailoverStack } from '../../../infra/stack';
import { buildApp, cdkJsonContext } from './support';

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

/** A settings file with this text, in a fresh temporary directory. */
function settingsFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'hls-failover-settings-')), 'settings.jsonc');
  writeFileSync(file, text);
  return file;
}

/** The app as `cdk synth -c settingsFile=<file>` builds it (no bundling). */
function appFromFile(file: string, context: Record<string, unknown> = {}) {
  return createApp({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], settingsFile: file, ...context },
  });
}

describe('the committed settings file', () => {
  it('is read by default, is valid, and holds the defaults (what CI synthesizes)', () => {
    const { stack } = createApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    expect(stack.settings).toEqual(parseSettings({}));
    expect(stack.stackName).toBe('hls-failover');
    expect(DEFAULT_SETTINGS_FILE).toBe('deploy/settings.jsonc');
  });

  it('runs locally as it is (hls-failover local --config deploy/settings.jsonc: same reader)', () => {
    expect(readLocalConfig(DEFAULT_SETTINGS_FILE)).toEqual(parseSettings({}));
  });
});

describe('settings file validation', () => {
  it('reports every bad value at once, not the first, naming the file', () => {
    const error = configError(() => buildApp({ watchdogRateMinutes: 'often', logRetentionDays: 42 }));
    expect(error.problems).toEqual([
      'deploy/settings.jsonc: "watchdogRateMinutes" must be a number (got "often")',
      expect.stringContaining('deploy/settings.jsonc: "logRetentionDays" must be one of'),
    ]);
  });

  it('reports problems between settings together with the problems of single settings', () => {
    const error = configError(() =>
      buildApp({ domainName: 'live.example.com', alertEmails: ['not-an-address'], watchdogRateMinutes: 600 }),
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

  it('refuses a channel named like an encoder folder (its index.m3u8 would start the workflow)', () => {
    const error = configError(() =>
      buildApp({ channels: ['news', 'cam-a', 'sport/cam-b'], encoders: ['cam-a', 'cam-b'] }),
    );
    expect(error.problems).toEqual([
      'deploy/settings.jsonc: "channels": channel "cam-a" has a path segment named like the folder "cam-a" (<channel>/cam-a/… is an encoder\'s folder, or the published playlists\')',
      expect.stringContaining('channel "sport/cam-b" has a path segment named like the folder "cam-b"'),
    ]);
    expect(buildApp({ channels: ['news', 'sport/hd'] }).stack.settings.channels).toEqual([
      'news',
      'sport/hd',
    ]);
  });

  it('rejects a setting it does not know (a typo would otherwise be ignored)', () => {
    const error = configError(() => buildApp({ alertEmail: ['oncall@example.com'] }));
    expect(error.problems).toEqual([
      expect.stringContaining('"alertEmail" is not a setting of hls-failover'),
    ]);
  });

  it('reads JSON with comments and trailing commas, with JSON lists, numbers and booleans', () => {
    const { values, problems } = parseSettingsText(
      '// ops settings\n{\n  "alertEmails": ["a@example.com"], // on-call\n  "watchdogRateMinutes": 2,\n  "logExecutionData": false,\n}\n',
      'f.jsonc',
    );
    expect(problems).toEqual([]);
    expect(parseSettings(values ?? {})).toMatchObject({
      alertEmails: ['a@example.com'],
      watchdogRateMinutes: 2,
      logExecutionData: false,
    });
  });

  it('points at syntax errors by line and column, and refuses a setting given twice', () => {
    const { problems } = parseSettingsText(
      '{\n  "channels": ["news"],\n  "channels": ["sport"],\n  "stackName" "x"\n}',
      'f.jsonc',
    );
    expect(problems).toEqual([
      'f.jsonc:4:15: JSON syntax error: colon expected',
      'f.jsonc:3:3: "channels" is set twice; keep one',
    ]);
  });

  it('refuses a file that is not one JSON object', () => {
    expect(parseSettingsText('["primary"]', 'f.jsonc').problems).toEqual([
      'f.jsonc must hold one JSON object of settings',
    ]);
  });
});

describe('where a deploy takes its settings from', () => {
  it('reads the file -c settingsFile names (one file per stack)', () => {
    const file = settingsFile('{ "stackName": "hls-failover-staging", "channels": ["news"] }');
    const { stack } = appFromFile(file);
    expect(stack.stackName).toBe('hls-failover-staging');
    expect(stack.settings.channels).toEqual(['news']);
  });

  it('names a settings file that does not exist', () => {
    const error = configError(() => appFromFile('deploy/nope.jsonc'));
    expect(error.problems).toEqual([
      'cannot read the settings file deploy/nope.jsonc (no such file); copy deploy/settings.jsonc and edit it',
    ]);
  });

  it('refuses settings given as -c flags, so a later deploy without the flag cannot drop them', () => {
    const file = settingsFile('{ "alertEmails": ["oncall@example.com"], "logRetentionDays": 42 }');
    const error = configError(() =>
      appFromFile(file, { alertEmails: 'other@example.com', channels: 'news' }),
    );
    expect(error.problems).toEqual([
      expect.stringMatching(
        /^"alertEmails" was given as CDK context \(-c alertEmails=….*set "alertEmails" in .*settings\.jsonc instead$/,
      ),
      expect.stringContaining('"channels" was given as CDK context'),
      expect.stringContaining('"logRetentionDays" must be one of'),
    ]);
  });

  it('is repeated by the stack for settings given in code', () => {
    const settings = { ...parseSettings({}), domainName: 'live.example.com' };
    const error = configError(() => new HlsFailoverStack(new App(), 'Stack', { settings }));
    expect(error.problems).toEqual([expect.stringContaining('"domainName" and "certificateArn"')]);
  });

  it('reads the settings of a construct tree without a stack (settingsFromFile)', () => {
    expect(settingsFromFile(new App(), { failback: 'manual' }).failback).toBe('manual');
  });
});
