import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { type IpcClient, type IpcClientOptions } from '../../src/index.js';
import { IPC_MESSAGE_EVENT } from '../../src/ipc/index.js';
import { defer } from './cleanup.js';
import { clientFor, managerIdentity } from './link.js';

/** A node-ipc frame of any event. */
export const frame = (value: unknown): string => `${JSON.stringify(value)}\f`;

/** A node-ipc frame carrying one packet of the protocol. */
export const packetFrame = (packet: unknown): string =>
  frame({ type: IPC_MESSAGE_EVENT, data: packet });

/** Connects a raw socket to `path`, closed after the test. */
export async function rawSocket(path: string): Promise<Socket> {
  const socket = connect({ path });
  defer(() => socket.destroy());
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** A HELLO from a manager that no instance of the tests belongs to. */
export const strangerHello = packetFrame({
  op: 2,
  d: {
    id: '123',
    event_id: '9',
    instance: 0,
    shards: [0],
    total_shards: 1,
    heartbeat_interval: 1000,
  },
});

/** A packet as a fake peer reads it off the wire. */
export interface WirePacket {
  op: number;
  t?: string;
  d: { event_id?: string; [key: string]: unknown };
}

/** Collects every packet `socket` receives, in order, and resolves waits for one. */
export class PacketReader {
  readonly packets: WirePacket[] = [];
  private buffer = '';
  private waiters: Array<{
    match: (packet: WirePacket) => boolean;
    resolve: (p: WirePacket) => void;
  }> = [];

  constructor(socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const frames = (this.buffer + chunk).split('\f');
      this.buffer = frames.pop()!;
      for (const text of frames) this.push((JSON.parse(text) as { data: WirePacket }).data);
    });
  }

  /** Resolves with the first packet (already read or still to come) that `match` accepts. */
  next(match: (packet: WirePacket) => boolean): Promise<WirePacket> {
    const seen = this.packets.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  private push(packet: WirePacket): void {
    this.packets.push(packet);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.match(packet)) return true;
      waiter.resolve(packet);
      return false;
    });
  }
}

/** Options of {@link fakeInstance}. */
export interface FakeInstanceOptions {
  /** Options of the real client, beyond what the fake instance sets. */
  client?: Partial<IpcClientOptions>;
  /** Writes what the fake sends after HELLO and before its IDENTIFY. */
  beforeIdentify?: (peer: Socket) => void;
}

/**
 * A fake instance on a plain `node:net` server that answers the real client's HELLO properly
 * and then misbehaves as the test says; everything is closed after the test.
 */
export async function fakeInstance(
  options: FakeInstanceOptions = {},
): Promise<{ client: IpcClient; peer: Socket; reader: PacketReader }> {
  const { managerId, socketRoot } = await managerIdentity();
  const instanceId = '77';
  const server = createServer();
  defer(() => new Promise((resolve) => server.close(resolve)));
  server.listen(`${socketRoot}/ddoo${instanceId}`);
  await once(server, 'listening');
  const client = clientFor(
    { managerId, instanceId, instance: 0, socketRoot },
    { heartbeatInterval: 60_000, ...options.client },
  );
  const connected = once(server, 'connection') as Promise<[Socket]>;
  const identified = client.connect();
  const [peer] = await connected;
  defer(() => peer.destroy());
  const reader = new PacketReader(peer);
  const hello = await reader.next((packet) => packet.op === 2);
  options.beforeIdentify?.(peer);
  peer.write(
    packetFrame({ op: 1, d: { id: instanceId, event_id: hello.d.event_id, pid: 1, shards: [0] } }),
  );
  await identified;
  return { client, peer, reader };
}
