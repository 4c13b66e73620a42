// A discord-hybrid-sharding cluster as its README has users write one (the reference of the
// discord section): a discord.js Client running the cluster's shards (SHARD_LIST, TOTAL_SHARDS
// from getInfo()), with a ClusterClient that reports ready, logging in to the gateway emulator.
import { ClusterClient, getInfo } from 'discord-hybrid-sharding';
import { Client, GatewayIntentBits } from 'discord.js';

// Leave with the ClusterManager's process, even when it is SIGKILLed.
process.on('disconnect', () => process.exit(1));

const info = getInfo();
const client = new Client({
  intents: [GatewayIntentBits.Guilds],
  shards: info.SHARD_LIST,
  shardCount: info.TOTAL_SHARDS,
  rest: { api: process.env.EMULATOR_API! },
});
const cluster = new ClusterClient(client);
client.once('clientReady', () => cluster.triggerReady());
await client.login();
