import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanUp } from './support/cleanup.js';
import { outputTail, runCommand } from './support/commands.js';

const BUILD_SRC = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * Imports `entry` (a file of the compiled src) in a fresh process and returns every module URL it
 * loaded, with node's module hooks.
 */
async function modulesLoadedBy(entry: string): Promise<string[]> {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    await import(${JSON.stringify(new URL(entry, `file://${BUILD_SRC}`).href)});
    console.log(JSON.stringify(loaded));
  `;
  const result = await runCommand(process.execPath, ['--input-type=module', '-e', script], {
    cwd: BUILD_SRC,
    timeout: 60_000,
  });
  assert.equal(result.code, 0, outputTail(result));
  return JSON.parse(result.output.trim().split('\n').at(-1)!) as string[];
}

describe('what the main entry loads', () => {
  afterEach(cleanUp);

  it('leaves out the gateway emulator, ws and the Discord libraries (a bot loads its own)', async () => {
    const loaded = await modulesLoadedBy('index.js');
    assert.ok(loaded.some((url) => url.includes('/src/manager/sharding.manager.js')));
    const unwanted = loaded.filter((url) =>
      /\/src\/testing\/|\/node_modules\/(ws|@discordjs\/[^/]+|discord\.js|undici)\//.test(url),
    );
    assert.deepEqual(unwanted, []);
  });

  it('loads the gateway emulator and ws from the testing entry', async () => {
    const loaded = await modulesLoadedBy('testing/index.js');
    assert.ok(loaded.some((url) => url.includes('/src/testing/gateway.emulator.js')));
  });
});
