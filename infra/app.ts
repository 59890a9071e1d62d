#!/usr/bin/env node
/**
 * CDK entry point (cdk.json: `npx tsx infra/app.ts`). Settings come from deploy/settings.jsonc, or
 * the file `-c settingsFile=<path>` names (docs/settings.md).
 */
import { ConfigInvalidError } from '../functions/hls/errors';
import { createApp } from './create-app';

try {
  createApp();
} catch (error) {
  if (!(error instanceof ConfigInvalidError)) throw error;
  // A bad settings file is the operator's input, not a crash: the problems without a stack trace.
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
