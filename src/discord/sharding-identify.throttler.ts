import type { IIdentifyThrottler } from '@discordjs/ws';
import type { ShardingInstance } from '../instance/sharding.instance.js';
import { InstanceGatewayLink } from './instance-gateway.link.js';

/**
 * An identify throttler for `@discordjs/ws` (its `IIdentifyThrottler`, also taken by discord.js's
 * `ws.buildIdentifyThrottler`) that asks the manager, so that one queue paces every shard of every
 * instance at Discord's limit. It resolves when the slot is granted and otherwise rejects only
 * with an `AbortError`, once the caller's signal aborts (see
 * {@link InstanceGatewayLink.waitForIdentify}).
 *
 * @example
 * ```ts
 * new WebSocketManager({ ...options, buildIdentifyThrottler: () => new ShardingIdentifyThrottler(instance) });
 * ```
 */
export class ShardingIdentifyThrottler implements IIdentifyThrottler {
  private readonly link: InstanceGatewayLink;

  /** Takes the instance, or a gateway link already built for it. */
  constructor(source: ShardingInstance | InstanceGatewayLink) {
    this.link = source instanceof InstanceGatewayLink ? source : new InstanceGatewayLink(source);
  }

  /** Resolves when the manager grants `shardId` its IDENTIFY; `signal` cancels the wait. */
  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    return this.link.waitForIdentify(shardId, signal);
  }
}
