// The status page in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
// it loads with no console error and no request beyond its own origin, shows every instance and
// shard, and follows an instance killed with SIGKILL out of `ready` and back without a reload.
import assert from 'node:assert/strict';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, it, type TestContext } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { filter, firstValueFrom, timeout } from 'rxjs';
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

/** A headless Chromium page that records console errors, page errors and outside requests. */
async function openBrowser(
  executablePath: string,
  origin: string,
): Promise<{ page: Page; problems: string[] }> {
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
  return { page, problems };
}

/** Chromium, or a visible skip of the test when it is not installed. */
function chromiumOrSkip(t: TestContext): string | undefined {
  const executablePath = findChromium();
  if (executablePath === undefined) {
    console.log('SKIPPED: the status page browser tests need Chromium (not installed: chromium)');
    t.skip('Chromium not installed: chromium');
  }
  return executablePath;
}

it('shows the fleet live in Chromium: an instance killed leaves ready and comes back', async (t) => {
  const executablePath = chromiumOrSkip(t);
  if (executablePath === undefined) return;
  // Enough shards to fill the grid; a backoff above the page's update interval keeps the
  // instance out of ready long enough to be seen leaving.
  const { manager, url } = await startPagedFleet(
    { port: 0 },
    { totalShards: 8, shardsPerInstance: 2, restart: { initialDelay: 1_500, maxDelay: 3_000 } },
  );
  const { page, problems } = await openBrowser(executablePath, new URL(url).origin);
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

it('takes the token once from the URL, and restarts an instance from the page', async (t) => {
  const executablePath = chromiumOrSkip(t);
  if (executablePath === undefined) return;
  const token = 'a-status-page-token-for-the-browser';
  const { manager, url } = await startPagedFleet({ port: 0, token });
  const { page, problems } = await openBrowser(executablePath, new URL(url).origin);

  await page.goto(`${url}?token=${token}`);
  // Redirected to the bare page: the token is in an HttpOnly cookie, not in the URL or the page.
  assert.equal(page.url(), url);
  assert.equal(await page.evaluate('document.cookie'), '');
  await page.locator('#instance-rows tr[data-state="ready"]').nth(1).waitFor();

  const restarted = firstValueFrom(
    manager.status$.pipe(
      filter((change) => change.instance === 0 && change.to === 'ready' && change.generation === 2),
      timeout(30_000),
    ),
  );
  // Without the token typed in, the page asks for it and sends nothing.
  await page.locator('button[data-restart="0"]').click();
  await page.locator('#notice', { hasText: 'Enter the token' }).waitFor();
  await page.locator('#token').fill(token);
  await page.locator('button[data-restart="0"]').click();
  await page.locator('#notice', { hasText: 'restart of instance 0: requested' }).waitFor();
  await restarted;
  await page
    .locator('#instance-rows tr[data-instance="0"][data-state="ready"] .generation', {
      hasText: /^2$/,
    })
    .waitFor({ timeout: 30_000 });
  assert.deepEqual(problems, []);
});
