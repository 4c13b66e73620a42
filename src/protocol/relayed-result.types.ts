import type { SerializedError } from './ipc-packet.types.js';

/**
 * One instance's settled result of a relayed request to several instances (`to: 'all'` or a list
 * of indexes), as it travels back to the instance that asked.
 */
export type RelayedInstanceResult<T = unknown> =
  | { instance: number; status: 'fulfilled'; value: T }
  | { instance: number; status: 'rejected'; reason: SerializedError };
