import { MissingPeerDependencyError } from '../errors/missing-peer.error.js';
import { packageRequire } from '../common/package-require.cjs';

/**
 * Loads `packageName`, an optional peer dependency that only `entry` needs, when that entry is
 * first imported: a static import would fail with a bare "Cannot find package" before any of the
 * entry's code runs, so its absence gets {@link MissingPeerDependencyError} naming it instead.
 */
export function requirePeer<T>(packageName: string, entry: string): T {
  try {
    return packageRequire(packageName) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new MissingPeerDependencyError(packageName, entry, error);
    }
    throw error;
  }
}
