/**
 * IndexWrites and SteeringWrites: MergeIndex counts each object it really writes (bytes changed),
 * in the embedded metric format, for the dashboard and for auditors.
 */
import { writeMetrics } from '../../../functions/metrics';
import { FakeS3 } from '../../support/fake-s3';
import { fixture, mediaPlaylist } from '../../support/playlists';
import { BUCKET, workflow } from '../../support/workflow-driver';

const MASTER = fixture('master-simple.m3u8'); // variants 720p.m3u8 and 360p.m3u8

/** A running channel `ch1` whose index.m3u8 and steering.json were written once. */
async function runningChannel() {
  const s3 = new FakeS3();
  const run = workflow(s3);
  for (const encoder of ['primary', 'failover']) {
    s3.write(`ch1/${encoder}/master.m3u8`, MASTER);
    await run.event(`ch1/${encoder}/master.m3u8`);
  }
  for (const encoder of ['primary', 'failover'])
    for (const rendition of ['720p.m3u8', '360p.m3u8']) {
      s3.write(`ch1/${encoder}/${rendition}`, mediaPlaylist({ sequence: 7, count: 4 }));
      await run.event(`ch1/${encoder}/${rendition}`);
    }
  const merge = () => run.handlers.merge({ bucket: BUCKET, channel: 'ch1', mergeNeeded: true, withdraw: [] });
  return { s3, run, merge };
}

/** The write counts in the EMF lines emitted so far: metric name → [Channel, value, namespace]. */
function writeCounts(lines: readonly string[]) {
  return lines
    .map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: unknown[] } })
    .flatMap((emf) =>
      ['IndexWrites', 'SteeringWrites']
        .filter((name) => name in emf)
        .map((name) => ({
          name,
          channel: emf.Channel,
          value: emf[name],
          metrics: emf._aws.CloudWatchMetrics,
        })),
    );
}

describe('IndexWrites and SteeringWrites', () => {
  it('count every index.m3u8 and steering.json write of a starting channel, as EMF with the Channel dimension', async () => {
    const { s3, run } = await runningChannel();
    const counts = writeCounts(run.metricLines);
    const puts = (key: string) => s3.puts.filter((k) => k === key).length;
    expect(puts('ch1/index.m3u8')).toBeGreaterThan(0);
    for (const [name, key] of [
      ['IndexWrites', 'ch1/index.m3u8'],
      ['SteeringWrites', 'ch1/steering.json'],
    ]) {
      const ofName = counts.filter((c) => c.name === name);
      expect(ofName.map((c) => [c.channel, c.value])).toEqual(Array(puts(key as string)).fill(['ch1', 1]));
    }
    expect(counts[0]?.metrics).toEqual([
      expect.objectContaining({
        Namespace: 'HlsFailover',
        Dimensions: [['Channel']],
        Metrics: expect.arrayContaining([{ Name: 'IndexWrites', Unit: 'Count' }]),
      }),
    ]);
  });

  it('count nothing when MergeIndex finds the bytes unchanged (a retry or a needless merge)', async () => {
    const { run, merge } = await runningChannel();
    run.metricLines.length = 0;
    const merged = await merge();
    expect([merged.index?.written, merged.steering?.written]).toEqual([false, false]);
    expect(writeCounts(run.metricLines)).toEqual([]);
  });

  it('count only the object that changed', async () => {
    const { s3, run, merge } = await runningChannel();
    s3.objects.delete('ch1/index.m3u8');
    run.metricLines.length = 0;
    await merge();
    expect(writeCounts(run.metricLines).map((c) => c.name)).toEqual(['IndexWrites']);
  });

  it('name the single-channel layout (root) like the other metrics do', () => {
    expect(writeMetrics('', { index: true, steering: false })).toEqual([
      { name: 'IndexWrites', value: 1, unit: 'Count', dimensions: { Channel: '(root)' } },
    ]);
  });
});
