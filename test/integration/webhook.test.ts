/**
 * The on-call webhook on the local runtime (issue 16 §5): an alert's delivery runs beside the
 * workflow, as an SNS subscription's does, so a webhook that never answers costs the bounded
 * attempts and nothing more: the NotifyOnCall Task is not held until the engine's Task timeout, so
 * its retries never publish the alert again (it went out 6 times before). A failed delivery is
 * reported on the status API.
 */
import type { WebhookStatus } from '../../local/webhook';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { webhookEndpoint } from '../support/webhook-endpoint';

jest.setTimeout(120_000);

/** One invalid playlist: its execution raises one INVALID PLAYLIST alert. */
const INVALID = '#EXTM3U\n#EXTINF:3,\nseg.ts\n';

let runtime: TestRuntime | undefined;
let hook: Awaited<ReturnType<typeof webhookEndpoint>> | undefined;
afterEach(async () => {
  await runtime?.close();
  await hook?.close();
  runtime = undefined;
  hook = undefined;
});

/** Events of the PublishAlert Task in an execution's history that are retries. */
function publishRetries(events: readonly unknown[]): number {
  return events.filter((e) => {
    const { type, state } = e as { type?: string; state?: { name?: string } };
    return type === 'StateRetried' && state?.name === 'PublishAlert';
  }).length;
}

it('a webhook that never answers: the alert is published once, POSTed once per attempt, the delivery fails within the bound and the status API reports it', async () => {
  hook = await webhookEndpoint(['silent']);
  runtime = await startTestRuntime(
    {},
    { webhook: { url: hook.url, timeoutMs: 500, attempts: 2, retryDelayMs: 50 } },
  );

  await runtime.ingest('ch1/primary/720p.m3u8', INVALID);
  const started = Date.now();
  await runtime.idle();
  const elapsed = Date.now() - started;

  expect(runtime.alerts.map((a) => a.subject)).toEqual(['[hls-failover] ch1: primary INVALID PLAYLIST']);
  expect(hook.received).toHaveLength(2);
  const [execution] = runtime.executions;
  expect(execution).toMatchObject({ status: 'FAILED', error: 'PlaylistInvalid' });
  expect(publishRetries(execution?.events ?? [])).toBe(0);
  // Two attempts of 0.5 s and a 50 ms wait, not the engine's 60 s Task timeout.
  expect(elapsed).toBeLessThan(30_000);
  const { body } = await runtime.api<{ webhook: WebhookStatus }>('status');
  expect(body.webhook).toMatchObject({
    url: hook.url,
    failed: 1,
    delivered: 0,
    pending: 0,
    recent: [
      {
        subject: '[hls-failover] ch1: primary INVALID PLAYLIST',
        state: 'failed',
        attempts: 2,
        error: 'no answer within 500 ms',
      },
    ],
  });
  expect((await runtime.api<WebhookStatus>('webhook')).body.failed).toBe(1);
});

it('a webhook answering 500 then 200: the alert is delivered once, by the retry', async () => {
  hook = await webhookEndpoint([500, 200]);
  runtime = await startTestRuntime({}, { webhook: { url: hook.url, retryDelayMs: 50 } });

  await runtime.ingest('ch1/primary/720p.m3u8', INVALID);
  await runtime.idle();

  expect(hook.received).toEqual([runtime.alerts[0], runtime.alerts[0]]);
  const { body } = await runtime.api<WebhookStatus>('webhook');
  expect(body).toMatchObject({ delivered: 1, failed: 0, recent: [{ state: 'delivered', attempts: 2 }] });
});

it('without a webhook, the status API says so', async () => {
  runtime = await startTestRuntime();
  expect((await runtime.api<{ webhook: unknown }>('status')).body.webhook).toBeNull();
  expect((await runtime.api('webhook')).status).toBe(404);
});
