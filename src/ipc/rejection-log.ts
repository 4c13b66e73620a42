import type { Logger } from '@nestjs/common';
import type { PacketRejection } from '../protocol/packet.decoder.js';

/**
 * Counts dropped packets and logs the first one of each peer, so that a misbehaving peer cannot
 * flood the log.
 */
export class RejectionLog {
  private readonly warned = new WeakSet<object>();
  private dropped = 0;

  constructor(private readonly logger: Logger) {}

  /** How many received values were dropped. */
  get count(): number {
    return this.dropped;
  }

  /** Counts a dropped value from `peer`; logs it if it is that peer's first. */
  record(peer: object, peerName: string, rejection: PacketRejection): void {
    this.dropped++;
    if (this.warned.has(peer)) return;
    this.warned.add(peer);
    this.logger.warn(
      `Dropped a packet from ${peerName} (${rejection.code}): ${rejection.message}. ` +
        'Further drops from this peer are counted, not logged.',
    );
  }
}
