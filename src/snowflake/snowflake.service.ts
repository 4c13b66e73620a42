import { Injectable } from '@nestjs/common';
import { threadId } from 'node:worker_threads';
import {
  DISCORD_EPOCH,
  DISCORD_GUILD_SHARD_SHIFT,
  DISCORD_INCREMENT_BITS,
  DISCORD_INCREMENT_SHIFT,
  DISCORD_PROCESS_ID_BITS,
  DISCORD_PROCESS_ID_SHIFT,
  DISCORD_SNOWFLAKE_BITS,
  DISCORD_TIMESTAMP_SHIFT,
  DISCORD_WORKER_ID_BITS,
  DISCORD_WORKER_ID_SHIFT,
  DISCORDOO_EPOCH,
  DISCORDOO_INCREMENT_BITS,
  DISCORDOO_INCREMENT_SHIFT,
  DISCORDOO_MAX_INCREMENT,
  DISCORDOO_MAX_SHARD_ID,
  DISCORDOO_MAX_TIMESTAMP,
  DISCORDOO_MAX_WORKER_ID,
  DISCORDOO_SHARD_ID_BITS,
  DISCORDOO_SHARD_ID_SHIFT,
  DISCORDOO_SNOWFLAKE_BITS,
  DISCORDOO_TIMESTAMP_SHIFT,
  DISCORDOO_WORKER_ID_BITS,
  DISCORDOO_WORKER_ID_SHIFT,
  MANAGER_SHARD_ID,
} from './snowflake.constants.js';
import { InvalidSnowflakeError } from './snowflake.error.js';

export { MANAGER_SHARD_ID } from './snowflake.constants.js';

/** The fields a Discordoo snowflake is built from (see {@link buildSnowflake}). */
export interface SnowflakeFields {
  /**
   * Milliseconds since the Unix epoch, an integer from `DISCORDOO_EPOCH` (2021-01-01) to
   * `DISCORDOO_MAX_TIMESTAMP` (2160).
   */
  timestamp: number;
  /** The process id, or a value derived from it in a worker thread; 0 to 2^32 - 1. */
  workerId: number;
  /** The instance index, or {@link MANAGER_SHARD_ID} for the manager; 0 to 2^32 - 1. */
  shardId: number;
  /** The per-millisecond counter; 0 to 2^22 - 1. */
  increment: number;
}

/** A Discordoo snowflake taken apart by {@link SnowflakeService.deconstruct}. */
export interface DeconstructedSnowflake extends SnowflakeFields {
  /** `timestamp` as a `Date`. */
  date: Date;
  /** Whether the shard id field is {@link MANAGER_SHARD_ID}: the id was made by a manager. */
  isManager: boolean;
}

/** A Discord snowflake taken apart by {@link SnowflakeService.deconstructDiscord}. */
export interface DeconstructedDiscordSnowflake {
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
  /** `timestamp` as a `Date`. */
  date: Date;
  /** Discord's internal worker id (5 bits). */
  workerId: number;
  /** Discord's internal process id (5 bits). */
  processId: number;
  /** Discord's per-process increment (12 bits). */
  increment: number;
}

// A worker thread shares its process id with the main thread and with its sibling threads, so
// its default worker id puts a thread slot (1..1023) above the low 22 bits of the process id.
// Linux process ids stay below 2^22 (PID_MAX_LIMIT), so a derived id is never the process id of
// any main thread on the host, and two threads of one process only share a slot if 1023 thread
// ids lie between them. Ids made in worker mode are kept apart by the shard field too.
const PID_BITS = 22;
const THREAD_SLOTS = 2 ** (DISCORDOO_WORKER_ID_BITS - PID_BITS) - 1;

/**
 * The worker id that {@link SnowflakeService.generate} uses when none is given.
 *
 * - Main thread (`threadId` 0): the process id, as in Discordoo.
 * - Worker thread: `slot * 2^22 + (pid mod 2^22)`, where `slot = ((threadId - 1) mod 1023) + 1`.
 *   Threads of one process then never share the main thread's worker id, nor each other's
 *   unless 1023 thread ids apart; on Linux (process ids below 2^22) a derived id never equals
 *   another process's main-thread id either.
 *
 * @param pid The process id. Default: `process.pid`.
 * @param thread The `threadId` from `node:worker_threads`. Default: the current thread's.
 * @returns A worker id from 0 to 2^32 - 1 when `pid` fits 32 bits.
 */
