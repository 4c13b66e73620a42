import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import {
  ShardingManager,
  StatusPageServer,
  type ShardingModuleOptions,
  type StatusPageSnapshot,
  type StatusPageUpdate,
} from '../../src/index.js';
import { GatewayEmulator, type GatewayEmulatorOptions } from '../../src/testing/index.js';
import { defer } from './cleanup.js';
import { startFleetApp } from './fleet.js';
import { fixturePath } from './processes.js';

/** A fleet of the usual test shape with its status page (default: a free loopback port). */
export async function startPagedFleet(
  statusPage: ShardingModuleOptions['statusPage'] = { port: 0 },
  options: ShardingModuleOptions = {},
): Promise<{ manager: ShardingManager; url: string; page: StatusPageServer }> {
  const { app, manager } = await startFleetApp({ statusPage, ...options });
  const page = app.get(StatusPageServer);
  return { manager, page, url: page.url! };
}

/**
 * {@link startPagedFleet} whose instances run a real `@discordjs/ws` bot (the ws-bot fixture)
 * against a gateway emulator of `totalShards` shards: shards report their gateway state, ping,
 * guilds and events with every heartbeat. The emulator is closed after the test.
 */
export async function startPagedBotFleet(
  totalShards: number,
  options: ShardingModuleOptions = {},
  emulatorOptions: GatewayEmulatorOptions = {},
): Promise<{
  manager: ShardingManager;
  url: string;
  page: StatusPageServer;
  emulator: GatewayEmulator;
}> {
  const identifyWindow = emulatorOptions.identifyWindow ?? 100;
  const emulator = await GatewayEmulator.start({
    shards: totalShards,
    maxConcurrency: 4,
    // Gateway heartbeats (and so pings) several times a second.
    heartbeatInterval: 300,
    guildsPerShard: 2,
    ...emulatorOptions,
    identifyWindow,
  });
  defer(() => emulator.close());
  const paged = await startPagedFleet(
    { port: 0 },
    {
      file: fixturePath('ws-bot.fixture'),
      totalShards,
      token: emulator.token,
      api: `${emulator.apiBase}/v10`,
      maxConcurrency: emulatorOptions.maxConcurrency ?? 4,
      identifyWindow,
      env: { EMULATOR_API: emulator.apiBase, DISCORD_TOKEN: emulator.token },
      ...options,
    },
  );
  return { ...paged, emulator };
}

/** An HTTP answer, body read. */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Sends one request with full control of its headers (Host, Origin, Sec-Fetch-Site). */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers });
    request.once('error', reject);
    request.once('response', (response: IncomingMessage) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.once('end', () =>
        resolve({ status: response.statusCode!, headers: response.headers, body }),
      );
      response.once('error', reject);
    });
    request.end(options.body);
  });
}

/** One server-sent event. */
export interface PageEvent {
  event: string;
  data: string;
}

/** A reader of `/events`: every event in order, and a wait for the next one that matches. */
export class EventStreamReader {
  readonly events: PageEvent[] = [];
  private waiters: Array<() => void> = [];
  private buffer = '';
  /** The response, once its headers are in. */
  response: IncomingMessage | undefined;
  private closedBy: Error | undefined;

  private constructor(private readonly request: ReturnType<typeof httpRequest>) {}

  /** Opens `/events` and resolves with its reader once the headers are in; closed after the test. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<EventStreamReader> {
    const request = httpRequest(new URL('events', url), { headers });
    const reader = new EventStreamReader(request);
    defer(() => reader.close());
    await new Promise<void>((resolve, reject) => {
      request.once('error', reject);
      request.once('response', (response: IncomingMessage) => {
        reader.response = response;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => reader.take(chunk));
        response.once('close', () => reader.end(new Error('the event stream closed')));
        response.once('error', (error) => reader.end(error));
        resolve();
      });
      request.end();
    });
    return reader;
  }

  /** The response's status. */
  get status(): number {
    return this.response!.statusCode!;
  }

  /** Resolves with the first event from index `from` on that `matches`; fails after `deadline` ms. */
  async next(
    matches: (event: PageEvent) => boolean,
    deadline: number,
    from = 0,
  ): Promise<{ event: PageEvent; index: number }> {
    const end = Date.now() + deadline;
    for (;;) {
      const index = this.events.findIndex((event, at) => at >= from && matches(event));
      if (index >= 0) return { event: this.events[index]!, index };
      if (this.closedBy !== undefined) throw this.closedBy;
      const left = end - Date.now();
      if (left <= 0) throw new Error('no matching event in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The parsed data of every update so far. */
  updates(): StatusPageUpdate[] {
    return this.events
      .filter((event) => event.event === 'update')
      .map((event) => JSON.parse(event.data) as StatusPageUpdate);
  }

  /** The parsed first snapshot. */
  snapshot(): StatusPageSnapshot {
    const first = this.events.find((event) => event.event === 'snapshot');
    return JSON.parse(first!.data) as StatusPageSnapshot;
  }

  close(): void {
    this.request.destroy();
  }

  private take(chunk: string): void {
    this.buffer += chunk;
    let end = this.buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) this.events.push({ event, data: data.join('\n') });
      end = this.buffer.indexOf('\n\n');
    }
    this.wake();
  }

  private end(error: Error): void {
    this.closedBy ??= error;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
