// The demo manager: spawns two real instance processes, completes the HELLO/IDENTIFY handshake
// with each, prints their heartbeats with round-trip times for a few seconds, then shuts down
// and checks that no process and no socket is left.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  createSocketRoot,
  IpcClient,
  MANAGER_SHARD_ID,
  removeSocketRoot,
  SnowflakeService,
} from '../../src/index.js';

const INSTANCES = 2;
const SHARDS_PER_INSTANCE = 2;
const RUN_FOR_MS = Number(process.env.DEMO_DURATION_MS ?? 4000);
const HEARTBEAT_INTERVAL = 500;

const snowflakes = new SnowflakeService();
const managerId = snowflakes.generate(MANAGER_SHARD_ID);
const socketRoot = await createSocketRoot();
const children: ChildProcess[] = [];
const clients: IpcClient[] = [];

console.log(`manager ${managerId} (pid ${process.pid}), sockets in ${socketRoot}`);
try {
  const identifies = [];
  for (let instance = 0; instance < INSTANCES; instance++) {
    const instanceId = snowflakes.generate(instance);
    const shards = Array.from(
      { length: SHARDS_PER_INSTANCE },
      (_, i) => instance * SHARDS_PER_INSTANCE + i,
    );
    children.push(
      fork(fileURLToPath(new URL('./instance.js', import.meta.url)), [], {
        env: {
          ...process.env,
          SHARDING_MANAGER_IPC: managerId,
          SHARDING_INSTANCE_IPC: instanceId,
          SHARDING_INSTANCE: String(instance),
          SHARDING_SOCKET_ROOT: socketRoot,
        },
      }),
    );
    const client = new IpcClient({
      managerId,
      instanceId,
      instance,
      shards,
      totalShards: INSTANCES * SHARDS_PER_INSTANCE,
      socketRoot,
      heartbeatInterval: HEARTBEAT_INTERVAL,
    });
    clients.push(client);
    client.heartbeat$.subscribe((beat) => {
      const roundTrip =
        beat.roundTrip === undefined ? '   (first)' : `${beat.roundTrip.toFixed(3).padStart(7)} ms`;
      const rss = ((beat.rss ?? 0) / 1024 / 1024).toFixed(1);
      console.log(
        `  heartbeat  instance ${beat.instance}  #${String(beat.seq).padEnd(3)} round trip ${roundTrip}  rss ${rss} MiB  loop lag ${beat.eventLoopLag?.toFixed(2)} ms`,
      );
    });
    client.lost$.subscribe(({ reason }) => console.log(`  instance ${instance} lost: ${reason}`));
    identifies.push(client.connect());
  }
  for (const identify of await Promise.all(identifies)) {
    console.log(
      `  IDENTIFY from ${identify.id} (pid ${identify.pid}), shards ${identify.shards.join(', ')}`,
    );
  }
  const reply = await clients[0]!.request('ping', { at: Date.now() });
  console.log('  request ping → instance 0 replied', JSON.stringify(reply));
  await new Promise((resolve) => setTimeout(resolve, RUN_FOR_MS));
} finally {
  console.log('shutting down');
  // Closing a client closes the instance's manager socket; each instance then exits by itself
  // (its onManagerLost policy is the default, 'exit').
  const exits = children.map((child) =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit'),
  );
  await Promise.all(clients.map((client) => client.close()));
  const timer = setTimeout(() => children.forEach((child) => child.kill('SIGKILL')), 5000);
  await Promise.all(exits);
  clearTimeout(timer);
  const leftovers = await readdir(socketRoot).catch(() => []);
  await removeSocketRoot(socketRoot);
  console.log(
    `done: ${children.filter((child) => child.exitCode === 0).length}/${children.length} instances exited cleanly, ` +
      `${leftovers.length} socket(s) left behind`,
  );
}