export function defaultWorkerId(pid: number = process.pid, thread: number = threadId): number {
  if (thread === 0) return pid;
  const slot = ((thread - 1) % THREAD_SLOTS) + 1;
  return slot * 2 ** PID_BITS + (pid % 2 ** PID_BITS);
}

/** The default worker id of the current thread: {@link defaultWorkerId}`()`, fixed at load. */
export const DEFAULT_WORKER_ID = defaultWorkerId();

const TIMESTAMP_SHIFT = BigInt(DISCORDOO_TIMESTAMP_SHIFT);
const WORKER_ID_SHIFT = BigInt(DISCORDOO_WORKER_ID_SHIFT);
const SHARD_ID_SHIFT = BigInt(DISCORDOO_SHARD_ID_SHIFT);
const INCREMENT_SHIFT = BigInt(DISCORDOO_INCREMENT_SHIFT);
const WORKER_ID_MASK = (1n << BigInt(DISCORDOO_WORKER_ID_BITS)) - 1n;
const SHARD_ID_MASK = (1n << BigInt(DISCORDOO_SHARD_ID_BITS)) - 1n;
const INCREMENT_MASK = (1n << BigInt(DISCORDOO_INCREMENT_BITS)) - 1n;
const MAX_SNOWFLAKE = (1n << BigInt(DISCORDOO_SNOWFLAKE_BITS)) - 1n;

const DISCORD_TIMESTAMP = BigInt(DISCORD_TIMESTAMP_SHIFT);
const DISCORD_WORKER_ID = BigInt(DISCORD_WORKER_ID_SHIFT);
const DISCORD_PROCESS_ID = BigInt(DISCORD_PROCESS_ID_SHIFT);
const DISCORD_INCREMENT = BigInt(DISCORD_INCREMENT_SHIFT);
const DISCORD_WORKER_ID_MASK = (1n << BigInt(DISCORD_WORKER_ID_BITS)) - 1n;
const DISCORD_PROCESS_ID_MASK = (1n << BigInt(DISCORD_PROCESS_ID_BITS)) - 1n;
const DISCORD_INCREMENT_MASK = (1n << BigInt(DISCORD_INCREMENT_BITS)) - 1n;
const MAX_DISCORD_SNOWFLAKE = (1n << BigInt(DISCORD_SNOWFLAKE_BITS)) - 1n;
const GUILD_SHARD_SHIFT = BigInt(DISCORD_GUILD_SHARD_SHIFT);

const DECIMAL = /^[0-9]+$/;
// Longer strings are rejected before BigInt() parses them: ids arrive from peers.
const MAX_SNOWFLAKE_DIGITS = MAX_SNOWFLAKE.toString().length;
const MAX_DISCORD_SNOWFLAKE_DIGITS = MAX_DISCORD_SNOWFLAKE.toString().length;

const EXPECTED_TIMESTAMP =
  `an integer number of milliseconds since the Unix epoch from ${DISCORDOO_EPOCH} ` +
  `(${new Date(DISCORDOO_EPOCH).toISOString()}) to ${DISCORDOO_MAX_TIMESTAMP} ` +
  `(${new Date(DISCORDOO_MAX_TIMESTAMP).toISOString()})`;
const EXPECTED_SNOWFLAKE =
  `a Discordoo snowflake: a bigint or a string of at most ${MAX_SNOWFLAKE_DIGITS} decimal ` +
  `digits, from 0 to ${MAX_SNOWFLAKE} (2^${DISCORDOO_SNOWFLAKE_BITS} - 1)`;
const EXPECTED_DISCORD_SNOWFLAKE =
  `a Discord snowflake: a bigint or a string of at most ${MAX_DISCORD_SNOWFLAKE_DIGITS} ` +
  `decimal digits, from 0 to ${MAX_DISCORD_SNOWFLAKE} (2^${DISCORD_SNOWFLAKE_BITS} - 1)`;
