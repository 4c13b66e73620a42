import type * as WsModule from 'ws';
import { packageRequire } from '../common/package-require.cjs';
import { MissingPeerDependencyError } from './missing-peer.error.js';

/**
 * The `ws` package, loaded when the testing entry is first imported. A static import would fail
 * with a bare "Cannot find package" before any of this entry's code runs; `ws` is an optional
 * peer dependency, needed only here, so its absence gets a clear error instead.
 */
function loadWs(): typeof WsModule {
  try {
    return packageRequire('ws') as typeof WsModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new MissingPeerDependencyError('ws', 'nestjs-sharding/testing', error);
    }
    throw error;
  }
}

/** The `ws` module (`WebSocket`, `WebSocketServer`). */
export const ws = loadWs();
