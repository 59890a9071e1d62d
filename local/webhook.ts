/**
 * The local runtime's on-call webhook (`--webhook <url>`), the local stand-in for an SNS HTTP/S
 * subscription of the alert topic. As with SNS, publishing only hands the alert over: the
 * NotifyOnCall Task never waits for the endpoint, so a slow or silent webhook cannot time the Task
 * out and have the ASL's retries publish the alert again. The delivery runs on its own:
 *
 * - an attempt succeeds on a 2xx answer. No answer within `timeoutMs` (headers and body), a
 *   connection error, a 5xx, 408 or 429 is a failed attempt, retried after `retryDelayMs`, doubling
 *   each time, up to `attempts` in all; any other answer (a 4xx) fails at once, as a retry would
 *   get the same answer;
 * - at most once per incident: deliveries are keyed by the alert's channel, incident id and kind
 *   (the JSON payload at the end of its body; the whole body for an alert without an incident).
 *   An alert whose key was delivered is not POSTed again, whether it comes from a retried Task, a
 *   redelivered event or after a restart (delivered keys are kept in the journal file); one whose
 *   delivery is under way joins it. Only an alert whose earlier delivery failed is tried again;
 * - every request carries `Idempotency-Key`, the same for every attempt of one key, so that the
 *   endpoint can drop a repeat the runtime could not rule out (it died after the POST, before
 *   recording the answer);
 * - a failed delivery prints a `WEBHOOK FAILED` line, is written to the journal and shows on the
 *   status page and API.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { type Alert, alertPayloadOf } from '../functions/alerts';

export interface WebhookOptions {
  /** Where each alert is POSTed as JSON (`{subject, message, attributes}`). */
  readonly url: string;
  /** How long one attempt may take, answer and body included. @default 5000 */
  readonly timeoutMs?: number;
  /** Attempts in all, the first included. @default 4 */
  readonly attempts?: number;
  /** The wait before the first retry; it doubles before each further one. @default 1000 */
  readonly retryDelayMs?: number;
}

/** The defaults of {@link WebhookOptions}: at most 4 × 5 s + 1 + 2 + 4 s = 27 s per alert. */
export const WEBHOOK_DEFAULTS = { timeoutMs: 5000, attempts: 4, retryDelayMs: 1000 } as const;

export type DeliveryState = 'pending' | 'delivered' | 'failed';

/** One alert's delivery, as the status API shows it. */
export interface Delivery {
  /** Channel, incident id and kind of the alert (see {@link deliveryKey}). */
  readonly key: string;
  readonly subject: string;
  readonly state: DeliveryState;
  /** Attempts made so far. */
  readonly attempts: number;
  /** Why the last attempt failed. */
  readonly error?: string;
  /** When the state last changed (ISO 8601). */
  readonly at: string;
}

export interface WebhookStatus {
  readonly url: string;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly delivered: number;
  readonly failed: number;
  readonly pending: number;
  /** Alerts not POSTed because their key was delivered already. */
  readonly duplicates: number;
  /** The most recent deliveries, newest first. */
  readonly recent: readonly Delivery[];
}

export interface Webhook {
  /** Delivers `alert` unless its key was delivered; resolves with the outcome, never rejects. */
  deliver(alert: Alert): Promise<Delivery>;
  status(): WebhookStatus;
}

/** Deliveries the status API lists. */
const RECENT = 50;

/**
 * What makes two alerts the same for on-call: their channel, incident id and kind, from the JSON
 * payload of the body; an alert without an incident id is keyed by its subject and body.
 */
export function deliveryKey(alert: Alert): string {
  const payload = alertPayloadOf(alert.message);
  if (payload?.incidentId !== undefined)
    return JSON.stringify([payload.channel, payload.incidentId, payload.kind]);
  const digest = createHash('sha256').update(alert.subject).update('\n').update(alert.message);
  return `message:${digest.digest('hex')}`;
}

/** Why an attempt failed, and whether another attempt may succeed. */
interface AttemptFailure {
  readonly error: string;
  readonly retryable: boolean;
}

/**
 * Creates the webhook. `journal` (a JSON-lines file) records each finished delivery and gives, on
 * start, the keys delivered before.
 */
