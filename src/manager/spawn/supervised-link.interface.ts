import type { Observable } from 'rxjs';
import type { DispatchHandler } from '../../dispatch/dispatch-context.interface.js';
import type {
  InstanceHeartbeat,
  IpcClientOptions,
  IpcClientState,
  LinkLoss,
} from '../../ipc/ipc.client.js';
import type { RequestOptions } from '../../ipc/packet-channel.js';

/**
 * What a supervisor needs of the manager's link to one instance generation. `IpcClient` is the
 * real one; unit tests pass fakes through the {@link LinkConnector} seam.
 */
export interface SupervisedLink {
  /** The connection state; the supervisor sends DESTROYING only while it is `identified`. */
  readonly state: IpcClientState;
  /** Every heartbeat of the instance. */
  readonly heartbeat$: Observable<InstanceHeartbeat>;
  /** Emits once when the identified link is lost (silence or a closed socket). */
  readonly lost$: Observable<Pick<LinkLoss, 'reason'>>;
  /** The handshake: resolves on IDENTIFY, rejects when it fails or times out. */
  connect(): Promise<unknown>;
  /** A request to the instance (DESTROYING, in the staged kill). */
  request<T = unknown>(event: string, data?: unknown, options?: RequestOptions): Promise<T>;
  /** Ends the link and rejects what is pending. */
  close(): Promise<void>;
}

/** Who and where the link of one generation connects to (as an `IpcClient` takes it). */
export type LinkLaunch = Pick<
  IpcClientOptions,
  'managerId' | 'instanceId' | 'instance' | 'shards' | 'totalShards' | 'socketRoot' | 'ownsShard'
> & {
  /** Receives the instance's dispatches (CONNECTED included) and answers its requests. */
  dispatchHandler: DispatchHandler;
};

/** Makes the link to one generation, not yet connected (the supervisor calls `connect()`). */
export type LinkConnector<Link extends SupervisedLink = SupervisedLink> = (
  launch: LinkLaunch,
) => Link;
