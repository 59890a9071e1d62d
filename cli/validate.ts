import { parseArgs } from 'node:util';
import {
  classifyPlaylist,
  type ValidationResult,
  type Violation,
  validateMasterPlaylist,
  validateMediaPlaylist,
} from '../functions/hls';
import { type CliIo, readPlaylistFile, UsageError } from './io';

export const VALIDATE_HELP = `Usage: hls-failover validate <file|-> [options]

Checks a master or media playlist against RFC 8216 and, with --previous, the live-update rules
of draft-pantos-hls-rfc8216bis §6.2.1–6.2.2, then the hosting policy: every URI (after
EXT-X-DEFINE substitution) stays in the encoder's folder or goes to an allowed host. Prints one
line per finding:
  <file>:<line> <rule-id> <message>        (warnings say "warning", policy findings "policy")
At most 100 errors, 100 warnings and 100 policy findings are listed; the rest are counted.

Options:
  --previous <file>     the last accepted version of this media playlist
  --allow-host <host>   allow absolute URIs to this host (repeatable)
  --max-chars <n>       size limit in characters (default 5000000)
  --json                print one JSON document instead of lines
  -h, --help            show this help

Exit codes: 0 valid HLS within the hosting policy (warnings allowed), 1 not valid HLS,
2 usage or I/O error, 3 valid HLS but outside the hosting policy (the workflow refuses it).
`;

export async function validateCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      previous: { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      'max-chars': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(VALIDATE_HELP);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError('validate takes exactly one playlist file (or - for standard input)');
  const file = positionals[0] as string;
  const maxPlaylistChars =
    values['max-chars'] === undefined ? undefined : parsePositiveInteger(values['max-chars'], '--max-chars');
  const options = {
    ...(maxPlaylistChars === undefined ? {} : { maxPlaylistChars }),
    allowedHosts: values['allow-host'] ?? [],
  };

  const text = await readPlaylistFile(file, io);
  const kind = classifyPlaylist(text);
  let result: ValidationResult<unknown>;
  if (kind === 'master') {
    if (values.previous !== undefined) throw new UsageError('--previous applies to media playlists only');
    result = validateMasterPlaylist(text, options);
  } else {
    const previous = values.previous === undefined ? undefined : await readPlaylistFile(values.previous, io);
    result = validateMediaPlaylist(text, previous, options);
  }

  const name = file === '-' ? '<stdin>' : file;
  if (values.json) {
    io.out(
      `${JSON.stringify({ file: name, kind, valid: result.valid, errors: result.errors, warnings: result.warnings, policy: result.policy }, null, 2)}\n`,
    );
  } else {
    for (const v of [...result.errors, ...result.warnings, ...result.policy])
      io.out(`${formatViolation(name, v)}\n`);
    const summary = [
      count(result.errors.length, 'error'),
      count(result.warnings.length, 'warning'),
      count(result.policy.length, 'policy finding'),
    ].join(', ');
    const verdict = result.valid
      ? result.policy.length === 0
        ? 'valid'
        : 'valid (outside the hosting policy)'
      : 'INVALID';
    io.err(`${name}: ${verdict} ${kind === 'unknown' ? 'playlist' : `${kind} playlist`} (${summary})\n`);
  }
  if (!result.valid) return 1;
  return result.policy.length === 0 ? 0 : 3;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `file:line rule-id message`; the line is 0 when a violation belongs to no single line. */
export function formatViolation(file: string, v: Violation): string {
  return `${file}:${v.line ?? 0} ${v.rule}${v.severity === 'error' ? '' : ` ${v.severity}`} ${v.message}`;
}

export function parsePositiveInteger(value: string, option: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`${option} takes a whole number above 0 (got "${value}")`);
  return Number(value);
}
