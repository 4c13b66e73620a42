// The status page in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
// it loads with no console error and no request beyond its own origin, shows every instance and
// every shard as a real @discordjs/ws bot reports it against the gateway emulator (state, ping),
// and follows an instance killed with SIGKILL out of `ready` and back without a reload, its
// shards with it.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, it } from 'node:test';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { chromiumOrSkip, openBrowser } from './support/chromium.js';
import { cleanUp } from './support/cleanup.js';
import { startPagedBotFleet, startPagedFleet } from './support/status-page.js';

afterEach(cleanUp);

/** The little of the page's DOM a function run in the page reads (the build has no DOM types). */
interface PageDocument {
  querySelector(selector: string): {
    getAttribute(name: string): string | null;
    querySelector(selector: string): { textContent: string | null } | null;
  } | null;
}

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

it('shows the fleet live in Chromium: an instance killed leaves ready with its shards, and comes back', async (t) => {
  const executablePath = chromiumOrSkip(t);
  if (executablePath === undefined) return;
  // Enough shards to fill the grid; a backoff above the page's update interval keeps the
  // instance out of ready long enough to be seen leaving.
  const { manager, url } = await startPagedBotFleet(8, {
    shardsPerInstance: 2,
    restart: { initialDelay: 1_500, maxDelay: 3_000 },
  });
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
  // Every shard as its instance reports it: READY from the gateway, then a ping once it beat.
  await page
    .locator('#shards [data-shard][data-state="ready"] .ping', { hasText: /^\d+ ms$/ })
    .nth(7)
    .waitFor({ timeout: 20_000 });
  // Guilds from READY (2 per shard in the emulator), and a dispatch rate.
  await page
    .locator('#shards .guilds', { hasText: /^2 guilds$/ })
    .nth(7)
    .waitFor();
  await page
    .locator('#shards .rate', { hasText: /^\d+(\.\d)? ev\/s$/ })
    .nth(7)
    .waitFor();
  assert.equal(await page.locator('#reported').isHidden(), true);
  // A few heartbeats draw the round-trip charts.
  await charts.nth(3).waitFor();
  assert.equal(await page.locator('#live-text').textContent(), 'live');

  const victim = manager.status()[1]!;
  process.kill(victim.pid!, 'SIGKILL');
  // Read in one go, from one render: while the instance waits for its restart, its shards are
  // down with it (the dead generation's last reports said `ready`).
  const whileDown = await page.waitForFunction(
    (shards) => {
      const doc = (globalThis as unknown as { document: PageDocument }).document;
      const row = doc.querySelector('#instance-rows tr[data-instance="1"]');
      if (row?.getAttribute('data-state') !== 'restarting') return false;
      return shards.map((id) => {
        const tile = doc.querySelector(`#shards [data-shard="${id}"]`);
        return [id, tile?.getAttribute('data-state'), tile?.querySelector('.ping')?.textContent];
      });
    },
    victim.shards,
    { timeout: 20_000 },
  );
  assert.deepEqual(
    await whileDown.jsonValue(),
    victim.shards.map((id) => [id, 'restarting', '\u2013']),
  );
  await page
    .locator('#instance-rows tr[data-instance="1"][data-state="ready"] .generation', {
      hasText: /^2$/,
    })
    .waitFor({ timeout: 30_000 });
  // Its shards come back ready (RESUMEd) with a ping from the new generation.
  for (const id of victim.shards) {
    await page
      .locator(`#shards [data-shard="${id}"][data-state="ready"] .ping`, { hasText: /^\d+ ms$/ })
      .waitFor({ timeout: 20_000 });
  }
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
