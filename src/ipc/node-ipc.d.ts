// Local typings for node-ipc 14.0.0, which ships none. They cover only what this library uses;
// review them (and the package itself) on any upgrade.
declare module 'node-ipc' {
  import type { Server as NetServer, Socket } from 'node:net';

  type Handler = (...args: any[]) => void;

  interface PubSub {
    on(type: string, handler: Handler, once?: boolean): this;
    off(type?: string, handler?: Handler | '*'): this;
  }

  export interface IpcConfig {
    appspace: string;
    socketRoot: string;
    id: string;
    parser: 'raw' | 'fast' | 'guarded' | 'assured' | (new (config: IpcConfig) => GuardedParser);
    silent: boolean;
    logger: (message: string) => void;
    logInColor: boolean;
    retry: number;
    maxRetries: number;
    stopRetrying: boolean;
    unlink: boolean;
    maxConnections: number;
    maxMessageSize: number;
    maxPendingBytes: number;
    messageTimeout: number;
    secureSocketRoot: boolean;
    delimiter: string;
  }

  export interface IpcClientConnection extends PubSub {
    socket: Socket | false;
    /** The frame codec of this connection (an instance of the configured parser class). */
    parser: unknown;
    emit(type: string, data?: unknown): boolean;
  }

  export interface IpcSocketServer extends PubSub {
    server: NetServer | false;
    sockets: Socket[];
    /** The frame codec of every connection of this server (an instance of the configured class). */
    parser: unknown;
    start(): void;
    stop(): void;
    emit(socket: Socket, type: string, data?: unknown): boolean;
  }

  export class IPCModule {
    config: IpcConfig;
    of: Record<string, IpcClientConnection | undefined>;
    server: IpcSocketServer | false;
    connectTo(id: string, path: string, callback?: () => void): void;
    disconnect(id: string): void;
    serve(path: string, callback?: () => void): void;
  }

  export class IPCProtocolError extends Error {
    constructor(code: string, message: string);
    code: string;
  }

  /** node-ipc's guarded frame codec: JSON `{ type, data }` frames ended by a delimiter. */
  export class GuardedParser {
    constructor(config?: Partial<IpcConfig>);
    delimiter: string;
    maxMessageSize: number;
    encode(type: string, data?: unknown): string;
    read(
      buffer: string,
      data: string,
      receive: (message: { type: string; data: unknown }) => void,
    ): string;
    decodeMessage(frame: string): { type: string; data: unknown };
    validateType(type: unknown): void;
    assertFrameSize(characters: number, bytes: number): void;
  }
}
