import { UnsupportedRuntimeError } from './unsupported-runtime.error.js';
import { packageRequire } from '../common/package-require.cjs';

/** The oldest Node.js this package runs on: the `engines` range of its package.json. */
export const MIN_NODE_VERSION = '22.13.0';

/**
 * Throws {@link UnsupportedRuntimeError} when `version` (default: this process's) is older than
 * {@link MIN_NODE_VERSION}.
 */
export function assertSupportedNode(version: string = process.versions.node): void {
  const running = version.split('.').map(Number);
  const required = MIN_NODE_VERSION.split('.').map(Number);
  for (let part = 0; part < required.length; part++) {
    const difference = (running[part] ?? 0) - required[part]!;
    if (difference > 0) return;
    if (difference < 0) {
      throw new UnsupportedRuntimeError(
        `nestjs-sharding needs Node.js ${MIN_NODE_VERSION} or newer, but this process runs ` +
          `Node.js ${version}. Upgrade Node.js.`,
      );
    }
  }
}

/**
 * Throws {@link UnsupportedRuntimeError} when `load` (default: this package's `require`) cannot
 * load node-ipc, an ES module, where the CommonJS build needs it. Node.js itself can; jest's
 * module loader can only on Node.js 24.9+ with `--experimental-vm-modules` (jest 30.4+), and
 * otherwise fails with advice that does not fit a dependency inside node_modules.
 */
export function assertCanRequireEsm(load: (id: string) => unknown = packageRequire): void {
  try {
    load('node-ipc');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw error;
    throw new UnsupportedRuntimeError(
      "nestjs-sharding's CommonJS build loads node-ipc 14, an ES module, with require(), and " +
        'this module loader cannot require() an ES module. Under jest, run it on Node.js 24.9 ' +
        'or newer with NODE_OPTIONS=--experimental-vm-modules (jest 30.4 or newer); or load ' +
        'the ESM build with import.',
      { cause: error },
    );
  }
}

// Each entry imports this module first, so that an unsupported runtime gets these messages
// instead of a failure deep inside a dependency. Only the CommonJS build has `require`.
assertSupportedNode();
if (typeof require === 'function') assertCanRequireEsm();
