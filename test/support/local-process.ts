/** `hls-failover local` as a child process, started as `npm start` runs it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/** Every server on a port the system picks. */
export const FREE_PORTS = ['--s3-port', '0', '--origin-port', '0', '--status-port', '0'];

export interface LocalProcess {
  readonly child: ChildProcess;
  /** The first line it prints (with `--json`, its endpoints). */
  readonly firstLine: Promise<string>;
  /** Its exit code (null when a signal ended it) and everything it wrote to stderr. */
  readonly exit: Promise<{ code: number | null; stderr: string }>;
}

/**
 * Starts `hls-failover local ...args`. `detached`: in a process group of its own, which a test can
 * signal as a terminal does.
 */
export function startLocalProcess(
  { detached = false }: { detached?: boolean },
  ...args: string[]
): LocalProcess {
  // As npm start runs it: tsx as a loader in the one process (no tsx parent relaying signals).
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'cli', 'start.ts'), 'local', ...args],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached,
    },
  );
  let stdout = '';
  let stderr = '';
  const firstLine = new Promise<string>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0] as string);
    });
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr })),
  );
  return { child, firstLine, exit };
}
