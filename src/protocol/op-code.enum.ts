/**
 * The op codes of the sharding wire protocol (the README's "The wire protocol").
 *
 * 0-6 keep Discordoo's numbers and names; 7 and 8 are this project's additions. This is kinship,
 * not interoperation: a Discordoo child cannot be driven by this manager, nor the reverse (see the
 * README, "What matches Discordoo").
 */
export enum IpcOpCode {
  /** Both directions: an event (`t` names it), a request (`d.reply`), or a reply. */
  DISPATCH = 0,
  /** Instance → manager: the answer to HELLO. */
  IDENTIFY = 1,
  /** Manager → instance: the shards to launch and the heartbeat interval. */
  HELLO = 2,
  /** Reserved by Discordoo; never sent, dropped when received. */
  CACHE_OPERATE = 3,
  /** Both directions: a request failed. */
  ERROR = 4,
  /** Reserved by Discordoo; never sent, dropped when received. */
  EMERGENCY = 5,
  /** Instance → manager: HELLO came from a manager the instance does not know. */
  INVALID_SESSION = 6,
  /** Instance → manager: liveness and stats, every `heartbeat_interval`. */
  HEARTBEAT = 7,
  /** Manager → instance: the answer to a HEARTBEAT. */
  HEARTBEAT_ACK = 8,
}
