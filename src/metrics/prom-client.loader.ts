import type * as PromClient from 'prom-client';
import { packageRequire } from '../common/package-require.cjs';
import { MissingPeerDependencyError } from '../testing/missing-peer.error.js';

/**
 * `prom-client`, loaded when the metrics entry is first imported: it is an optional peer
 * dependency, needed only there, so its absence gets a clear error instead of a bare "Cannot find
 * package". The main entry never loads it.
 */
function loadPromClient(): typeof PromClient {
  try {
    return packageRequire('prom-client') as typeof PromClient;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new MissingPeerDependencyError('prom-client', 'nestjs-sharding/metrics', error);
    }
    throw error;
  }
}

/** The `prom-client` module. */
export const promClient = loadPromClient();
