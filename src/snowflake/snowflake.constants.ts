// Bit layouts of the two snowflake kinds this library reads (Discordoo's, and Discord's).
// Fields are listed from the most significant down; `*_SHIFT` is the bit where a field starts,
// `*_BITS` its width and `MAX_*` the largest value it holds.

/** Discordoo epoch: 2021-01-01T00:00:00.000Z, in milliseconds since the Unix epoch. */
export const DISCORDOO_EPOCH = 1_609_459_200_000;

/** Width of a whole Discordoo snowflake, in bits. */
export const DISCORDOO_SNOWFLAKE_BITS = 128;

/** Width of the timestamp field (milliseconds since {@link DISCORDOO_EPOCH}). */
export const DISCORDOO_TIMESTAMP_BITS = 42;
/** First bit of the timestamp field. */
export const DISCORDOO_TIMESTAMP_SHIFT = 86;

/** Width of the worker id field (the process id, or a value derived from it in a worker thread). */
export const DISCORDOO_WORKER_ID_BITS = 32;
/** First bit of the worker id field. */
export const DISCORDOO_WORKER_ID_SHIFT = 54;

/** Width of the shard id field (the instance index, or {@link MANAGER_SHARD_ID}). */
export const DISCORDOO_SHARD_ID_BITS = 32;
/** First bit of the shard id field. */
export const DISCORDOO_SHARD_ID_SHIFT = 22;

/** Width of the increment field (a per-millisecond counter). */
export const DISCORDOO_INCREMENT_BITS = 22;
/** First bit of the increment field. */
export const DISCORDOO_INCREMENT_SHIFT = 0;

/** Largest timestamp a Discordoo snowflake holds, in ms since the Unix epoch (year 2160). */
export const DISCORDOO_MAX_TIMESTAMP = DISCORDOO_EPOCH + 2 ** DISCORDOO_TIMESTAMP_BITS - 1;
/** Largest worker id: 4294967295. */
export const DISCORDOO_MAX_WORKER_ID = 2 ** DISCORDOO_WORKER_ID_BITS - 1;
/** Largest shard id: 4294967295. */
export const DISCORDOO_MAX_SHARD_ID = 2 ** DISCORDOO_SHARD_ID_BITS - 1;
/** Largest increment: 4194303; one more in the same millisecond moves to the next one. */
export const DISCORDOO_MAX_INCREMENT = 2 ** DISCORDOO_INCREMENT_BITS - 1;

/**
 * The shard id field of the manager's snowflakes. Instances put their instance index there, so
 * a manager id and an instance id differ even when both come from the same process id.
 */
export const MANAGER_SHARD_ID = 1_111_111_111;

/** Discord epoch: 2015-01-01T00:00:00.000Z, in milliseconds since the Unix epoch. */
export const DISCORD_EPOCH = 1_420_070_400_000;

/** Width of a whole Discord snowflake, in bits. */
export const DISCORD_SNOWFLAKE_BITS = 64;

/** First bit of a Discord snowflake's timestamp (milliseconds since {@link DISCORD_EPOCH}). */
export const DISCORD_TIMESTAMP_SHIFT = 22;
/** Width of a Discord snowflake's timestamp field. */
export const DISCORD_TIMESTAMP_BITS = 42;

/** First bit of a Discord snowflake's internal worker id. */
export const DISCORD_WORKER_ID_SHIFT = 17;
/** Width of a Discord snowflake's internal worker id. */
export const DISCORD_WORKER_ID_BITS = 5;

/** First bit of a Discord snowflake's internal process id. */
export const DISCORD_PROCESS_ID_SHIFT = 12;
/** Width of a Discord snowflake's internal process id. */
export const DISCORD_PROCESS_ID_BITS = 5;

/** First bit of a Discord snowflake's increment. */
export const DISCORD_INCREMENT_SHIFT = 0;
/** Width of a Discord snowflake's increment. */
export const DISCORD_INCREMENT_BITS = 12;

/**
 * Bits of a guild id dropped before taking the remainder in Discord's shard formula
 * `shard_id = (guild_id >> 22) % num_shards`.
 */
export const DISCORD_GUILD_SHARD_SHIFT = 22;
