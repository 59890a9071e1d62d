/** The installed entry point, as a real process: exit codes and streams as a shell sees them. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const bin = join(__dirname, '..', '..', 'bin', 'hls-failover.js');
const fixtures = join(__dirname, '..', 'unit', 'hls', 'fixtures');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('bin/hls-failover.js as a process', () => {
  it('validates a file: exit 0, summary on stderr', () => {
    const result = run('validate', join(fixtures, 'media-live.m3u8'));
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/valid media playlist/);
  });

  it('merges two masters to stdout', () => {
    const master = join(fixtures, 'master-full.m3u8');
    const result = run('merge', '--primary', master, '--failover', master);
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF'))).toHaveLength(4);
  });

  it('exits 2 with a message, not a stack trace, on a usage error', () => {
    const result = run('validate', '--nope');
    expect(result.status).toBe(2);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
