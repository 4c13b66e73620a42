import type { ServerResponse } from 'node:http';
import type { Subscription } from 'rxjs';
import { STATUS_PAGE_DEFAULTS } from './status-page.constants.js';
import type { StatusPageState } from './status-page.state.js';

/** Unsent bytes a client may lag behind before it is dropped (a stalled reader). */
const MAX_CLIENT_BACKLOG = 1024 * 1024;

/**
 * The clients of `/events` (server-sent events): each gets a snapshot, then the updates of the
 * state, coalesced to at most one per `updateInterval`, and a comment every `keepAliveInterval`
 * so that proxies keep the stream open. Clients are bounded in number and dropped when they
 * close or stop reading. Nothing runs while no client is connected.
 */
export class StatusPageEvents {
  private readonly clients = new Set<ServerResponse>();
  private flushTimer: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private readonly changes: Subscription;

  constructor(private readonly state: StatusPageState) {
    this.changes = state.change$.subscribe(() => this.schedule());
  }

  /** Clients streaming now. */
  get size(): number {
    return this.clients.size;
  }

  /** Whether one more client may connect. */
  get full(): boolean {
    return this.clients.size >= STATUS_PAGE_DEFAULTS.maxEventClients;
  }

  /** Starts streaming to `response`: headers are the caller's; sends the snapshot. */
  add(response: ServerResponse): void {
    if (this.clients.size === 0) {
      // Changes made while nobody watched are in the snapshot: drop them as an update.
      this.state.takeUpdate();
      this.keepAliveTimer = setInterval(
        () => this.write(': keep-alive\n\n'),
        STATUS_PAGE_DEFAULTS.keepAliveInterval,
      ).unref();
    }
    this.clients.add(response);
    response.once('close', () => this.remove(response));
    response.write(
      `retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(this.state.snapshot())}\n\n`,
    );
  }

  /** Ends every stream and stops the timers. */
  close(): void {
    this.changes.unsubscribe();
    for (const client of this.clients) client.end();
    this.clients.clear();
    this.stopTimers();
  }

  private remove(response: ServerResponse): void {
    if (!this.clients.delete(response)) return;
    if (this.clients.size === 0) this.stopTimers();
  }

  private stopTimers(): void {
    clearTimeout(this.flushTimer);
    clearInterval(this.keepAliveTimer);
    this.flushTimer = undefined;
    this.keepAliveTimer = undefined;
  }

  private schedule(): void {
    if (this.clients.size === 0 || this.flushTimer !== undefined) return;
    const wait = Math.max(0, this.lastFlush + STATUS_PAGE_DEFAULTS.updateInterval - Date.now());
    this.flushTimer = setTimeout(() => this.flush(), wait).unref();
  }

  private flush(): void {
    this.flushTimer = undefined;
    this.lastFlush = Date.now();
    const update = this.state.takeUpdate();
    if (update !== undefined) this.write(`event: update\ndata: ${JSON.stringify(update)}\n\n`);
  }

  // One serialization for every client.
  private write(chunk: string): void {
    for (const client of this.clients) {
      if (client.writableLength > MAX_CLIENT_BACKLOG) {
        client.destroy();
        this.remove(client);
        continue;
      }
      client.write(chunk);
    }
  }
}
