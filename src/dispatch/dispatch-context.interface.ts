import type { DispatchSender, DispatchTarget } from '../protocol/ipc-packet.types.js';

/** What a dispatch handler is told besides the data. */
export interface DispatchContext {
  /** The event name (`t` of the packet). */
  event: string;
  /** The sender: an instance index, or `'manager'`. */
  from: DispatchSender;
  /** The packet's event id; a reply carries the same. */
  eventId: string;
  /** Whether the sender waits for a reply (the handler's return value). */
  isRequest: boolean;
  /** Set when an instance asked the manager to relay the dispatch to other instances. */
  to?: DispatchTarget;
}

/**
 * Receives every DISPATCH that is not a reply. For a request, its return value (or the value its
 * promise resolves to) is the reply, and a throw becomes an ERROR reply.
 */
export type DispatchHandler = (data: unknown, context: DispatchContext) => unknown;
