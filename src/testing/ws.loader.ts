import type * as WsModule from 'ws';
import { requirePeer } from '../runtime/require-peer.js';

/** The `ws` module (`WebSocket`, `WebSocketServer`), an optional peer of the testing entry. */
export const ws = requirePeer<typeof WsModule>('ws', 'nestjs-sharding/testing');
