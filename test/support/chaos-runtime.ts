/**
 * `hls-failover local` as the chaos test runs it: a child process in a process group of its own
 * (as `npm start` runs it: tsx as a loader, the synthesized stack), on one data dir that outlives
 * it, so the test can `kill -9` the whole runtime and start it again where it left off.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

export interface RuntimeEndpoints {
  readonly originUrl: string;
  readonly apiUrl: string;
  /** The embedded S3 endpoint and the bucket, e.g. `http://127.0.0.1:4569` and `live`. */
  readonly s3Endpoint: string;
  readonly bucket: string;
}

/** One run of the runtime process: its endpoints (ports change at each start) and its exit. */
interface RuntimeProcess {
  readonly child: ChildProcess;
  readonly endpoints: RuntimeEndpoints;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** How long a start may take (the Lambda bundles load in worker threads) before the test gives up. */
const START_TIMEOUT_MS = 60_000;

export class ChaosRuntime {
  private current: RuntimeProcess | undefined;

  constructor(
    readonly dataDir: string,
    private readonly args: readonly string[],
  ) {}

  /** The endpoints of the running process; throws while none runs. */
  get endpoints(): RuntimeEndpoints {
    if (this.current === undefined) throw new Error('the runtime is not running');
    return this.current.endpoints;
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  /** Starts the runtime on the data dir; resolves once it printed its endpoints. */
  async start(): Promise<void> {
    if (this.current !== undefined) throw new Error('the runtime is already running');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'cli', 'start.ts'),
        'local',
        '--json',
        '--s3-port',
        '0',
        '--origin-port',
        '0',
        '--status-port',
        '0',
        '--data-dir',
        this.dataDir,
        ...this.args,
      ],
      // A process group of its own: the kill reaches the runtime and anything it started, as a crash would.
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let output = '';
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const firstLine = new Promise<string>((resolve, reject) => {
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n')));
      });
      void exit.then(({ code, signal }) =>
        reject(new Error(`the runtime exited (${code ?? signal}) before it started:\n${output}`)),
      );
      setTimeout(
        () => reject(new Error(`the runtime did not start in ${START_TIMEOUT_MS} ms:\n${output}`)),
        START_TIMEOUT_MS,
      ).unref();
    });
    try {
      const { originUrl, apiUrl, s3Endpoint, bucket } = JSON.parse(await firstLine) as RuntimeEndpoints;
      this.current = { child, exit, endpoints: { originUrl, apiUrl, s3Endpoint, bucket } };
    } catch (error) {
      this.killGroup(child, 'SIGKILL');
      throw error;
    }
  }

  /** `kill -9` of the whole process group, as a crash or the OOM killer does; resolves once it is gone. */
  async kill(): Promise<void> {
    const run = this.take();
    this.killGroup(run.child, 'SIGKILL');
    await run.exit;
  }

  /** SIGTERM (a clean stop: running executions finish); resolves with the exit code. */
  async stop(): Promise<number | null> {
    const run = this.take();
    this.killGroup(run.child, 'SIGTERM');
    return (await run.exit).code;
  }

  private take(): RuntimeProcess {
    const run = this.current;
    if (run === undefined) throw new Error('the runtime is not running');
    this.current = undefined;
    return run;
  }

  private killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // already gone
    }
  }
}
