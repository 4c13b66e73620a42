import { UnsupportedNodeError } from '../errors/unsupported-node.error.js';

/** The oldest Node.js this package runs on: the `engines` range of its package.json. */
export const MIN_NODE_VERSION = '22.13.0';

/**
 * Throws {@link UnsupportedNodeError} when `version` (default: this process's) is older than
 * {@link MIN_NODE_VERSION}.
 */
export function assertSupportedNode(version: string = process.versions.node): void {
  const running = version.split('.').map(Number);
  const required = MIN_NODE_VERSION.split('.').map(Number);
  for (let part = 0; part < required.length; part++) {
    const difference = (running[part] ?? 0) - required[part]!;
    if (difference > 0) return;
    if (difference < 0) throw new UnsupportedNodeError(version, MIN_NODE_VERSION);
  }
}

// Each entry imports this module first, so an old Node.js gets this message instead of a failure
// deep inside a dependency that needs a newer one.
assertSupportedNode();
