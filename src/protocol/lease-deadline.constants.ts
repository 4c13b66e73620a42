/**
 * With `coordination` (HELLO's `lease_ttl`): how long an instance keeps its shards without a
 * sign of life from its manager, as a fraction of the lease TTL, counted from the sending of its
 * latest acknowledged heartbeat. The manager was alive after that moment, and a live manager
 * gives its leases up once it has not renewed them within half the TTL, so Redis keeps them at
 * least half the TTL after it: closing by a third leaves a sixth for the connections to close.
 */
export const INSTANCE_LEASE_FRACTION = 1 / 3;
