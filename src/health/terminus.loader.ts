import type * as Terminus from '@nestjs/terminus';
import { requirePeer } from '../runtime/require-peer.js';

/** The `@nestjs/terminus` module (an optional peer; the main entry never loads it). */
export const terminus = requirePeer<typeof Terminus>('@nestjs/terminus', 'nestjs-sharding/health');