const EXPECTED_TOTAL_SHARDS = `an integer from 1 to ${Number.MAX_SAFE_INTEGER}`;

// The sequence of this thread: the last (timestamp, increment) pair handed out. It lives on
// globalThis under a registry symbol so that every copy of this module loaded in the thread (two
// installed versions, or the same file under two URLs) draws from one sequence. A worker thread
// has its own globalThis and so its own sequence; its default worker id keeps it apart.
interface SequenceState {
  timestamp: number;
  increment: number;
}
const SEQUENCE_KEY = Symbol.for('nestjs-sharding.snowflake.sequence.v1');
const sequence = ((globalThis as unknown as Record<symbol, SequenceState | undefined>)[
  SEQUENCE_KEY
] ??= { timestamp: -1, increment: 0 });

/**
 * Builds a Discordoo snowflake from explicit fields, with no sequence and no uniqueness: the
 * pure Discordoo layout. Use {@link SnowflakeService.generate} for new ids.
 *
 * @param fields The four fields; each is checked against its range.
 * @returns The snowflake as a decimal string.
 * @throws InvalidSnowflakeError if a field is not an integer or is out of its range.
 */
export function buildSnowflake(fields: SnowflakeFields): string {
  const { timestamp, workerId, shardId, increment } = fields;
  assertTimestamp(timestamp);
  assertField('workerId', workerId, DISCORDOO_MAX_WORKER_ID);
  assertField('shardId', shardId, DISCORDOO_MAX_SHARD_ID);
  assertField('increment', increment, DISCORDOO_MAX_INCREMENT);
  return pack(timestamp, workerId, shardId, increment).toString();
}

/**
 * Makes and reads snowflakes: the Discordoo snowflakes that name managers, instances and events,
 * and the Discord snowflakes of guilds, users and messages. It has no dependencies, so
 * `new SnowflakeService()` works outside Nest too; all instances in a thread share one sequence.
 */
@Injectable()
export class SnowflakeService {
  /** The shard id of the manager's snowflakes: 1111111111 ({@link MANAGER_SHARD_ID}). */
  static readonly MANAGER_SHARD_ID = MANAGER_SHARD_ID;

  /**
   * Generates a Discordoo snowflake that no earlier call in this thread has returned.
   *
   * Ids of one thread follow one sequence of (timestamp, increment) pairs, shared by every
   * instance of this service: a later call in the same millisecond takes the next increment, and
   * when the 2^22 increments of a millisecond are used up the id moves on to the next
   * millisecond. The timestamp never goes backwards, even when the clock does, so for a given
   * worker and shard id each id is numerically greater than the one before. Threads are told
   * apart by the worker id ({@link defaultWorkerId}).
   *
   * @param shardId The instance index, or {@link MANAGER_SHARD_ID} in the manager; 0 to 2^32 - 1.
   * @param workerId Default: {@link DEFAULT_WORKER_ID} (`process.pid` in the main thread, a value
   *   derived from the pid and `threadId` in a worker thread); 0 to 2^32 - 1.
   * @param timestamp Milliseconds since the Unix epoch. Default: `Date.now()`. A lower bound: if
   *   this thread already used a later millisecond, the id carries that one instead, so that ids
   *   stay unique and increasing. Must lie in the Discordoo range (2021 to 2160).
   * @returns The snowflake as a decimal string.
   * @throws InvalidSnowflakeError if an argument is out of range, or if the sequence would pass
   *   the largest timestamp a snowflake holds.
   */
  generate(
    shardId: number,
    workerId: number = DEFAULT_WORKER_ID,
    timestamp: number = Date.now(),
  ): string {
    assertField('shardId', shardId, DISCORDOO_MAX_SHARD_ID);
    assertField('workerId', workerId, DISCORDOO_MAX_WORKER_ID);
    assertTimestamp(timestamp);

    let next = sequence.timestamp;
    let increment: number;
    if (timestamp > next) {
      next = timestamp;
      increment = 0;
    } else if (sequence.increment < DISCORDOO_MAX_INCREMENT) {
      increment = sequence.increment + 1;
    } else {
      next += 1;
      increment = 0;
      if (next > DISCORDOO_MAX_TIMESTAMP) {
        throw new InvalidSnowflakeError('timestamp', next, EXPECTED_TIMESTAMP);
      }
    }
    sequence.timestamp = next;
    sequence.increment = increment;
    return formatSequenced(next, workerId, shardId, increment);
  }

