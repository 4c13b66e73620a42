import type * as Terminus from '@nestjs/terminus';
import { packageRequire } from '../common/package-require.cjs';
import { MissingPeerDependencyError } from '../testing/missing-peer.error.js';

/**
 * `@nestjs/terminus`, loaded when the health entry is first imported: it is an optional peer
 * dependency, needed only there, so its absence gets a clear error instead of a bare "Cannot find
 * package". The main entry never loads it.
 */
function loadTerminus(): typeof Terminus {
  try {
    return packageRequire('@nestjs/terminus') as typeof Terminus;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new MissingPeerDependencyError('@nestjs/terminus', 'nestjs-sharding/health', error);
    }
    throw error;
  }
}

/** The `@nestjs/terminus` module. */
export const terminus = loadTerminus();
