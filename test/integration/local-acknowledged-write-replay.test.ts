/**
 * An acknowledged write is processed after a restart (issue 16 §4): the runtime answers an
 * upload only once it is in the event journal on disk, so a runtime killed (SIGKILL) right after
 * the answer, before the upload's execution ran, runs that execution when it starts again on the
 * same data dir: once, and not again at the start after that.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_JOURNAL } from '../../local/runtime';
import { FREE_PORTS, startLocalProcess } from '../support/local-process';
import { mediaPlaylist } from '../support/playlists';

jest.setTimeout(120_000);

const KEY = 'ch1/primary/720p.m3u8';

/** Starts the runtime on `dataDir` in a process group of its own; resolves with it and its origin and API. */
async function start(dataDir: string) {
  const local = startLocalProcess({ detached: true }, '--json', ...FREE_PORTS, '--data-dir', dataDir);
  const { originUrl, apiUrl } = JSON.parse(await local.firstLine) as { originUrl: string; apiUrl: string };
  return { ...local, originUrl, apiUrl };
}

/** The executions in the data dir's executions.jsonl that `key`'s upload started. */
function executionsOf(dataDir: string, key: string): unknown[] {
  const file = join(dataDir, 'executions.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { input?: { detail?: { object?: { key?: string } } } })
    .filter((record) => record.input?.detail?.object?.key === key);
}

/** Resolves once `check` holds (polled), or fails after `ms`. */
async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('an upload acknowledged just before SIGKILL is processed once after the restart, and not again at the next', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hlsf-replay-'));
  const first = await start(dataDir);

  const put = await fetch(`${first.originUrl}/${KEY}`, { method: 'PUT', body: mediaPlaylist() });
  process.kill(-(first.child.pid as number), 'SIGKILL');
  await first.exit;

  expect(put.status).toBe(201);
  // Killed before the execution finished (a cold start takes longer than the kill), with the
  // write in the journal: what the restart must process.
  expect(executionsOf(dataDir, KEY)).toEqual([]);
  expect(readFileSync(join(dataDir, EVENT_JOURNAL), 'utf8')).toContain(`"key":"${KEY}"`);

  const second = await start(dataDir);
  try {
    await eventually(() => executionsOf(dataDir, KEY).length > 0, 60_000, `an execution for ${KEY}`);
    const recent = (await (await fetch(`${second.apiUrl}/executions`)).json()) as {
      trigger: string;
      status: string;
    }[];
    expect(recent.filter((e) => e.trigger === KEY).map((e) => e.status)).toEqual(['SUCCEEDED']);
    // The workflow took the playlist in: the channel has a state.
    expect((await fetch(`${second.apiUrl}/channels/ch1`)).status).toBe(200);
  } finally {
    second.child.kill('SIGTERM');
  }
  expect((await second.exit).code).toBe(0);

  const third = await start(dataDir);
  // The status API answers once the runtime has started (and so replayed whatever was pending).
  expect((await fetch(`${third.apiUrl}/status`)).status).toBe(200);
  third.child.kill('SIGTERM');
  expect((await third.exit).code).toBe(0);
  expect(executionsOf(dataDir, KEY)).toHaveLength(1);
});
