/**
 * The local on-call webhook (local/webhook.ts) against a real HTTP server on loopback: a 5xx or no
 * answer is a failed attempt, retried with backoff a bounded number of times; an alert is POSTed
 * at most once per incident and kind, across repeats and restarts.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert, AlertPayload } from '../../../functions/alerts';
import { listen } from '../../../local/listen';
import { createWebhook, deliveryKey, type WebhookOptions } from '../../../local/webhook';

/** An alert as the workflow renders it: a body ending with its JSON payload. */
function alert(kind: AlertPayload['kind'], incidentId: string | undefined, channel = 'ch1'): Alert {
  const payload = { kind, severity: 'critical', channel, incidentId, at: '2026-12-01T04:00:00.000Z' };
  return {
    subject: `[hls-failover] ${channel}: primary ${kind}`,
    message: `${channel}: primary ${kind}\n\nJSON: ${JSON.stringify(payload)}`,
    attributes: { kind: { DataType: 'String', StringValue: kind } },
  };
}

interface Received {
  readonly body: unknown;
  readonly idempotencyKey: string | undefined;
}

/** A webhook endpoint that answers the n-th request with `answers[n]` (the last one from then on); 'silent' never answers. */
async function endpoint(answers: (number | 'silent')[]) {
  const received: Received[] = [];
  const silent: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    req.on('end', () => {
      received.push({ body: JSON.parse(text), idempotencyKey: req.headers['idempotency-key'] as string });
      const answer = answers[Math.min(received.length, answers.length) - 1];
      if (answer === 'silent') return void silent.push(res);
      res.writeHead(answer as number).end();
    });
  });
  const port = await listen(server, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let hook: Awaited<ReturnType<typeof endpoint>> | undefined;
afterEach(async () => {
  await hook?.close();
  hook = undefined;
});

function webhookFor(url: string, options: Partial<WebhookOptions> = {}, journal = freshJournal()) {
  const printed: string[] = [];
  const webhook = createWebhook({
    url,
    timeoutMs: 300,
    attempts: 3,
    retryDelayMs: 20,
    ...options,
    journal,
    print: (line) => printed.push(line),
  });
  return { webhook, printed, journal };
}

const freshJournal = () => join(mkdtempSync(join(tmpdir(), 'hlsf-webhook-')), 'webhook.jsonl');

describe('a failed attempt is retried with backoff, a bounded number of times', () => {
  it('answered 500 then 200: delivered once, on the second attempt, with the same Idempotency-Key', async () => {
    hook = await endpoint([500, 200]);
    const { webhook, printed } = webhookFor(hook.url);
    const stalled = alert('STALLED', 'primary-2026-12-01T04:00:00.000Z');

    const delivery = await webhook.deliver(stalled);

    expect(delivery).toMatchObject({ state: 'delivered', attempts: 2 });
    expect(hook.received.map((r) => r.body)).toEqual([stalled, stalled]);
    const [first, second] = hook.received;
    expect(first?.idempotencyKey).toMatch(/^"[0-9a-f]{64}"$/);
    expect(second?.idempotencyKey).toBe(first?.idempotencyKey);
    expect(printed).toEqual([
      `webhook attempt 1 of 3 for ${stalled.subject} failed: HTTP 500; retrying in 20 ms`,
      `webhook delivered ${stalled.subject} (attempt 2 of 3)`,
    ]);
    expect(webhook.status()).toMatchObject({ delivered: 1, failed: 0, pending: 0 });
  });

  it('never answering: each attempt ends at the timeout, the delivery fails after the last attempt and is reported', async () => {
    hook = await endpoint(['silent']);
    const { webhook, printed, journal } = webhookFor(hook.url, { timeoutMs: 200, attempts: 3 });
    const down = alert('CHANNEL DOWN', 'channel-2026-12-01T04:00:00.000Z');

    const started = Date.now();
    const delivery = await webhook.deliver(down);
    const elapsed = Date.now() - started;

    expect(delivery).toMatchObject({ state: 'failed', attempts: 3, error: 'no answer within 200 ms' });
    expect(hook.received).toHaveLength(3);
    // 3 × 200 ms plus 20 + 40 ms of backoff (a little less allowed: clocks round to the millisecond).
    expect(elapsed).toBeGreaterThanOrEqual(3 * 200 - 20);
    expect(elapsed).toBeLessThan(5000);
    expect(printed.at(-1)).toBe(
      `WEBHOOK FAILED ${down.subject}: no answer within 200 ms (3 attempts; the alert is in alerts.jsonl and on the status page)`,
    );
    expect(webhook.status()).toMatchObject({
      failed: 1,
      delivered: 0,
      recent: [{ subject: down.subject, state: 'failed', attempts: 3 }],
    });
    expect(JSON.parse(readFileSync(journal, 'utf8').trim())).toMatchObject({ state: 'failed' });
  });

  it('a connection refused is a failed attempt too', async () => {
    hook = await endpoint([200]);
    const { url } = hook;
    await hook.close();
    hook = undefined;
    const { webhook } = webhookFor(url, { attempts: 2 });

    const delivery = await webhook.deliver(alert('STALLED', 'primary-1'));

    expect(delivery).toMatchObject({ state: 'failed', attempts: 2 });
  });

  it('a 4xx is not retried: the same request would get the same answer', async () => {
    hook = await endpoint([404, 200]);
    const { webhook } = webhookFor(hook.url);

    const delivery = await webhook.deliver(alert('STALLED', 'primary-1'));

    expect(delivery).toMatchObject({ state: 'failed', attempts: 1, error: 'HTTP 404' });
    expect(hook.received).toHaveLength(1);
  });
});

describe('an alert is POSTed at most once per incident and kind', () => {
  it('the same alert published twice (a retried NotifyOnCall Task, a redelivered event): one POST', async () => {
    hook = await endpoint([200]);
    const { webhook, printed } = webhookFor(hook.url);
    const stalled = alert('STALLED', 'primary-2026-12-01T04:00:00.000Z');

    await webhook.deliver(stalled);
    const again = await webhook.deliver(stalled);

    expect(hook.received).toHaveLength(1);
    expect(again).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(printed).toEqual([
      expect.stringMatching(
        /^webhook: \[hls-failover\] ch1: primary STALLED not sent again: this incident's alert was delivered at /,
      ),
    ]);
    expect(webhook.status()).toMatchObject({ delivered: 1, duplicates: 1 });
  });

  it('published again while its first delivery is still being retried: it joins that delivery', async () => {
    hook = await endpoint([503, 200]);
    const { webhook } = webhookFor(hook.url, { retryDelayMs: 100 });
    const stalled = alert('STALLED', 'primary-1');

    const [first, second] = await Promise.all([webhook.deliver(stalled), webhook.deliver(stalled)]);

    expect(first).toBe(second);
    expect(hook.received).toHaveLength(2); // the 503 and its retry, nothing for the repeat
  });

  it('after a restart, an alert delivered before is not POSTed again (the journal keeps what was delivered)', async () => {
    hook = await endpoint([200]);
    const stalled = alert('STALLED', 'primary-1');
    const before = webhookFor(hook.url);
    await before.webhook.deliver(stalled);

    const after = webhookFor(hook.url, {}, before.journal);
    await after.webhook.deliver(stalled);

    expect(hook.received).toHaveLength(1);
  });

  it('an alert whose delivery failed is tried again when it is published again (it never reached on-call)', async () => {
    hook = await endpoint([500, 500, 200]);
    const { webhook } = webhookFor(hook.url, { attempts: 2 });
    const stalled = alert('STALLED', 'primary-1');

    expect(await webhook.deliver(stalled)).toMatchObject({ state: 'failed' });
    expect(await webhook.deliver(stalled)).toMatchObject({ state: 'delivered' });
    expect(hook.received).toHaveLength(3);
  });

  it('the recovery of an incident, and the same incident id in another channel, are other alerts', async () => {
    hook = await endpoint([200]);
    const { webhook } = webhookFor(hook.url);

    await webhook.deliver(alert('STALLED', 'primary-1', 'ch1'));
    await webhook.deliver(alert('RECOVERED', 'primary-1', 'ch1'));
    await webhook.deliver(alert('STALLED', 'primary-1', 'ch2'));

    expect(hook.received).toHaveLength(3);
  });
});

describe('a journal that cannot be written', () => {
  it('costs the memory across restarts, not the delivery: delivered, and a line says so', async () => {
    hook = await endpoint([200]);
    const missingDir = join(mkdtempSync(join(tmpdir(), 'hlsf-webhook-')), 'gone', 'webhook.jsonl');
    const { webhook, printed } = webhookFor(hook.url, {}, missingDir);

    const delivery = await webhook.deliver(alert('STALLED', 'primary-1'));

    expect(delivery).toMatchObject({ state: 'delivered' });
    expect(printed).toEqual([
      expect.stringMatching(/^webhook journal .* not written \(ENOENT.*a restart may send this alert again$/),
    ]);
  });
});

describe('deliveryKey', () => {
  it('is the channel, incident id and kind; without an incident id, the subject and body', () => {
    expect(deliveryKey(alert('STALLED', 'primary-1', 'news'))).toBe('["news","primary-1","STALLED"]');
    const plain = { subject: 's', message: 'no payload', attributes: {} };
    expect(deliveryKey(plain)).toMatch(/^message:[0-9a-f]{64}$/);
    expect(deliveryKey({ ...plain, message: 'another body' })).not.toBe(deliveryKey(plain));
  });
});
