import type { ClusterIdentifyGate } from '../coordination/cluster-identify.gate.js';
import type { ClusterSessionStore } from '../coordination/cluster-session.store.js';

/**
 * What the identify broker uses of the cluster of hosts its manager joined (`coordination`): the
 * identify gate all hosts share and the sessions store any host can RESUME from. Membership and
 * placement stay with `ClusterMembership`.
 */
export interface IdentifyCluster {
  /** The cluster's identify gate, per bucket, shared by every host. */
  readonly gate: Pick<ClusterIdentifyGate, 'acquire' | 'sent'>;
  /** The cluster's sessions, by shard. */
  readonly sessions: Pick<ClusterSessionStore, 'read' | 'write'>;
}
