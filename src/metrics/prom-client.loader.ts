import type * as PromClient from 'prom-client';
import { requirePeer } from '../runtime/require-peer.js';

/** The `prom-client` module (an optional peer; the main entry never loads it). */
export const promClient = requirePeer<typeof PromClient>('prom-client', 'nestjs-sharding/metrics');
