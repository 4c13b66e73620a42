import type { CoordinationOptions } from './coordination-options.interface.js';
import { DEFAULT_LEASE_TTL } from './coordination.defaults.js';
import { INSTANCE_LEASE_FRACTION } from '../protocol/lease-deadline.constants.js';

/**
 * Heartbeats per instance bound with `coordination`: two, so that one late acknowledgement
 * costs nothing.
 */
const HEARTBEATS_PER_BOUND = 2;

/** What the manager's link to each instance sends in HELLO with `coordination`. */
export interface InstanceLeaseSettings {
  /** The heartbeat interval, in ms: the configured one, at most a sixth of the lease TTL. */
  heartbeatInterval: number;
  /** The lease TTL, in ms; undefined without `coordination`. */
  leaseTtl: number | undefined;
}

/**
 * The heartbeat interval and lease TTL a manager sends its instances: unchanged without
 * `coordination`; with it, heartbeats frequent enough for {@link INSTANCE_LEASE_FRACTION}.
 */
export function instanceLeaseSettings(
  heartbeatInterval: number,
  coordination: CoordinationOptions | undefined,
): InstanceLeaseSettings {
  if (coordination === undefined) return { heartbeatInterval, leaseTtl: undefined };
  const leaseTtl = coordination.leaseTtl ?? DEFAULT_LEASE_TTL;
  return {
    heartbeatInterval: Math.max(
      1,
      Math.min(
        heartbeatInterval,
        Math.floor((leaseTtl * INSTANCE_LEASE_FRACTION) / HEARTBEATS_PER_BOUND),
      ),
    ),
    leaseTtl,
  };
}
