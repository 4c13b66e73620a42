/** Discord's window for one IDENTIFY per rate-limit bucket (`shard_id % max_concurrency`), in ms. */
export const DISCORD_IDENTIFY_WINDOW = 5_000;
