// A discord.js shard as discord.js's own ShardingManager runs one (the reference of the discord
// section): a Client that takes its shard and shard count from the variables the ShardingManager
// sets (SHARDS, SHARD_COUNT, DISCORD_TOKEN), logging in to the gateway emulator.
import { Client, GatewayIntentBits } from 'discord.js';

// Leave with the ShardingManager's process, even when it is SIGKILLed.
process.on('disconnect', () => process.exit(1));

const client = new Client({
  intents: [GatewayIntentBits.Guilds],
  rest: { api: process.env.EMULATOR_API! },
});
await client.login();