export function createWebhook(
  options: WebhookOptions & { readonly journal: string; readonly print: (line: string) => void },
): Webhook {
  const { url, journal, print } = options;
  const timeoutMs = options.timeoutMs ?? WEBHOOK_DEFAULTS.timeoutMs;
  const attempts = options.attempts ?? WEBHOOK_DEFAULTS.attempts;
  const retryDelayMs = options.retryDelayMs ?? WEBHOOK_DEFAULTS.retryDelayMs;
  /** Each key's latest delivery, oldest first: the journal's, then this run's. */
  const latest = new Map(readJournal(journal).map((d) => [d.key, d]));
  const pending = new Map<string, Promise<Delivery>>();
  const counts = { delivered: 0, failed: 0, duplicates: 0 };

  const update = (delivery: Delivery) => {
    latest.delete(delivery.key);
    latest.set(delivery.key, delivery);
    if (delivery.state === 'pending') return;
    counts[delivery.state]++;
    try {
      appendFileSync(journal, `${JSON.stringify(delivery)}\n`);
    } catch (error) {
      // A full or read-only disk must not cost the delivery itself, only its memory across restarts.
      print(
        `webhook journal ${journal} not written (${(error as Error).message}): a restart may send this alert again`,
      );
    }
  };

  /** One POST: undefined when it was delivered, else why not. */
  const attempt = async (body: string, idempotencyKey: string): Promise<AttemptFailure | undefined> => {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `"${idempotencyKey}"` },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Read to the end (the body counts toward the bound), which also frees the socket.
      await response.arrayBuffer();
    } catch (error) {
      const { name, message, cause } = error as Error & { cause?: Error };
      if (name === 'TimeoutError') return { error: `no answer within ${timeoutMs} ms`, retryable: true };
      return { error: cause?.message ?? message, retryable: true };
    }
    if (response.ok) return undefined;
    const { status } = response;
    return { error: `HTTP ${status}`, retryable: status >= 500 || status === 408 || status === 429 };
  };

  const run = async (alert: Alert, key: string): Promise<Delivery> => {
    const body = JSON.stringify(alert);
    const idempotencyKey = createHash('sha256').update(key).digest('hex');
    const base = { key, subject: alert.subject };
    for (let n = 1; ; n++) {
      const failure = await attempt(body, idempotencyKey);
      const at = new Date().toISOString();
      if (failure === undefined) {
        const done: Delivery = { ...base, state: 'delivered', attempts: n, at };
        update(done);
        if (n > 1) print(`webhook delivered ${alert.subject} (attempt ${n} of ${attempts})`);
        return done;
      }
      const { error, retryable } = failure;
      if (!retryable || n >= attempts) {
        const failed: Delivery = { ...base, state: 'failed', attempts: n, error, at };
        update(failed);
        print(
          `WEBHOOK FAILED ${alert.subject}: ${error} (${n} attempt${n === 1 ? '' : 's'}; the alert is in alerts.jsonl and on the status page)`,
        );
        return failed;
      }
      const wait = retryDelayMs * 2 ** (n - 1);
      print(
        `webhook attempt ${n} of ${attempts} for ${alert.subject} failed: ${error}; retrying in ${wait} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };

  return {
    deliver(alert) {
      const key = deliveryKey(alert);
      const running = pending.get(key);
      if (running !== undefined) return running;
      const previous = latest.get(key);
      if (previous?.state === 'delivered') {
        counts.duplicates++;
        print(
          `webhook: ${alert.subject} not sent again: this incident's alert was delivered at ${previous.at}`,
        );
        return Promise.resolve(previous);
      }
      update({ key, subject: alert.subject, state: 'pending', attempts: 0, at: new Date().toISOString() });
      const delivery = run(alert, key).finally(() => pending.delete(key));
      pending.set(key, delivery);
      return delivery;
    },
    status() {
      return {
        url,
        timeoutMs,
        attempts,
        ...counts,
        pending: pending.size,
        recent: [...latest.values()].slice(-RECENT).reverse(),
      };
    },
  };
}

/** The deliveries a journal records; a torn last line (a crash mid-write) is skipped. */
function readJournal(journal: string): Delivery[] {
  if (!existsSync(journal)) return [];
  return readFileSync(journal, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const entry = JSON.parse(line) as Delivery;
        return typeof entry.key === 'string' ? [entry] : [];
      } catch {
        return [];
      }
    });
}
