/** `npm start`: the CLI from the TypeScript sources (never a stale dist/). */

// The AWS SDK prints a notice on Node < 22 that its releases after January 2027 need Node 22; the
// versions in package-lock.json run on Node 20, and the README says so. Set the variable to "false"
// to see it. Set before the CLI loads: handler modules build their SDK clients at load time.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = require('./main') as typeof import('./main');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `hls-failover: internal error: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exitCode = 70;
  },
);
