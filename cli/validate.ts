import { parseArgs } from 'node:util';
import {
  classifyPlaylist,
  type Violation,
  validateMasterPlaylist,
  validateMediaPlaylist,
} from '../functions/hls';
import { type CliIo, readPlaylistFile, UsageError } from './io';

export const VALIDATE_HELP = `Usage: hls-failover validate <file|-> [options]

Checks a master or media playlist against RFC 8216 and, with --previous, the live-update rules
of draft-pantos-hls-rfc8216bis §6.2.1–6.2.2. Prints one line per violation:
  <file>:<line> <rule-id> <message>        (warnings say "warning" after the rule id)

Options:
  --previous <file>     the last accepted version of this media playlist
  --allow-host <host>   allow absolute URIs to this host (repeatable; master playlists)
  --max-chars <n>       size limit in characters (default 5000000)
  --json                print one JSON document instead of lines
  -h, --help            show this help

Exit codes: 0 valid (warnings allowed), 1 invalid, 2 usage or I/O error.
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
  const limits = maxPlaylistChars === undefined ? {} : { maxPlaylistChars };

  const text = await readPlaylistFile(file, io);
  const kind = classifyPlaylist(text);
  let result: { valid: boolean; errors: readonly Violation[]; warnings: readonly Violation[] };
  if (kind === 'master') {
    if (values.previous !== undefined) throw new UsageError('--previous applies to media playlists only');
    result = validateMasterPlaylist(text, { ...limits, allowedHosts: values['allow-host'] ?? [] });
  } else {
    const previous = values.previous === undefined ? undefined : await readPlaylistFile(values.previous, io);
    result = validateMediaPlaylist(text, previous, limits);
  }

  const name = file === '-' ? '<stdin>' : file;
  if (values.json) {
    io.out(
      `${JSON.stringify({ file: name, kind, valid: result.valid, errors: result.errors, warnings: result.warnings }, null, 2)}\n`,
    );
  } else {
    for (const v of [...result.errors, ...result.warnings]) io.out(`${formatViolation(name, v)}\n`);
    const summary = `${result.errors.length} error${result.errors.length === 1 ? '' : 's'}, ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}`;
    io.err(
      `${name}: ${result.valid ? 'valid' : 'INVALID'} ${kind === 'unknown' ? 'playlist' : `${kind} playlist`} (${summary})\n`,
    );
  }
  return result.valid ? 0 : 1;
}

/** `file:line rule-id message`; the line is 0 when a violation belongs to no single line. */
export function formatViolation(file: string, v: Violation): string {
  return `${file}:${v.line ?? 0} ${v.rule}${v.severity === 'warning' ? ' warning' : ''} ${v.message}`;
}

export function parsePositiveInteger(value: string, option: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`${option} takes a whole number above 0 (got "${value}")`);
  return Number(value);
}
