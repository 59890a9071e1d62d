/** `hls-failover local` as a process (what `npm start` runs): endpoints, ingest, clean stop, clear errors. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FREE_PORTS, type LocalProcess, startLocalProcess } from '../support/local-process';
import { mediaPlaylist } from '../support/playlists';

jest.setTimeout(60_000);

function startLocal(...args: string[]): LocalProcess {
  return startLocalProcess({}, ...args);
}

describe('hls-failover local (npm start)', () => {
  it('prints its endpoints as one JSON line, ingests and serves, and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hlsf-cmd-'));
    const { child, firstLine, exit } = startLocal('--json', ...FREE_PORTS, '--data-dir', dataDir);
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

describe('hls-failover local stops as documented (Ctrl+C, SIGTERM)', () => {
  /** A webhook that takes each alert and answers only when told to. */
  async function slowWebhook() {
    const held: ServerResponse[] = [];
    let arrived: () => void = () => undefined;
    const first = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const server = createHttpServer((req, res) => {
      req.resume();
      held.push(res);
      arrived();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`,
      first,
      answer: () => {
        for (const res of held.splice(0)) res.end();
      },
      close: () => {
        server.closeAllConnections();
        server.close();
      },
    };
  }

  /** Starts the runtime with that webhook and an invalid playlist: one execution runs, awaiting it. */
  async function startWithRunningExecution(webhook: string, ...args: string[]) {
    const dataDir = mkdtempSync(join(tmpdir(), 'hlsf-cmd-'));
    const local = startLocalProcess(
      { detached: true },
      '--json',
      '--from-sources',
      ...FREE_PORTS,
      '--data-dir',
      dataDir,
      '--webhook',
      webhook,
      ...args,
    );
    const { originUrl } = JSON.parse(await local.firstLine) as { originUrl: string };
    const put = await fetch(`${originUrl}/ch1/primary/720p.m3u8`, {
      method: 'PUT',
      body: '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:5,\na.ts\n',
    });
    expect(put.status).toBe(201);
    return { ...local, dataDir };
  }

  it('Ctrl+C, even twice, waits for the running execution, then exits 0 with its record written', async () => {
    const webhook = await slowWebhook();
    try {
      // No watchdog run in the way (its default period is short): the one running execution is the upload's.
      const { child, exit, dataDir } = await startWithRunningExecution(
        webhook.url,
        '--watchdog-seconds',
        '3600',
      );
      await webhook.first;

      // As a terminal sends it, to the whole process group, twice: an operator presses again (or,
      // under the tsx CLI, tsx relays it when the runtime takes over 30 ms to acknowledge it).
      process.kill(-(child.pid as number), 'SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 300));
      process.kill(-(child.pid as number), 'SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const exitedEarly = child.exitCode !== null || child.signalCode !== null;
      webhook.answer();
      const { code, stderr } = await exit;

      expect(exitedEarly).toBe(false);
      // The count includes the webhook delivery of the execution's alert (it runs on its own): 1 or
      // 2, whether the execution has finished when the first SIGINT lands.
      expect(stderr).toMatch(/stopping: waiting for [12] running execution/);
      expect(stderr).toMatch(/still stopping: [12] execution\(s\) running/);
      expect(code).toBe(0);
      expect(stderr).toContain('stopped.');
      const executions = readFileSync(join(dataDir, 'executions.jsonl'), 'utf8').trim().split('\n');
      expect(executions).toHaveLength(1);
    } finally {
      webhook.close();
    }
  });

  it('--stop-timeout bounds the wait: SIGTERM with an execution that never ends exits 1 naming it', async () => {
    const webhook = await slowWebhook();
    try {
      const { child, exit } = await startWithRunningExecution(webhook.url, '--stop-timeout', '1');
      await webhook.first;
      const signalled = Date.now();

      child.kill('SIGTERM');
      const { code, stderr } = await exit;

      expect(code).toBe(1);
      expect(stderr).toContain('gave up after 1 s: 1 execution(s) still running were abandoned');
      expect(Date.now() - signalled).toBeLessThan(10_000);
    } finally {
      webhook.close();
    }
  });
});
