/** `hls-failover local` as a process (what `npm start` runs): endpoints, ingest, clean stop, clear errors. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaPlaylist } from '../support/playlists';

jest.setTimeout(60_000);
const root = join(__dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

function startLocal(...args: string[]): {
  child: ChildProcess;
  firstLine: Promise<string>;
  exit: Promise<{ code: number | null; stderr: string }>;
} {
  const child = spawn(tsx, [join(root, 'cli', 'start.ts'), 'local', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

describe('hls-failover local (npm start)', () => {
  it('prints its endpoints as one JSON line, ingests and serves, and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hlsf-cmd-'));
    const { child, firstLine, exit } = startLocal(
      '--json',
      '--s3-port',
      '0',
      '--origin-port',
      '0',
      '--status-port',
      '0',
      '--data-dir',
      dataDir,
    );
    const endpoints = JSON.parse(await firstLine) as {
      originUrl: string;
      statusUrl: string;
      apiUrl: string;
      s3Endpoint: string;
      bucket: string;
      dataDir: string;
    };
    expect(endpoints).toMatchObject({
      bucket: 'live',
      dataDir,
      originUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      statusUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/),
      apiUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/api$/),
    });
    expect((await fetch(`${endpoints.apiUrl}/status`)).status).toBe(200);
    const put = await fetch(`${endpoints.originUrl}/ch1/primary/720p.m3u8`, {
      method: 'PUT',
      body: mediaPlaylist(),
    });
    expect(put.status).toBe(201);
    expect(await (await fetch(`${endpoints.originUrl}/ch1/primary/720p.m3u8`)).text()).toBe(mediaPlaylist());
    child.kill('SIGTERM');
    const { code, stderr } = await exit;
    expect(code).toBe(0);
    expect(stderr).toContain('stopped.');
  });

  it('exits 2 with a clear message when a port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { exit } = startLocal(
        '--origin-port',
        String(port),
        '--s3-port',
        '0',
        '--data-dir',
        mkdtempSync(join(tmpdir(), 'hlsf-cmd-')),
      );
      const { code, stderr } = await exit;
      expect(code).toBe(2);
      expect(stderr).toContain(`port ${port} is in use`);
    } finally {
      blocker.close();
    }
  });

  it('exits 2 naming every problem of a bad config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hlsf-cmd-'));
    const config = join(dir, 'config.json');
    require('node:fs').writeFileSync(config, JSON.stringify({ failback: 'sometimes', maxLagSegments: 0 }));
    const { exit } = startLocal('--config', config, '--data-dir', dir);
    const { code, stderr } = await exit;
    expect(code).toBe(2);
    expect(stderr).toMatch(/failback" must be one of auto, manual/);
    expect(stderr).toMatch(/maxLagSegments" must be a whole number >= 1/);
  });

  it('exits 2 when --max-upload-mb is not a whole number of MiB above 0', async () => {
    const { exit } = startLocal(
      '--max-upload-mb',
      '0.5',
      '--data-dir',
      mkdtempSync(join(tmpdir(), 'hlsf-cmd-')),
    );
    const { code, stderr } = await exit;
    expect(code).toBe(2);
    expect(stderr).toContain('--max-upload-mb takes a whole number above 0 (got "0.5")');
  });
});
