import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { once } from 'node:events';
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { ShardingManager } from '../manager/sharding.manager.js';
import { RESOLVED_SHARDING_OPTIONS } from '../options/options.constants.js';
import type { ResolvedShardingOptions } from '../options/resolve-options.js';
import {
  bearerToken,
  crossSiteRefusal,
  hostRefusal,
  mayRead,
  readKeyCookie,
  tokenMatches,
  type AccessRefusal,
} from './status-page.access.js';
import { STATUS_PAGE_DEFAULTS } from './status-page.constants.js';
import { StatusPageListenError } from './status-page.errors.js';
import { StatusPageEvents } from './status-page.events.js';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './status-page.html.js';
import { StatusPageState } from './status-page.state.js';

/** Headers of every answer: nothing cached, nothing sniffed, never framed, no referrer leaked. */
const COMMON_HEADERS: OutgoingHttpHeaders = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': STATUS_PAGE_CSP,
};

type Route = 'page' | 'json' | 'events' | 'restart' | 'rolling-restart';

const ROUTES = new Map<string, Route>([
  ['/', 'page'],
  ['/status.json', 'json'],
  ['/events', 'events'],
  ['/actions/rolling-restart', 'rolling-restart'],
]);
const RESTART_PATH = /^\/actions\/restart\/(\d{1,6})$/;

/**
 * The status page (`statusPage` option), served by the manager with `node:http`: `/` (the page),
 * `/status.json`, `/events` (server-sent events) and the actions `POST /actions/restart/:instance`
 * and `POST /actions/rolling-restart`. Listens when the application bootstraps, closes on
 * shutdown; a listening failure fails the start-up with {@link StatusPageListenError}.
 */
