import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defer } from './cleanup.js';

/** A Unix socket that forwards to another, until the test cuts it (a network partition). */
export interface SocketProxy {
  /** The proxy's socket path: connect here instead of the target. */
  readonly path: string;
  /** Drops every connection through it and refuses new ones from now on. */
  cut(): void;
}

/** Starts a proxy to the Unix socket `target`; closed after the test. */
export async function startSocketProxy(target: string): Promise<SocketProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'nsh-proxy-'));
  const path = join(dir, 'proxy.sock');
  const sockets = new Set<Socket>();
  let cut = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = createConnection(target);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  defer(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });
  return {
    path,
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}
