/**
 * The `reason` label of the restart counter: what was noticed first when a generation ended, as
 * one of a few fixed words (a cause can hold a message or an exit code: no label may grow without
 * bound).
 */
export type RestartReason =
  | 'socket-closed'
  | 'heartbeat-timeout'
  | 'protocol-error'
  | 'handshake-failed'
  | 'not-ready'
  | 'exited'
  | 'other';

const PREFIXES: ReadonlyArray<[string, RestartReason]> = [
  ['socket-closed', 'socket-closed'],
  ['heartbeat-timeout', 'heartbeat-timeout'],
  ['protocol-error', 'protocol-error'],
  ['handshake failed', 'handshake-failed'],
  ['not ready within', 'not-ready'],
  ['exited', 'exited'],
];

/** The {@link RestartReason} of a restart's `cause` (`InstanceRestart.cause`). */
export function restartReason(cause: string): RestartReason {
  for (const [prefix, reason] of PREFIXES) if (cause.startsWith(prefix)) return reason;
  return 'other';
}
