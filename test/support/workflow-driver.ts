/**
 * Runs the workflow's handlers in the order the ASL runs them (ValidatePlaylist →
 * CheckCounterpartFreshness → per channel MergeIndex / WithdrawStalePlaylists → metrics →
 * MarkAlertsSent), over
 * the fake S3 and the fake state table. The ASL file itself is checked separately and executed by the local runtime's
 * engine; this exercises the handlers' decisions.
 */
import { parseSettings, type Settings } from '../../functions/config';
import { createCheckFreshness, type HealthOutput } from '../../functions/handlers/check-freshness';
import { createDeps, type HandlerDeps } from '../../functions/handlers/deps';
import { createMarkAlertsSent } from '../../functions/handlers/mark-alerts-sent';
import { createMergeIndex } from '../../functions/handlers/merge-index';
import { createPublishMetrics } from '../../functions/handlers/publish-metrics';
import { createPublishPlaylists } from '../../functions/handlers/publish-playlists';
import { createValidatePlaylist, type ValidateOutput } from '../../functions/handlers/validate-playlist';
import { createWatchdog } from '../../functions/handlers/watchdog';
import { createWithdrawPlaylists } from '../../functions/handlers/withdraw-playlists';
import { S3ObjectStore } from '../../functions/store';
import { FakeDynamoDB } from './fake-dynamodb';
import type { FakeS3 } from './fake-s3';

export const BUCKET = 'live-bucket';

export function workflow(
  s3: FakeS3,
  settings: Partial<Record<string, unknown>> = {},
  records = new FakeDynamoDB(),
) {
  const metricLines: string[] = [];
  const logs: string[] = [];
  /** Each log line's message and fields. */
  const logEntries: { message: string; fields?: Record<string, unknown> }[] = [];
  const record = (message: string, fields?: Record<string, unknown>) => {
    logs.push(message);
    logEntries.push({ message, ...(fields && { fields }) });
  };
  const deps: HandlerDeps = createDeps({
    functionName: 'test',
    store: new S3ObjectStore(s3.client),
    records: records.store,
    settings: parseSettings(settings) as Settings,
    now: () => s3.now,
    /** The fake clock moves instead of the test waiting. */
    sleep: async (ms) => {
      s3.now += ms;
    },
    log: { info: record, warn: record },
    emitMetricLine: (l) => metricLines.push(l),
  });
  const validate = createValidatePlaylist(deps);
  const check = createCheckFreshness(deps);
  const merge = createMergeIndex(deps);
  const withdraw = createWithdrawPlaylists(deps);
  const publish = createPublishPlaylists(deps);
  const metrics = createPublishMetrics(deps);
  const watchdog = createWatchdog(deps);
  const markSent = createMarkAlertsSent(deps);

  async function applyActions(health: HealthOutput) {
    // As ApplyChannelActions runs them: per channel, the withdrawal (or splice), the merge and the publication at once.
    await Promise.all(
      health.channels.map((channel) =>
        Promise.all([
          channel.withdraw.length > 0 || (channel.splice?.length ?? 0) > 0 ? withdraw(channel) : undefined,
          channel.mergeNeeded ? merge(channel) : undefined,
          (channel.publish?.length ?? 0) > 0 ? publish(channel) : undefined,
        ]),
      ),
    );
    await metrics({ metrics: health.metrics });
    // NotifyOnCall published them (the test reads them from the output); then MarkAlertsSent.
    if (health.alerts.length > 0) await markSent({ alerts: health.alerts });
  }

  return {
    deps,
    /** The state table. */
    records,
    metricLines,
    logs,
    logEntries,
    handlers: { validate, check, merge, withdraw, publish, metrics, watchdog, markSent },
    /** One execution for an S3 event on `key`; returns what it decided. */
    async event(
      key: string,
      object: { etag?: string } = {},
    ): Promise<{ playlist: ValidateOutput; health?: HealthOutput }> {
      const playlist = await validate({ bucket: BUCKET, key, object });
      if (playlist.action === 'skip') return { playlist };
      const health = await check({ playlist });
      await applyActions(health);
      return { playlist, health };
    },
    /** One watchdog run: the channel list, then each channel's own check (its own execution on AWS). */
    async tick(): Promise<HealthOutput> {
      const listed = await watchdog({ bucket: BUCKET });
      await applyActions(listed);
      const checks: HealthOutput[] = [];
      for (const channel of listed.channelsToCheck) {
        const health = await watchdog({ bucket: BUCKET, channel });
        await applyActions(health);
        checks.push(health);
      }
      return {
        channels: checks.flatMap((h) => h.channels),
        alerts: checks.flatMap((h) => h.alerts),
        metrics: [...listed.metrics, ...checks.flatMap((h) => h.metrics)],
        transitions: checks.flatMap((h) => h.transitions),
        audit: checks.flatMap((h) => h.audit),
      };
    },
  };
}
