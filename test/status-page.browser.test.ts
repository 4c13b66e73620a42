// The status page in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
// it loads with no console error and no request beyond its own origin, shows every instance and
// shard, and follows an instance killed with SIGKILL out of `ready` and back without a reload.
import assert from 'node:assert/strict';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, it } from 'node:test';
import { chromium } from 'playwright-core';
import { cleanUp, defer } from './support/cleanup.js';
import { startPagedFleet } from './support/status-page.js';

afterEach(cleanUp);

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

/** Chromium from PATH (`chromium`, or `chromium-browser` on some systems). */
function findChromium(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

it('shows the fleet live in Chromium: an instance killed leaves ready and comes back', async (t) => {
  const executablePath = findChromium();
  if (executablePath === undefined) {
    console.log('SKIPPED: the status page browser test needs Chromium (not installed: chromium)');
    t.skip('Chromium not installed: chromium');
    return;
  }
  // Enough shards to fill the grid; a backoff above the page's update interval keeps the
  // instance out of ready long enough to be seen leaving.
  const { manager, url } = await startPagedFleet(
    { port: 0 },
    { totalShards: 8, shardsPerInstance: 2, restart: { initialDelay: 1_500, maxDelay: 3_000 } },
  );
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    // Root in a container has no user namespaces for Chromium's sandbox.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  defer(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const problems: string[] = [];
  const origin = new URL(url).origin;
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    const target = request.url();
    if (!target.startsWith('data:') && new URL(target).origin !== origin) {
      problems.push(`request outside the page's origin: ${target}`);
    }
  });
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));

  await page.goto(url);
  const rows = page.locator('#instance-rows tr');
  const readyRows = page.locator('#instance-rows tr[data-state="ready"]');
  const charts = page.locator('#instance-rows svg.rtt polyline');
  const tiles = page.locator('#shards [data-shard]');
  await readyRows.nth(3).waitFor();
  assert.equal(await rows.count(), 4);
  await tiles.nth(7).waitFor();
  assert.equal(await tiles.count(), 8);
  // A few heartbeats draw the round-trip charts.
  await charts.nth(3).waitFor();
  assert.equal(await page.locator('#live-text').textContent(), 'live');

  const victim = manager.status()[1]!;
  process.kill(victim.pid!, 'SIGKILL');
  await page
    .locator('#instance-rows tr[data-instance="1"]:not([data-state="ready"])')
    .waitFor({ timeout: 20_000 });
  await page
    .locator('#instance-rows tr[data-instance="1"][data-state="ready"] .generation', {
      hasText: /^2$/,
    })
    .waitFor({ timeout: 30_000 });
  await page.locator('#failure-rows tr').first().waitFor();
  assert.match((await page.locator('#failure-rows').textContent()) ?? '', /signal SIGKILL/);
  // The new generation's first beats redraw its chart before the picture is taken.
  await page
    .locator('#instance-rows tr[data-instance="1"] svg.rtt polyline')
    .waitFor({ timeout: 10_000 });
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true });
  assert.deepEqual(problems, []);
});
