/** The hls-failover command line: one entry point, one function per command. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CliIo, processIo, UsageError } from './io';

export const HELP = `Usage: hls-failover <command> [options]

Keeps a live HLS stream playing when one of two redundant encoders stalls or dies.

Commands:
  validate <file|->     check a playlist (RFC 8216, live-update rules)
  merge                 merge the encoders' masters into index.m3u8
  local                 run the whole workflow on this machine (npm start)
  demo <action> [<enc>] stall, kill, stop or resume a demo encoder (npm run demo)
  audit                 timeline of index/steering/health changes, alerts and failures
  status                health per channel and encoder, alarms, latest metrics
  replay                run the workflow once for one object (post-deploy smoke test)

Options:
  -h, --help            show help (also: hls-failover <command> --help)
  -v, --version         print the version

Exit codes: 0 success, 1 the input is invalid, 2 usage or I/O error,
3 (validate) valid HLS outside the hosting policy.
`;

/**
 * Each command prints its own --help. Commands load on first use (a synchronous require, which
 * jest and tsx handle like the compiled CLI): `validate` and `merge` never load the AWS SDK that
 * `audit`, `status` and `replay` need, so they start fast.
 */
const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  validate: (args, io) => (require('./validate') as typeof import('./validate')).validateCommand(args, io),
  merge: (args, io) => (require('./merge') as typeof import('./merge')).mergeCommand(args, io),
  local: (args, io) => (require('./local') as typeof import('./local')).localCommand(args, io),
  demo: (args, io) => (require('./demo') as typeof import('./demo')).demoCommand(args, io),
  audit: (args, io) => (require('./audit') as typeof import('./audit')).auditCommand(args, io),
  status: (args, io) => (require('./status') as typeof import('./status')).statusCommand(args, io),
  replay: (args, io) => (require('./replay') as typeof import('./replay')).replayCommand(args, io),
};

/** The package version; package.json sits one folder up from cli/, two from dist/cli/. */
export function version(): string {
  const path = [join(__dirname, '..', 'package.json'), join(__dirname, '..', '..', 'package.json')].find(
    (p) => existsSync(p),
  );
  if (path === undefined) return 'unknown';
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

/** Runs the CLI; returns the exit code and never throws for a user's mistake. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    io.out(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    io.out(`${version()}\n`);
    return 0;
  }
  const entry = COMMANDS[command];
  if (entry === undefined) {
    io.err(`hls-failover: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  try {
    return await entry(rest, io);
  } catch (e) {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      io.err(`hls-failover ${command}: ${e.message}\nRun "hls-failover ${command} --help" for usage.\n`);
      return 2;
    }
    throw e;
  }
}
