import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  assertCanRequireEsm,
  assertSupportedNode,
  MIN_NODE_VERSION,
} from '../src/runtime/runtime.check.js';
import { ShardingError } from '../src/index.js';

const run = promisify(execFile);

/** What `check()` threw (a ShardingError), or `undefined`. */
function refusal(check: () => void): ShardingError | undefined {
  try {
    check();
  } catch (error) {
    assert.ok(error instanceof ShardingError, `expected a ShardingError, got ${String(error)}`);
    return error;
  }
  return undefined;
}

describe('the runtime check', () => {
  it('matches the engines range of package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal(`>=${MIN_NODE_VERSION.replace(/\.0$/, '')}`, pkg.engines.node);
  });

  it('refuses versions older than the minimum and accepts the others', () => {
    for (const version of ['20.19.5', '22.12.9', '21.99.0', '18.0.0']) {
      const error = refusal(() => assertSupportedNode(version));
      assert.equal(error?.code, 'ERR_SHARDING_UNSUPPORTED_RUNTIME', version);
      assert.match(error.message, new RegExp(`needs Node.js ${MIN_NODE_VERSION} or newer`));
      assert.match(error.message, new RegExp(`runs Node.js ${version.replaceAll('.', '\\.')}\\.`));
    }
    for (const version of ['22.13.0', '22.13.1', '22.20.0', '23.0.0', '24.21.0', '30.1.2']) {
      assert.equal(
        refusal(() => assertSupportedNode(version)),
        undefined,
        version,
      );
    }
  });

  it('explains a loader that cannot require() an ES module, and passes other failures on', () => {
    const jestRefusal = Object.assign(new Error('Must use import to load ES Module'), {
      code: 'ERR_REQUIRE_ESM',
    });
    const error = refusal(() =>
      assertCanRequireEsm(() => {
        throw jestRefusal;
      }),
    );
    assert.equal(error?.code, 'ERR_SHARDING_UNSUPPORTED_RUNTIME');
    assert.match(error.message, /cannot require\(\) an ES module/);
    assert.match(error.message, /NODE_OPTIONS=--experimental-vm-modules/);
    assert.equal(error.cause, jestRefusal);

    const missing = Object.assign(new Error('Cannot find module'), { code: 'MODULE_NOT_FOUND' });
    assert.throws(
      () =>
        assertCanRequireEsm(() => {
          throw missing;
        }),
      (thrown) => thrown === missing,
    );
    const loaded: string[] = [];
    assertCanRequireEsm((id) => loaded.push(id));
    assert.deepEqual(loaded, ['node-ipc']);
    // Node.js itself loads it.
    assert.equal(
      refusal(() => assertCanRequireEsm()),
      undefined,
    );
  });

  for (const entry of ['index.js', 'ipc/index.js', 'testing/index.js']) {
    it(`stops the import of ${entry} on an old Node.js with its message`, async () => {
      // A preload makes this process report an old version before the entry loads.
      const preload =
        'data:text/javascript,' +
        encodeURIComponent(
          "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.11.1' } });",
        );
      const url = new URL(`../src/${entry}`, import.meta.url).href;
      const failed = await run(process.execPath, [
        '--import',
        preload,
        '--input-type=module',
        '--eval',
        `await import(${JSON.stringify(url)});`,
      ]).then(
        () => assert.fail(`${fileURLToPath(url)} loaded on a Node.js reported as 20.11.1`),
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /ERR_SHARDING_UNSUPPORTED_RUNTIME/);
      assert.match(
        failed.stderr,
        /needs Node\.js 22\.13\.0 or newer, but this process runs Node\.js 20\.11\.1/,
      );
    });
  }
});
