import type { Logger } from '@nestjs/common';
import { IpcClient } from '../../ipc/ipc.client.js';
import type { ResolvedShardingOptions } from '../../options/resolve-options.js';
import type { LinkConnector } from './supervised-link.interface.js';

/** The link settings a connector takes from the module options. */
export type IpcLinkSettings = Pick<
  ResolvedShardingOptions,
  'helloInterval' | 'helloTimeout' | 'heartbeatInterval' | 'missedHeartbeats' | 'requestTimeout'
>;

/** The real connector: an `IpcClient` (node-ipc, HELLO until IDENTIFY, heartbeats) per generation. */
export function ipcLinkConnector(
  settings: IpcLinkSettings,
  logger: Logger,
): LinkConnector<IpcClient> {
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
      heartbeatInterval: settings.heartbeatInterval,
      missedHeartbeats: settings.missedHeartbeats,
      requestTimeout: settings.requestTimeout,
      logger,
      dispatchHandler: launch.dispatchHandler,
    });
  };
}
