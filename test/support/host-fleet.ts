// What the multi-host tests and the bench's failover share: the gateway emulator of a fleet run by
// several host managers (test/fixtures/host-manager), and the environment of each host.
import { GatewayEmulator } from '../../src/testing/index.js';

/** The bot token of the emulator and the hosts. */
export const HOST_FLEET_TOKEN = 'emulator-token';
/** The identify window, in ms: short, so that a fleet comes online fast. */
export const HOST_FLEET_WINDOW = 300;
/** The daily session budget the emulator announces. */
export const HOST_FLEET_BUDGET = 1_000;

/** Starts the emulator of a `shards`-shard bot, `max_concurrency` 1 (one shard per block). */
export function startHostFleetEmulator(shards: number): Promise<GatewayEmulator> {
  return GatewayEmulator.start({
    token: HOST_FLEET_TOKEN,
    shards,
    maxConcurrency: 1,
    identifyWindow: HOST_FLEET_WINDOW,
    heartbeatInterval: 1_000,
    sessionStartLimit: { total: HOST_FLEET_BUDGET },
  });
}

/**
 * The environment of a host manager fixture that runs `shards` as `hostId` in cluster `cluster`
 * of the Redis at `socket`, with `extra` (LEASE_TTL, SPARES, …) on top.
 */
export function hostFixtureEnv(
  emulator: GatewayEmulator,
  socket: string,
  cluster: string,
  hostId: string,
  shards: number[],
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...extra,
    HOST_SHARDS: JSON.stringify(shards),
    HOST_ID: hostId,
    CLUSTER: cluster,
    REDIS_SOCKET: socket,
    IDENTIFY_WINDOW: String(HOST_FLEET_WINDOW),
    EMULATOR_API: emulator.apiBase,
    DISCORD_TOKEN: HOST_FLEET_TOKEN,
  };
}