  /**
   * Takes a Discordoo snowflake apart.
   *
   * @param id The snowflake, as a decimal string or a bigint.
   * @throws InvalidSnowflakeError if `id` is not a decimal string or bigint from 0 to 2^128 - 1.
   */
  deconstruct(id: string | bigint): DeconstructedSnowflake {
    const value = parseSnowflake(id, MAX_SNOWFLAKE, MAX_SNOWFLAKE_DIGITS, EXPECTED_SNOWFLAKE);
    const timestamp = Number(value >> TIMESTAMP_SHIFT) + DISCORDOO_EPOCH;
    const shardId = Number((value >> SHARD_ID_SHIFT) & SHARD_ID_MASK);
    return {
      timestamp,
      date: new Date(timestamp),
      workerId: Number((value >> WORKER_ID_SHIFT) & WORKER_ID_MASK),
      shardId,
      increment: Number((value >> INCREMENT_SHIFT) & INCREMENT_MASK),
      isManager: shardId === MANAGER_SHARD_ID,
    };
  }

  /**
   * The creation time of a Discordoo snowflake.
   *
   * @param id The snowflake, as a decimal string or a bigint.
   * @returns Milliseconds since the Unix epoch.
   * @throws InvalidSnowflakeError if `id` is not a valid Discordoo snowflake.
   */
  timestampOf(id: string | bigint): number {
    const value = parseSnowflake(id, MAX_SNOWFLAKE, MAX_SNOWFLAKE_DIGITS, EXPECTED_SNOWFLAKE);
    return Number(value >> TIMESTAMP_SHIFT) + DISCORDOO_EPOCH;
  }

  /**
   * The creation time of a Discordoo snowflake, as a `Date`.
   *
   * @param id The snowflake, as a decimal string or a bigint.
   * @throws InvalidSnowflakeError if `id` is not a valid Discordoo snowflake.
   */
  dateOf(id: string | bigint): Date {
    return new Date(this.timestampOf(id));
  }

  /**
   * Takes a Discord snowflake (a guild, user, channel or message id) apart.
   *
   * @param id The snowflake, as a decimal string or a bigint.
   * @throws InvalidSnowflakeError if `id` is not a decimal string or bigint from 0 to 2^64 - 1.
   */
  deconstructDiscord(id: string | bigint): DeconstructedDiscordSnowflake {
    const value = parseSnowflake(
      id,
      MAX_DISCORD_SNOWFLAKE,
      MAX_DISCORD_SNOWFLAKE_DIGITS,
      EXPECTED_DISCORD_SNOWFLAKE,
    );
    const timestamp = Number(value >> DISCORD_TIMESTAMP) + DISCORD_EPOCH;
    return {
      timestamp,
      date: new Date(timestamp),
      workerId: Number((value >> DISCORD_WORKER_ID) & DISCORD_WORKER_ID_MASK),
      processId: Number((value >> DISCORD_PROCESS_ID) & DISCORD_PROCESS_ID_MASK),
      increment: Number((value >> DISCORD_INCREMENT) & DISCORD_INCREMENT_MASK),
    };
  }

