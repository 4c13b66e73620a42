// A discord-hybrid-sharding cluster as its README has users write one (the reference of the
// discord section): a discord.js Client running the cluster's shards (SHARD_LIST, TOTAL_SHARDS
// from getInfo()), with a ClusterClient that reports ready, logging in to the gateway emulator.
// discord.js paces the IDENTIFYs of a cluster's shards itself, with Discord's 5 s window built
// in: it gets the emulator's window instead (the same margin as ours), as the manager's spawn
// delay is scaled to it.
import { ClusterClient, getInfo } from 'discord-hybrid-sharding';
import { Client, GatewayIntentBits } from 'discord.js';
import { EmulatorIdentifyThrottler } from '../../src/testing/index.js';

// Leave with the ClusterManager's process, even when it is SIGKILLed.
process.on('disconnect', () => process.exit(1));

const info = getInfo();
const client = new Client({
  intents: [GatewayIntentBits.Guilds],
  shards: info.SHARD_LIST,
  shardCount: info.TOTAL_SHARDS,
  rest: { api: process.env.EMULATOR_API! },
  ws: {
    buildIdentifyThrottler: () =>
      new EmulatorIdentifyThrottler({
        identifyWindow: Number(process.env.EMULATOR_WINDOW),
        maxConcurrency: Number(process.env.EMULATOR_MAX_CONCURRENCY),
        margin: Number(process.env.EMULATOR_MARGIN),
      }),
  },
});
const cluster = new ClusterClient(client);
client.once('clientReady', () => cluster.triggerReady());
await client.login();
