/**
 * The local status page in a real browser (Debian chromium driven by playwright-core): it loads,
 * shows both encoders of a channel, and reflects a stall without a reload.
 */
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../support/e2e-player';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime';
import { fixture, mediaPlaylist } from '../support/playlists';

jest.setTimeout(90_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('status page in headless Chromium', () => {
  let runtime: TestRuntime;
  let browser: Browser;
  const upload = (encoder: string, n: number) =>
    runtime.ingest(
      `ch1/${encoder}/720p.m3u8`,
      mediaPlaylist({ sequence: n - 3, count: 4, targetDuration: 1, duration: 1 }),
    );

  beforeAll(async () => {
    runtime = await startTestRuntime();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await runtime?.close();
  });

  it('loads, shows both encoders, and reflects a stall live', async () => {
    for (const e of ['primary', 'failover'])
      await runtime.ingest(`ch1/${e}/master.m3u8`, fixture('master-simple.m3u8'));
    await upload('primary', 10);
    await upload('failover', 10);
    await runtime.idle();

    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(runtime.endpoints.status);
    const row = (encoder: string) =>
      page.locator(`[data-channel="ch1"] tr[data-encoder="${encoder}"]`).first();
    await row('primary').waitFor();
    expect(await row('primary').getAttribute('data-status')).toBe('healthy');
    expect(await row('failover').getAttribute('data-status')).toBe('healthy');
    // The player found the channel and loads it through hls.js served by the page itself.
    expect(await page.locator('[data-testid="channel-select"] option').allTextContents()).toEqual(['ch1']);
    expect(await page.evaluate(() => typeof (globalThis as { Hls?: unknown }).Hls)).toBe('function');

    // The failover moves on, the primary does not: the page shows it without a reload. Opening the
    // page took longer than the stall threshold with nobody watching (no upload, no watchdog run):
    // after such a gap the primary is judged by its silence while watched, the age rule, about
    // 1.5 × TD + LastModified's second after the first upload (README, For on-call); on a loaded
    // machine an upload processed late restarts that watch. So the failover writes on, as an
    // encoder does, until the workflow has decided (at most 20 segments).
    const stalled = () => runtime.alerts.some((a) => a.subject === '[hls-failover] ch1: primary STALLED');
    for (let n = 11; n <= 30 && !stalled(); n++) {
      await sleep(1000);
      await upload('failover', n);
      if (n >= 15) await runtime.idle();
    }
    await runtime.idle();
    expect(stalled()).toBe(true);
    await page.waitForSelector('[data-channel="ch1"] tr[data-encoder="primary"][data-status="stalled"]', {
      timeout: 10_000,
    });
    // The page polls: the alert shows within a few polls of the decision.
    await page.waitForSelector('[data-testid="alerts"]:has-text("ch1: primary STALLED")', {
      timeout: 10_000,
    });
    expect(await page.locator('[data-channel="ch1"]').textContent()).toContain('preferred: failover');
    expect(pageErrors).toEqual([]);
  });
});
