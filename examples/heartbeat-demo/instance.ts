// One sharding instance of the demo: serves its socket, answers its manager, sends heartbeats.
import { IpcServer } from '../../src/index.js';

const env = process.env;
const server = new IpcServer({
  managerId: env.SHARDING_MANAGER_IPC!,
  instanceId: env.SHARDING_INSTANCE_IPC!,
  instance: Number(env.SHARDING_INSTANCE),
  socketRoot: env.SHARDING_SOCKET_ROOT!,
});
server.dispatchHandler = (data, context) => ({
  pong: data,
  instance: server.context?.instance,
  event: context.event,
});
await server.listen();
const context = await server.whenIdentified();
console.log(
  `  instance ${context.instance} (pid ${process.pid}) runs shards ${context.shards.join(', ')} of ${context.totalShards}`,
);
