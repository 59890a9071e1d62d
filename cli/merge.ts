import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ConfigInvalidError,
  classifyPlaylist,
  LadderMismatchError,
  type MasterSource,
  type MediaOnlyRendition,
  mergeMasters,
  PlaylistInvalidError,
  validateMediaPlaylist,
} from '../functions/hls';
import { type CliIo, readPlaylistFile, UsageError, writeFileAtomic } from './io';
import { formatViolation } from './validate';

export const MERGE_HELP = `Usage: hls-failover merge --primary <file> [--failover <file>] [options]

Merges the encoders' master playlists into one index.m3u8: every variant once per encoder with
its own PATHWAY-ID, EXT-X-MEDIA groups per encoder, content steering on by default. A media
playlist given instead of a master gets a synthesized master (BANDWIDTH from the sizes of the
segment files beside it).

Options:
  --primary <file>          the primary encoder's master (or media) playlist
  --failover <file>         the failover encoder's master (or media) playlist
  --prefer <encoder>        primary | failover: listed first and first in steering (default primary)
  --no-steering             plain redundant variants: no EXT-X-CONTENT-STEERING, no PATHWAY-ID
  --steering-uri <uri>      SERVER-URI of the steering manifest (default steering.json)
  --primary-base <url>      absolute base URL for the primary's URIs (default: relative primary/)
  --failover-base <url>     absolute base URL for the failover's URIs (default: relative failover/)
  --allow-host <host>       allow absolute URIs to this host in the inputs (repeatable)
  --lenient                 merge mismatched ladders with a warning instead of failing
  --out <file>              write the index there (atomically) instead of standard output
  --json                    print {"text", "order", "warnings"} as JSON
  -h, --help                show this help

Exit codes: 0 merged, 1 invalid input or ladder mismatch, 2 usage or I/O error.
`;

export async function mergeCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      primary: { type: 'string' },
      failover: { type: 'string' },
      prefer: { type: 'string' },
      'no-steering': { type: 'boolean' },
      'steering-uri': { type: 'string' },
      'primary-base': { type: 'string' },
      'failover-base': { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      lenient: { type: 'boolean' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.out(MERGE_HELP);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument "${positionals[0]}"; inputs go after --primary / --failover`);
  if (values.primary === undefined) throw new UsageError('merge needs --primary <file>');
  if (values.prefer !== undefined && values.prefer !== 'primary' && values.prefer !== 'failover') {
    throw new UsageError(`--prefer takes primary or failover (got "${values.prefer}")`);
  }

  const inputs: Record<string, string> = { primary: values.primary };
  if (values.failover !== undefined) inputs.failover = values.failover;
  const sources: Record<string, MasterSource> = {};
  for (const [encoder, file] of Object.entries(inputs)) sources[encoder] = await readSource(file, io);

  const baseUrls: Record<string, string> = {};
  if (values['primary-base'] !== undefined) baseUrls.primary = values['primary-base'];
  if (values['failover-base'] !== undefined) baseUrls.failover = values['failover-base'];
  const allowedHosts = [...(values['allow-host'] ?? []), ...Object.values(baseUrls).flatMap(hostOf)];

  try {
    const result = mergeMasters(sources.primary, sources.failover, {
      steering: !values['no-steering'],
      baseUrls,
      allowedHosts,
      lenient: values.lenient ?? false,
      ...(values.prefer === undefined ? {} : { prefer: values.prefer }),
      ...(values['steering-uri'] === undefined ? {} : { steeringUri: values['steering-uri'] }),
    });
    for (const w of result.warnings) io.err(`warning: ${w}\n`);
    const output = values.json ? `${JSON.stringify(result, null, 2)}\n` : result.text;
    if (values.out === undefined) io.out(output);
    else {
      await writeFileAtomic(values.out, output);
      io.err(`wrote ${values.out} (${result.order.join(' first, then ')})\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof PlaylistInvalidError) {
      const encoder = e.message.split(' ', 1)[0] as string;
      io.err(`${e.message.split(':', 1)[0]}:\n`);
      for (const v of e.violations) io.err(`  ${formatViolation(inputs[encoder] ?? encoder, v)}\n`);
      return 1;
    }
    if (e instanceof LadderMismatchError) {
      io.err(
        `the encoders' ladders differ (use --lenient to merge anyway):\n${e.differences.map((d) => `  ${d}\n`).join('')}`,
      );
      return 1;
    }
    if (e instanceof ConfigInvalidError) throw new UsageError(e.message);
    throw e;
  }
}

function hostOf(url: string): string[] {
  try {
    return [new URL(url).hostname];
  } catch {
    return [];
  }
}

/** A master as text; a media playlist becomes a media-only source sized from its segment files. */
async function readSource(file: string, io: CliIo): Promise<MasterSource> {
  const text = await readPlaylistFile(file, io);
  if (classifyPlaylist(text) !== 'media') return text;
  if (file === '-')
    throw new UsageError('a media playlist on standard input cannot be sized; give its file path');
  const result = validateMediaPlaylist(text);
  if (!result.valid || result.snapshot === undefined)
    throw new PlaylistInvalidError(result.errors, `${file}`);
  const folder = dirname(resolve(file));
  const segments = await Promise.all(
    result.snapshot.segments.map(async (s) => {
      const path = resolve(folder, decodeURIComponent(s.uri.split('?', 1)[0] ?? ''));
      const info = await stat(path).catch(() => {
        throw new UsageError(
          `cannot size segment ${s.uri} of ${file} (looked for ${path}); give a master playlist instead`,
        );
      });
      return { bytes: info.size, duration: s.duration };
    }),
  );
  const rendition: MediaOnlyRendition = { uri: basename(file), segments };
  return { mediaOnly: [rendition] };
}
