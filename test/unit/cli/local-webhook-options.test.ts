/** `hls-failover local --webhook …`: the webhook's bounds come from the command line, checked. */
import { webhookOptions } from '../../../cli/local';

describe('hls-failover local --webhook options', () => {
  it('gives the defaults (5 s, 4 attempts) when only --webhook is set, and seconds as milliseconds', () => {
    expect(webhookOptions({ webhook: 'http://127.0.0.1:9000/hook' })).toEqual({
      url: 'http://127.0.0.1:9000/hook',
    });
    expect(
      webhookOptions({
        webhook: 'https://oncall.example/hook',
        'webhook-timeout': '2',
        'webhook-attempts': '3',
      }),
    ).toEqual({ url: 'https://oncall.example/hook', timeoutMs: 2000, attempts: 3 });
    expect(webhookOptions({})).toBeUndefined();
  });

  it.each([
    [{ webhook: 'ftp://x' }, '--webhook takes an http(s) URL'],
    [{ 'webhook-timeout': '5' }, '--webhook-timeout and --webhook-attempts need --webhook'],
    [
      { webhook: 'http://x', 'webhook-timeout': '0' },
      '--webhook-timeout takes a whole number above 0 (got "0")',
    ],
    [{ webhook: 'http://x', 'webhook-timeout': '61' }, '--webhook-timeout takes at most 60 (got 61)'],
    [{ webhook: 'http://x', 'webhook-attempts': '11' }, '--webhook-attempts takes at most 10 (got 11)'],
  ])('refuses %j: %s', (values, message) => {
    expect(() => webhookOptions(values)).toThrow(message);
  });
});
