/**
 * How a manager request ended: `ok`, `timeout` (no reply in time), `connection-lost` (the
 * instance died or its link ended while it waited), `not-ready` (the instance was not ready, or
 * given up), `remote-error` (the instance's handler failed) or `error` (anything else).
 */
export type RequestOutcomeKind =
  'ok' | 'timeout' | 'connection-lost' | 'not-ready' | 'remote-error' | 'error';

/** Every {@link RequestOutcomeKind}, for metrics that list them all. */
export const REQUEST_OUTCOMES: readonly RequestOutcomeKind[] = [
  'ok',
  'timeout',
  'connection-lost',
  'not-ready',
  'remote-error',
  'error',
];

/** One request of the manager to an instance, as it ended (the items of `ShardingManager.request$`). */
export interface RequestOutcome {
  /** The instance asked. */
  instance: number;
  /** How it ended. */
  outcome: RequestOutcomeKind;
  /** From the call to its end (waits for readiness included), in ms. */
  duration: number;
}

const OUTCOME_BY_CODE: Readonly<Record<string, RequestOutcomeKind>> = {
  ERR_SHARDING_REQUEST_TIMEOUT: 'timeout',
  ERR_SHARDING_CONNECTION_LOST: 'connection-lost',
  ERR_SHARDING_INSTANCE_NOT_READY: 'not-ready',
  ERR_SHARDING_INSTANCE_UNAVAILABLE: 'not-ready',
  ERR_SHARDING_NOT_CONNECTED: 'not-ready',
  ERR_SHARDING_REMOTE_HANDLER: 'remote-error',
};

/** The outcome of a request that failed with `error`. */
export function failedOutcome(error: unknown): RequestOutcomeKind {
  const code = (error as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && OUTCOME_BY_CODE[code]) || 'error';
}
