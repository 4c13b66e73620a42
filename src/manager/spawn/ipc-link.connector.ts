import type { Logger } from '@nestjs/common';
import { instanceLeaseSettings } from '../../coordination/instance-lease.rule.js';
import { IpcClient } from '../../ipc/ipc.client.js';
import type { ResolvedShardingOptions } from '../../options/resolve-options.js';
import type { LinkConnector } from './supervised-link.interface.js';

/** The link settings a connector takes from the module options. */
export type IpcLinkSettings = Pick<
  ResolvedShardingOptions,
  | 'helloInterval'
  | 'helloTimeout'
  | 'heartbeatInterval'
  | 'missedHeartbeats'
  | 'requestTimeout'
  | 'coordination'
>;

/** The real connector: an `IpcClient` (node-ipc, HELLO until IDENTIFY, heartbeats) per generation. */
export function ipcLinkConnector(
  settings: IpcLinkSettings,
  logger: Logger,
): LinkConnector<IpcClient> {
  // With coordination, instances learn the lease TTL and beat often enough to keep to it.
  const lease = instanceLeaseSettings(settings.heartbeatInterval, settings.coordination);
  return (launch) => {
    return new IpcClient({
      managerId: launch.managerId,
      instanceId: launch.instanceId,
      instance: launch.instance,
      shards: launch.shards,
      totalShards: launch.totalShards,
      ownsShard: launch.ownsShard,
      socketRoot: launch.socketRoot,
      helloInterval: settings.helloInterval,
      helloTimeout: settings.helloTimeout,
      heartbeatInterval: lease.heartbeatInterval,
      leaseTtl: lease.leaseTtl,
      missedHeartbeats: settings.missedHeartbeats,
      requestTimeout: settings.requestTimeout,
      logger,
      dispatchHandler: launch.dispatchHandler,
    });
  };
}
