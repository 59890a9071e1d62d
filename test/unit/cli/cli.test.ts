import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli';
import { fixture, mediaPlaylist } from '../../support/playlists';

const fixtures = join(__dirname, '..', 'hls', 'fixtures');
const simple = join(fixtures, 'master-simple.m3u8');
const work = mkdtempSync(join(tmpdir(), 'hls-failover-cli-'));
const file = (name: string, text: string) => {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
};

describe('hls-failover (top level)', () => {
  it('prints help with --help and exits 0; with no command it prints help and exits 2', async () => {
    expect(await runCli(['--help'])).toMatchObject({
      code: 0,
      out: expect.stringMatching(/Commands:\n\s+validate/),
    });
    expect((await runCli([])).code).toBe(2);
  });

  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(await runCli(['--version'])).toEqual({ code: 0, out: `${pkg.version}\n`, err: '' });
  });

  it('names an unknown command and exits 2', async () => {
    expect(await runCli(['frobnicate'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/unknown command "frobnicate"/),
    });
  });
});

describe('hls-failover validate', () => {
  it('exits 0 for a valid playlist and says so on stderr', async () => {
    expect(await runCli(['validate', join(fixtures, 'media-live.m3u8')])).toMatchObject({
      code: 0,
      out: '',
      err: expect.stringMatching(/valid media playlist \(0 errors, 0 warnings, 0 policy findings\)/),
    });
  });

  it('exits 1 with one "file:line rule-id message" line per violation', async () => {
    const path = file('bad.m3u8', '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:3,\na.ts\n#EXTINF:x,\nb.ts\n');
    const { code, out } = await runCli(['validate', path]);
    expect(code).toBe(1);
    expect(out.trim().split('\n')).toEqual([
      `${path}:5 extinf-invalid EXTINF duration "x" is not a decimal number of seconds`,
      `${path}:3 extinf-exceeds-targetduration segment "a.ts" lasts 3 s, more than EXT-X-TARGETDURATION 2 s once rounded`,
    ]);
  });

  it('applies the live-update rules with --previous', async () => {
    const previous = file('prev.m3u8', mediaPlaylist({ sequence: 100 }));
    const next = file('next.m3u8', mediaPlaylist({ sequence: 99 }));
    const { code, out } = await runCli(['validate', next, '--previous', previous]);
    expect(code).toBe(1);
    expect(out).toMatch(/:4 live-media-sequence-decreased /);
  });

  it('reads standard input for "-" and prints JSON with --json', async () => {
    const { code, out } = await runCli(['validate', '-', '--json'], fixture('master-full.m3u8'));
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      file: '<stdin>',
      kind: 'master',
      valid: true,
      errors: [],
      warnings: [],
      policy: [],
    });
  });

  it('exits 3 for valid HLS outside the hosting policy; honours --allow-host and --max-chars', async () => {
    const master = file('abs.m3u8', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttps://cdn.example/v.m3u8\n');
    expect(await runCli(['validate', master])).toMatchObject({
      code: 3,
      out: expect.stringMatching(/:3 uri-absolute policy /),
      err: expect.stringMatching(/valid \(outside the hosting policy\) master playlist/),
    });
    expect((await runCli(['validate', master, '--allow-host', 'cdn.example'])).code).toBe(0);
    expect((await runCli(['validate', master, '--max-chars', '10'])).out).toMatch(/playlist-too-large/);
  });

  it('keeps a byte order mark so the bom-present warning appears (RFC 8216 §4)', async () => {
    const path = file('bom.m3u8', `\uFEFF${mediaPlaylist()}`);
    expect(await runCli(['validate', path])).toMatchObject({
      code: 0,
      out: `${path}:1 bom-present warning remove the UTF-8 byte order mark before #EXTM3U\n`,
    });
  });

  it('exits 2 with a clear message for a missing file, a folder, or bad options', async () => {
    expect(await runCli(['validate', join(work, 'missing.m3u8')])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/no such file/),
    });
    expect(await runCli(['validate', work])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/is a folder/),
    });
    expect(await runCli(['validate'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/exactly one playlist/),
    });
    expect(await runCli(['validate', simple, '--max-chars', 'lots'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--max-chars/),
    });
    expect(await runCli(['validate', simple, '--previous', simple])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/media playlists only/),
    });
  });

  it('reports binary input as playlist-not-text, not a crash', async () => {
    const path = join(work, 'segment.ts');
    writeFileSync(path, Buffer.from([0x47, 0x40, 0x00, 0x10, 0xff, 0xfe, 0x00]));
    expect(await runCli(['validate', path])).toMatchObject({
      code: 1,
      out: expect.stringMatching(/playlist-not-text/),
    });
  });
});

