import { createRequire } from 'node:module';
import type * as WsModule from 'ws';
import { MissingPeerDependencyError } from './missing-peer.error.js';

/**
 * The `ws` package, loaded when the testing entry is first imported. A static import would fail
 * with a bare "Cannot find package" before any of this entry's code runs; `ws` is an optional
 * peer dependency, needed only here, so its absence gets a clear error instead.
 */
function loadWs(): typeof WsModule {
  try {
    return createRequire(import.meta.url)('ws') as typeof WsModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new MissingPeerDependencyError('ws', 'nestjs-sharding/testing', error);
    }
    throw error;
  }
}

/** The `ws` module (`WebSocket`, `WebSocketServer`). */
export const ws = loadWs();