@Injectable()
export class StatusPageServer
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('StatusPage');
  private server: Server | undefined;
  private events: StatusPageEvents | undefined;
  /** The rolling restart the page started, while it runs. */
  private rolling: Promise<unknown> | undefined;
  /** Set once the application shuts down: actions are refused from then on. */
  private stopping = false;

  constructor(
    private readonly manager: ShardingManager,
    private readonly state: StatusPageState,
    @Inject(RESOLVED_SHARDING_OPTIONS) private readonly options: ResolvedShardingOptions,
  ) {}

  /**
   * The page's address once listening (`http://127.0.0.1:port/`; the actual port when
   * `statusPage.port` is 0), else `undefined`.
   */
  get url(): string | undefined {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (address == null) return undefined;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}/`;
  }

  /** Listens, when `statusPage` is set. */
  async onApplicationBootstrap(): Promise<void> {
    const page = this.options.statusPage;
    if (page === undefined) return;
    const host = page.host ?? STATUS_PAGE_DEFAULTS.host;
    this.events = new StatusPageEvents(this.state);
    const server = createServer((request, response) => this.handle(request, response));
    // Slow or idle clients must not hold sockets for ever; SSE streams are exempt by design.
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    server.listen(page.port, host);
    try {
      await Promise.race([
        once(server, 'listening'),
        once(server, 'error').then(([error]) => Promise.reject(error as Error)),
      ]);
    } catch (error) {
      this.events.close();
      throw new StatusPageListenError(`${host}:${page.port}`, error as Error);
    }
    server.on('error', (error) => this.logger.error(`Status page: ${error.message}`));
    this.server = server;
    this.logger.log(`Status page at ${this.url}`);
  }

  /** Refuses actions from now on: the fleet is stopping. */
  beforeApplicationShutdown(): void {
    this.stopping = true;
  }

  /** Ends the event streams and stops listening. */
  async onApplicationShutdown(): Promise<void> {
    this.events?.close();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const page = this.options.statusPage!;
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://status.invalid');
    } catch {
      return this.refuse(response, { status: 400, reason: 'Malformed request target.' });
    }
    const hostProblem = hostRefusal(request, page.host ?? STATUS_PAGE_DEFAULTS.host);
    if (hostProblem !== undefined) return this.refuse(response, hostProblem);

    const restartMatch = RESTART_PATH.exec(url.pathname);
    const route = restartMatch ? 'restart' : ROUTES.get(url.pathname);
    if (route === undefined) return this.refuse(response, { status: 404, reason: 'Not found.' });
    const isAction = route === 'restart' || route === 'rolling-restart';
    const allowed = isAction ? 'POST' : 'GET, HEAD';
    if (!allowed.split(', ').includes(request.method ?? '')) {
      return this.refuse(response, { status: 405, reason: `Use ${allowed}.` }, { allow: allowed });
    }

    if (isAction) return this.act(request, response, route, Number(restartMatch?.[1]));
    const token = page.token;
    if (token !== undefined) {
      const fromQuery = url.searchParams.get('token');
      if (fromQuery !== null) {
        if (!tokenMatches(fromQuery, token)) {
          return this.refuse(response, { status: 401, reason: 'Wrong token.' });
        }
        // Kept in a cookie the page's script cannot read; the redirect drops it from the URL
        // (and from the history and any copied link).
        url.searchParams.delete('token');
        return this.send(response, 303, '', {
          location: url.pathname + url.search,
          'set-cookie': readKeyCookie(token, this.port),
        });
      }
      if (!mayRead(request, token, this.port)) {
        return this.refuse(response, {
          status: 401,
          reason: 'A token is needed: open the page once with ?token=…',
        });
      }
    }
    if (route === 'page') {
      return this.send(response, 200, STATUS_PAGE_HTML, {
        'content-type': 'text/html; charset=utf-8',
      });
    }
    if (route === 'json') {
      return this.send(response, 200, JSON.stringify(this.state.snapshot()), {
        'content-type': 'application/json; charset=utf-8',
      });
    }
    return this.stream(request, response);
  }

  private stream(request: IncomingMessage, response: ServerResponse): void {
    const events = this.events!;
    if (events.full) {
      return this.refuse(
        response,
        { status: 503, reason: 'Too many open pages.' },
        {
          'retry-after': '10',
        },
      );
    }
    response.writeHead(200, {
      ...COMMON_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    if (request.method === 'HEAD') return void response.end();
    request.socket.setTimeout(0);
    events.add(response);
  }

  private act(
    request: IncomingMessage,
    response: ServerResponse,
    route: 'restart' | 'rolling-restart',
    instance: number,
  ): void {
    const token = this.options.statusPage!.token;
    if (token === undefined) {
      return this.refuse(response, {
        status: 403,
        reason: 'Actions need statusPage.token to be set.',
      });
    }
    if (!tokenMatches(bearerToken(request), token)) {
      return this.refuse(response, {
        status: 401,
        reason: 'Actions need the token in an Authorization: Bearer header.',
      });
    }
    const crossSite = crossSiteRefusal(request);
    if (crossSite !== undefined) return this.refuse(response, crossSite);
    if (this.stopping) {
      return this.refuse(response, { status: 503, reason: 'The fleet is shutting down.' });
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (!(declared <= STATUS_PAGE_DEFAULTS.maxBodyBytes)) return this.tooLarge(request, response);
    let received = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > STATUS_PAGE_DEFAULTS.maxBodyBytes && !refused) {
        refused = true;
        this.tooLarge(request, response);
      }
    });
    request.once('end', () => {
      if (refused) return;
      if (route === 'restart' && !this.manager.instances.includes(instance)) {
        return this.refuse(response, { status: 404, reason: `No instance ${instance}.` });
      }
      if (route === 'rolling-restart' && this.rolling !== undefined) {
        return this.refuse(response, { status: 409, reason: 'A rolling restart is under way.' });
      }
      const label = route === 'restart' ? `restart of instance ${instance}` : 'rolling restart';
      this.logger.log(`Status page: ${label} requested.`);
      const running =
        route === 'restart' ? this.manager.restart(instance) : this.startRollingRestart();
      running.catch((error: Error) =>
        this.logger.warn(`Status page: the ${label} failed: ${error.message}`),
      );
      // Progress shows on the page's stream; the answer does not wait for a whole restart.
      this.send(response, 202, JSON.stringify({ accepted: label }), {
        'content-type': 'application/json; charset=utf-8',
      });
    });
  }

  /** One rolling restart at a time from the page: another POST meanwhile gets 409. */
  private startRollingRestart(): Promise<unknown> {
    const rolling = this.manager.rollingRestart().finally(() => {
      if (this.rolling === rolling) this.rolling = undefined;
    });
    this.rolling = rolling;
    return rolling;
  }

  /** The port the page listens on (the chosen one with `port: 0`). */
  private get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  private tooLarge(request: IncomingMessage, response: ServerResponse): void {
    this.refuse(
      response,
      { status: 413, reason: 'Actions take no body.' },
      { connection: 'close' },
    );
    // The rest of the body is not read: the connection closes once the answer is out.
    request.pause();
  }

  private refuse(
    response: ServerResponse,
    refusal: AccessRefusal,
    headers: OutgoingHttpHeaders = {},
  ): void {
    this.send(response, refusal.status, `${refusal.reason}\n`, {
      'content-type': 'text/plain; charset=utf-8',
      ...headers,
    });
  }

  private send(
    response: ServerResponse,
    status: number,
    body: string,
    headers: OutgoingHttpHeaders,
  ): void {
    if (response.headersSent) return;
    response.writeHead(status, { ...COMMON_HEADERS, ...headers });
    response.end(response.req.method === 'HEAD' ? undefined : body);
  }
}
