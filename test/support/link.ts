import type { ChildProcess } from 'node:child_process';
import {
  IpcClient,
  MANAGER_SHARD_ID,
  SnowflakeService,
  type IpcClientOptions,
} from '../../src/index.js';
import { createSocketRoot, removeSocketRoot } from '../../src/ipc/index.js';
import { defer } from './cleanup.js';
import { forkFixture, nextMessage } from './processes.js';

const snowflakes = new SnowflakeService();

/** Ids and a private socket root for one manager, removed after the test. */
export async function managerIdentity(): Promise<{ managerId: string; socketRoot: string }> {
  const socketRoot = await createSocketRoot();
  defer(() => removeSocketRoot(socketRoot));
  return { managerId: snowflakes.generate(MANAGER_SHARD_ID), socketRoot };
}

/** The environment a manager gives an instance it spawns (the SHARDING_* variables). */
export function instanceEnv(
  managerId: string,
  instanceId: string,
  instance: number,
  socketRoot: string,
): Record<string, string> {
  return {
    SHARDING_MANAGER_IPC: managerId,
    SHARDING_INSTANCE_IPC: instanceId,
    SHARDING_INSTANCE: String(instance),
    SHARDING_SOCKET_ROOT: socketRoot,
  };
}

/** A forked instance fixture serving its socket, not yet connected. */
export interface StartedInstance {
  child: ChildProcess;
  managerId: string;
  instanceId: string;
  instance: number;
  socketRoot: string;
}

/** Forks the IpcServer fixture and waits until it listens. */
export async function startInstance(
  fixtureEnv: Record<string, string> = {},
  identity?: { managerId: string; socketRoot: string },
): Promise<StartedInstance> {
  const { managerId, socketRoot } = identity ?? (await managerIdentity());
  const instance = 0;
  const instanceId = snowflakes.generate(instance);
  const child = forkFixture('ipc-server.fixture', {
    ...instanceEnv(managerId, instanceId, instance, socketRoot),
    ...fixtureEnv,
  });
  await nextMessage(child, 'listening');
  return { child, managerId, instanceId, instance, socketRoot };
}

/** An IpcClient for a started instance, closed after the test. */
export function clientFor(
  started: Omit<StartedInstance, 'child'>,
  options: Partial<IpcClientOptions> = {},
): IpcClient {
  const client = new IpcClient({
    managerId: started.managerId,
    instanceId: started.instanceId,
    instance: started.instance,
    shards: [0, 1],
    totalShards: 2,
    socketRoot: started.socketRoot,
    ...options,
  });
  defer(() => client.close());
  return client;
}

/** Forks an instance and connects a client to it (1 s heartbeats unless given). */
export async function startLink(
  clientOptions: Partial<IpcClientOptions> = {},
  fixtureEnv: Record<string, string> = {},
): Promise<StartedInstance & { client: IpcClient }> {
  const started = await startInstance(fixtureEnv);
  // A 3 s silence span by default: busy CI machines must not end links by accident.
  const client = clientFor(started, { heartbeatInterval: 1_000, ...clientOptions });
  await client.connect();
  return { ...started, client };
}
