import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { defer } from './cleanup.js';

/** Chromium from PATH (`chromium`, or `chromium-browser` on some systems). */
export function findChromium(): string | undefined {
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

/** Chromium, or a visible skip of the test when it is not installed. */
export function chromiumOrSkip(t: TestContext): string | undefined {
  const executablePath = findChromium();
  if (executablePath === undefined) {
    console.log('SKIPPED: the status page browser tests need Chromium (not installed: chromium)');
    t.skip('Chromium not installed: chromium');
  }
  return executablePath;
}

/**
 * A headless Chromium page (closed after the test) that records console errors and warnings,
 * page errors, failed requests and any request beyond `origin`.
 */
export async function openBrowser(
  executablePath: string,
  origin: string,
  viewport = { width: 1280, height: 860 },
): Promise<{ page: Page; problems: string[] }> {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    // Root in a container has no user namespaces for Chromium's sandbox.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  defer(() => browser.close());
  const context = await browser.newContext({ viewport });
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
