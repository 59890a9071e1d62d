#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build`, which `npm ci` runs as `prepare`);
// in a checkout without dist/ it runs the TypeScript sources through tsx.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

// See cli/start.ts: the AWS SDK's notice about Node < 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const compiled = join(__dirname, '..', 'dist', 'cli', 'main.js');
let cli;
if (existsSync(compiled)) {
  cli = require(compiled);
} else {
  require('tsx/cjs/api').register();
  cli = require(join(__dirname, '..', 'cli', 'main.ts'));
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`hls-failover: internal error: ${error?.stack ? error.stack : error}\n`);
    process.exitCode = 70;
  },
);