  /**
   * The shard that receives a guild's events: Discord's `(guild_id >> 22) % num_shards`,
   * computed in BigInt so that it is exact for every 64-bit id.
   *
   * @param guildId The guild id, as a decimal string or a bigint.
   * @param totalShards The total shard count of the bot; a positive integer.
   * @returns The shard id, from 0 to `totalShards - 1`.
   * @throws InvalidSnowflakeError if `guildId` is not a Discord snowflake or `totalShards` is not
   *   a positive safe integer.
   */
  shardForGuild(guildId: string | bigint, totalShards: number): number {
    const value = parseSnowflake(
      guildId,
      MAX_DISCORD_SNOWFLAKE,
      MAX_DISCORD_SNOWFLAKE_DIGITS,
      EXPECTED_DISCORD_SNOWFLAKE,
      'guildId',
    );
    if (!(Number.isSafeInteger(totalShards) && totalShards > 0)) {
      throw new InvalidSnowflakeError('totalShards', totalShards, EXPECTED_TOTAL_SHARDS);
    }
    return Number((value >> GUILD_SHARD_SHIFT) % BigInt(totalShards));
  }
}

function assertField(field: string, value: number, max: number): void {
  if (!(Number.isInteger(value) && value >= 0 && value <= max)) {
    throw new InvalidSnowflakeError(field, value, `an integer from 0 to ${max}`);
  }
}

function assertTimestamp(value: number): void {
  if (!(Number.isInteger(value) && value >= DISCORDOO_EPOCH && value <= DISCORDOO_MAX_TIMESTAMP)) {
    throw new InvalidSnowflakeError('timestamp', value, EXPECTED_TIMESTAMP);
  }
}

function parseSnowflake(
  id: unknown,
  max: bigint,
  maxDigits: number,
  expected: string,
  field = 'id',
): bigint {
  let value: bigint | undefined;
  if (typeof id === 'bigint') {
    value = id;
  } else if (typeof id === 'string' && id.length <= maxDigits && DECIMAL.test(id)) {
    value = BigInt(id);
  }
  if (value === undefined || value < 0n || value > max) {
    throw new InvalidSnowflakeError(field, id, expected);
  }
  return value;
}

// Fields are range-checked by the caller, so the shifted values never overlap.
function pack(timestamp: number, workerId: number, shardId: number, increment: number): bigint {
  return (
    (BigInt(timestamp - DISCORDOO_EPOCH) << TIMESTAMP_SHIFT) |
    (BigInt(workerId) << WORKER_ID_SHIFT) |
    (BigInt(shardId) << SHARD_ID_SHIFT) |
    (BigInt(increment) << INCREMENT_SHIFT)
  );
}

// Every request and event carries a new id, so generate() is on the hot path of every packet
// (the request round trip of `npm run bench` includes it). This prefix cache is module state for
// the same reason the sequence above is: one per thread, shared by every caller in it.
// Turning a 128-bit BigInt into decimal is most of generate()'s cost. Ids made in one millisecond
// for one worker and shard share everything above the increment, so that prefix is converted
// once, split into its decimal digits above and below 10^15, and the increment is added to the
// low part as a plain number: no BigInt per id. 10^15 + 10^15 + 2^22 is below 2^53, so the
// addition is exact. The rare id whose low part carries past 10^15, and prefixes under 10^15
// (whose decimal form must not be zero-padded), take the BigInt path.
const LOW_BASE = 10 ** 15;
const LOW_BASE_BIG = BigInt(LOW_BASE);
let prefixTimestamp = -1;
let prefixWorkerId = -1;
let prefixShardId = -1;
let prefix = 0n;
let prefixHigh = '';
let prefixLow = 0;

function formatSequenced(
  timestamp: number,
  workerId: number,
  shardId: number,
  increment: number,
): string {
  if (timestamp !== prefixTimestamp || workerId !== prefixWorkerId || shardId !== prefixShardId) {
    prefix = pack(timestamp, workerId, shardId, 0);
    prefixHigh = prefix >= LOW_BASE_BIG ? (prefix / LOW_BASE_BIG).toString() : '';
    prefixLow = Number(prefix % LOW_BASE_BIG);
    prefixTimestamp = timestamp;
    prefixWorkerId = workerId;
    prefixShardId = shardId;
  }
  const low = prefixLow + increment;
  if (low < LOW_BASE && prefixHigh !== '') {
    // Adding LOW_BASE writes the leading zeros of the low 15 digits; slice(1) drops its "1".
    return prefixHigh + String(LOW_BASE + low).slice(1);
  }
  return (prefix + BigInt(increment)).toString();
}
