import { hostname } from 'node:os';
import type {
  CoordinationOptions,
  ResolvedCoordinationOptions,
} from './coordination-options.interface.js';

/** The default `coordination.leaseTtl`, in ms. */
export const DEFAULT_LEASE_TTL = 15_000;

/** `options` (already checked) with `hostId` and `leaseTtl` defaulted. */
export function resolveCoordination(options: CoordinationOptions): ResolvedCoordinationOptions {
  return {
    redis: options.redis,
    cluster: options.cluster,
    // Read when resolving: two managers on one machine are two hosts.
    hostId: options.hostId ?? `${hostname()}:${process.pid}`,
    leaseTtl: options.leaseTtl ?? DEFAULT_LEASE_TTL,
  };
}
