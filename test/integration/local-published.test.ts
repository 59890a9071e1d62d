/**
 * Published mode (issue 15) on the local runtime, running the stack synthesized from
 * deploy/published.jsonc (cdk.out.published/: its IAM checks every call): viewers read only the
 * media playlists the workflow validated and wrote under `<channel>/live/`.
 */
import { snapshotMediaPlaylist } from '../../functions/hls';
import type { ObjectEvent } from '../../local/runtime';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { mismatches, urisBySequence } from '../support/playlists';

jest.setTimeout(90_000);

describe('published mode on the local runtime (TD 2 s)', () => {
  let runtime: TestRuntime;
  /** Every version of ch1/live/720p.m3u8 viewers could load, in order. */
  let versions: string[];
  let writes: ObjectEvent[];

  beforeEach(async () => {
    runtime = await startTestRuntime(
      { publishing: 'published', recoverAfterUpdates: 2 },
      {},
      { targetDuration: 2 },
    );
    versions = [];
    writes = [];
    runtime.onObjectEvent((e) => writes.push(e));
  });
  afterEach(async () => {
    await runtime.close();
  });

  const published = async (rendition = '720p.m3u8') => {
    const res = await runtime.origin(`ch1/live/${rendition}`);
    return { status: res.status, text: await res.text() };
  };
  /** Records the published 720p playlist as viewers now see it. */
  const look = async () => {
    const { status, text } = await published();
    if (status === 200 && text !== versions.at(-1)) versions.push(text);
    return text;
  };
  const lastSequence = (text: string) => Math.max(...urisBySequence(text).keys());

  it("index.m3u8 lists only the published playlists; each is the primary's accepted version, its segments in the primary's folder; each segment published once; the encoders' own playlists are refused to viewers", async () => {
    const tick = await runtime.startChannel('ch1');
    const publications = () =>
      writes.filter((w) => w.key === 'ch1/live/720p.m3u8' && w.kind === 'created').length;
    const atStart = publications();
    for (let n = 12; n <= 13; n++) {
      await tick();
      await runtime.uploadBoth('ch1', n);
      await runtime.idle();
      await look();
    }
    const index = await (await runtime.origin('ch1/index.m3u8')).text();
    expect(index).toMatch(/^live\/720p\.m3u8$/m);
    expect(index).not.toMatch(/primary\/|failover\/|CONTENT-STEERING/);
    expect((await runtime.origin('ch1/steering.json')).status).toBe(404);
    const text = await look();
    expect(lastSequence(text)).toBe(13);
    expect(urisBySequence(text).get(13)).toBe('../primary/seg_13.ts');
    expect((await runtime.origin('ch1/primary/seg_13.ts')).status).toBe(200);
    const own = await runtime.origin('ch1/primary/720p.m3u8');
    expect(own.status).toBe(403);
    expect(await own.text()).toMatch(/publishing.*published/);
    // Both encoders' events for segments 12 and 13: two publications of each rendition, not four.
    expect(publications() - atStart).toBe(2);
    expect(runtime.executions.filter((e) => e.status !== 'SUCCEEDED')).toEqual([]);
    // An encoder may not write where the workflow publishes.
    const put = await runtime.origin('ch1/live/720p.m3u8', { method: 'PUT', body: '#EXTM3U\n' });
    expect(put.status).toBe(403);
  });

  it('an invalid playlist from the primary never reaches viewers: the last accepted version stays, then the failover takes over inside the same playlist (same numbers, no URI changed)', async () => {
    const tick = await runtime.startChannel('ch1');
    await look();
    for (let n = 12; n <= 16; n++) {
      await tick();
      await Promise.all([
        // The primary writes a broken playlist from segment 12 on; the failover goes on.
        runtime.ingest('ch1/primary/720p.m3u8', `#EXTM3U\n#EXTINF:2,\nseg_${n}.ts\n`),
        runtime.ingest('ch1/primary/360p.m3u8', `#EXTM3U\n#EXTINF:2,\nseg_${n}.ts\n`),
        runtime.upload('ch1', 'failover', n),
      ]);
      await runtime.idle();
      const text = await look();
      expect(text).not.toMatch(/^#EXTINF:2,\nseg_/m); // never the invalid one
    }
    const text = await look();
    expect(lastSequence(text)).toBe(16);
    expect(urisBySequence(text).get(16)).toBe('../failover/seg_16.ts');
    expect(urisBySequence(text).get(11)).toBeUndefined();
    expect(mismatches(versions)).toEqual([]);
    expect(text).not.toContain('#EXT-X-DISCONTINUITY\n');
    expect(versions.every((v) => snapshotMediaPlaylist(v) !== undefined)).toBe(true);
  });

  it('a one-sided EXT-X-ENDLIST never reaches viewers: the published playlist goes on from the failover; when the failover ends too, it ends', async () => {
    const tick = await runtime.startChannel('ch1');
    await tick();
    await Promise.all([runtime.upload('ch1', 'primary', 12, true), runtime.upload('ch1', 'failover', 12)]);
    await runtime.idle();
    expect(await look()).not.toContain('#EXT-X-ENDLIST');
    for (let n = 13; n <= 14; n++) {
      await tick();
      await runtime.upload('ch1', 'failover', n);
      await runtime.idle();
      expect(await look()).not.toContain('#EXT-X-ENDLIST');
    }
    expect(urisBySequence(await look()).get(14)).toBe('../failover/seg_14.ts');
    await tick();
    await runtime.upload('ch1', 'failover', 15, true);
    await runtime.idle();
    const ended = await look();
    expect(ended).toMatch(/#EXT-X-ENDLIST\n$/);
    expect(lastSequence(ended)).toBe(15);
    expect(mismatches(versions)).toEqual([]);
    expect(runtime.alerts.map((a) => a.subject)).toContain('[hls-failover] ch1: primary STOPPED');
  });
});

describe('published mode on the local runtime: its stack', () => {
  it("refuses to start with a published folder other than the synthesized stack's, saying what to change", async () => {
    await expect(startTestRuntime({ publishing: 'published', publishedFolder: 'out' })).rejects.toThrow(
      /"publishedFolder" is "out", but the stack .* publishes to "live": set the same "publishedFolder" in both/,
    );
  });
});
