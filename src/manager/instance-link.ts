import type { IpcClient, IpcClientState } from '../ipc/ipc.client.js';
import type { InstanceStatus } from './instance-state.js';

/** What the view reads from an instance's supervisor. */
interface LinkSource {
  readonly instance: number;
  /** The current generation's link, once spawned. */
  readonly client: IpcClient | undefined;
  status(): InstanceStatus;
}

/**
 * A read-only, live view of the manager's link to one instance (`ShardingManager.link(i)`): it
 * always shows the current generation's link, and offers nothing that could change or close it.
 */
export interface InstanceLink {
  /** The instance index. */
  readonly instance: number;
  /** The link's state; `'idle'` before the first spawn. */
  readonly state: IpcClientState;
  /** The current generation's snowflake (its socket name), once spawned. */
  readonly instanceId: string | undefined;
  /** Round trip of the latest acknowledged heartbeat, in ms. */
  readonly roundTrip: number | undefined;
  /** Requests to the instance that wait for a reply. */
  readonly pendingRequests: number;
  /** Packets from the instance dropped as malformed or unexpected, in this generation. */
  readonly rejectedPackets: number;
}

/**
 * Makes the view over the link of whatever `source()` returns at each read (the supervisor of
 * the instance then, which a graceful restart replaces).
 */
export function instanceLinkView(instance: number, source: () => LinkSource): InstanceLink {
  const current = () => source().client;
  return Object.freeze({
    instance,
    get state() {
      return current()?.state ?? 'idle';
    },
    get instanceId() {
      return source().status().instanceId;
    },
    get roundTrip() {
      return current()?.roundTrip;
    },
    get pendingRequests() {
      return current()?.pendingRequests ?? 0;
    },
    get rejectedPackets() {
      return current()?.rejectedPackets ?? 0;
    },
  });
}