describe('hls-failover merge', () => {
  it('exits 2 with a usage error, no stack trace, for an option that cannot be quoted', async () => {
    const result = await runCli(['merge', '--primary', simple, '--steering-uri', 'a"b']);
    expect(result).toMatchObject({ code: 2, err: expect.stringMatching(/steeringUri "a"b" must be/) });
    expect(result.err).not.toMatch(/\n\s+at /);
  });

  it('writes the merged index to stdout, preferred encoder first', async () => {
    const { code, out } = await runCli([
      'merge',
      '--primary',
      simple,
      '--failover',
      simple,
      '--prefer',
      'failover',
    ]);
    expect(code).toBe(0);
    expect(out).toMatch(
      /^#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-CONTENT-STEERING:SERVER-URI="steering.json",PATHWAY-ID="failover"\n/,
    );
  });

  it('honours --no-steering, base URLs and --json', async () => {
    const { code, out } = await runCli([
      'merge',
      '--primary',
      simple,
      '--failover',
      simple,
      '--no-steering',
      '--json',
      '--primary-base',
      'https://a.example/ch/primary/',
      '--failover-base',
      'https://b.example/ch/failover/',
    ]);
    expect(code).toBe(0);
    const result = JSON.parse(out) as { text: string; order: string[] };
    expect(result.order).toEqual(['primary', 'failover']);
    expect(result.text).not.toMatch(/PATHWAY-ID/);
    expect(result.text).toContain('\nhttps://b.example/ch/failover/360p.m3u8\n');
  });

  it('writes --out atomically and leaves no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-failover-out-'));
    const out = join(dir, 'index.m3u8');
    expect((await runCli(['merge', '--primary', simple, '--out', out])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^#EXTM3U\n/);
    expect(readdirSync(dir)).toEqual(['index.m3u8']);
  });

  it('exits 1 naming each violation of an invalid input, and writes nothing', async () => {
    const bad = file('bad-master.m3u8', '#EXTM3U\n#EXT-X-STREAM-INF:RESOLUTION=1x1\n../x.m3u8\n');
    const out = join(work, 'never.m3u8');
    const { code, err } = await runCli(['merge', '--primary', bad, '--out', out]);
    expect(code).toBe(1);
    expect(err).toContain(`${bad}:2 stream-inf-bandwidth-missing`);
    expect(err).toContain(`${bad}:3 uri-escapes-folder`);
    expect(readdirSync(work)).not.toContain('never.m3u8');
  });

  it('exits 1 on a ladder mismatch and merges it with --lenient', async () => {
    const other = file(
      'other.m3u8',
      readFileSync(simple, 'utf8').replace('BANDWIDTH=800000', 'BANDWIDTH=900000'),
    );
    expect(await runCli(['merge', '--primary', simple, '--failover', other])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/ladders differ/),
    });
    expect(await runCli(['merge', '--primary', simple, '--failover', other, '--lenient'])).toMatchObject({
      code: 0,
      err: expect.stringMatching(/warning: ladder mismatch/),
    });
  });

  it('synthesizes a master from a media playlist, sized from the segment files beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hls-failover-media-'));
    writeFileSync(join(dir, 'seg_100.ts'), Buffer.alloc(250_000));
    writeFileSync(join(dir, 'seg_101.ts'), Buffer.alloc(500_000));
    writeFileSync(join(dir, 'live.m3u8'), mediaPlaylist({ sequence: 100, count: 2 }));
    const { code, out } = await runCli(['merge', '--primary', join(dir, 'live.m3u8')]);
    expect(code).toBe(0);
    expect(out).toContain(
      '#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1500000,PATHWAY-ID="primary"\nprimary/live.m3u8\n',
    );
    writeFileSync(join(dir, 'gone.m3u8'), mediaPlaylist({ sequence: 7, count: 1 }));
    expect(await runCli(['merge', '--primary', join(dir, 'gone.m3u8')])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/cannot size segment seg_7.ts/),
    });
  });

  it('exits 2 for usage mistakes', async () => {
    expect(await runCli(['merge'])).toMatchObject({ code: 2, err: expect.stringMatching(/needs --primary/) });
    expect(await runCli(['merge', '--primary', simple, '--prefer', 'backup'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--prefer/),
    });
    expect(await runCli(['merge', '--primary', simple, '--primary-base', 'ftp://x'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/http\(s\) URL/),
    });
    expect(await runCli(['merge', '--help'])).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^Usage: hls-failover merge/),
    });
  });
});
