// Takes the README's picture of the status page (docs/status-page.png) from a realistic run: 16
// shards in 4 instances, each a real @discordjs/ws bot against the gateway emulator with a stream
// of events, one instance SIGKILLed and back (its shards RESUMEd), then 100 s of heartbeats for
// the charts. Needs Chromium.
//
//   npm run build:test && node build/test/docs/status-page.screenshot.js [out.png]
//
// SCREENSHOT_SETTLE_MS (default 100000: most of the charts' 120 beats) is how long it runs after the restart.
import { fileURLToPath } from 'node:url';
import { filter, firstValueFrom } from 'rxjs';
import { findChromium, openBrowser } from '../support/chromium.js';
import { cleanUp } from '../support/cleanup.js';
import { startPagedBotFleet } from '../support/status-page.js';

const TOTAL_SHARDS = 16;
const VICTIM = 2;
const out =
  process.argv[2] ?? fileURLToPath(new URL('../../../docs/status-page.png', import.meta.url));
const settle = Number(process.env.SCREENSHOT_SETTLE_MS ?? 100_000);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const executablePath = findChromium();
if (executablePath === undefined) {
  console.error('Chromium is not installed (chromium): no screenshot taken.');
  process.exit(1);
}

try {
  const { manager, url, emulator } = await startPagedBotFleet(
    TOTAL_SHARDS,
    { shardsPerInstance: 4, heartbeatInterval: 1_000, restart: { initialDelay: 1_000 } },
    // Discord's pacing of IDENTIFY, scaled down; gateway heartbeats every 2 s give the pings.
    { maxConcurrency: 4, identifyWindow: 1_000, heartbeatInterval: 2_000, guildsPerShard: 3 },
  );
  emulator.startEventStream({ interval: 50 });
  const { page, problems } = await openBrowser(executablePath, new URL(url).origin, {
    // Short: the full-page picture is as tall as the page's content, with no empty band.
    width: 1280,
    height: 600,
  });
  await page.goto(url);
  await delay(10_000);

  const victim = manager.status()[VICTIM]!;
  const back = firstValueFrom(
    manager.status$.pipe(filter((change) => change.instance === VICTIM && change.to === 'ready')),
  );
  process.kill(victim.pid!, 'SIGKILL');
  await back;
  console.log(`instance ${VICTIM} killed and back; settling ${settle / 1000} s`);
  await delay(settle);
  await page.screenshot({ path: out, fullPage: true });
  if (problems.length > 0) throw new Error(`the page had problems: ${problems.join('; ')}`);
  console.log(`written: ${out}`);
} finally {
  await cleanUp();
}
