/** What a CLI command touches of the outside world; tests pass their own. */
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<Buffer>;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  },
};

/** A usage or I/O problem: exit code 2, message only, never a stack trace. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Files above this are refused before reading; the domain's own limit applies to what is read. */
const MAX_READ_BYTES = 64 * 1024 * 1024;

/** Reads a playlist file (or stdin for '-') as UTF-8; undecodable bytes become U+FFFD for the validator to report. */
export async function readPlaylistFile(path: string, io: CliIo): Promise<string> {
  let bytes: Buffer;
  if (path === '-') {
    bytes = await io.readStdin();
  } else {
    const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    });
    if (info.isDirectory()) throw new UsageError(`${path} is a folder; give a playlist file`);
    if (info.size > MAX_READ_BYTES)
      throw new UsageError(`${path} is ${info.size} bytes; playlists this large are not read`);
    bytes = await readFile(path);
  }
  // ignoreBOM keeps a byte order mark in the text, so the validator can report it (bom-present).
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
}

/** Writes a file atomically (temporary file, then rename): readers never see half of it. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text);
    await rename(temporary, path);
  } catch (e) {
    await unlink(temporary).catch(() => undefined);
    throw new UsageError(`cannot write ${path}: ${(e as Error).message}`);
  }
}
