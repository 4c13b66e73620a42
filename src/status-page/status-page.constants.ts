import { DEFAULT_STATUS_PAGE_HOST } from '../options/options.constants.js';

/**
 * The fixed settings of the status page. Frozen: read it, do not change it.
 */
export const STATUS_PAGE_DEFAULTS = Object.freeze({
  /** Where the page listens unless `statusPage.host` says otherwise: this machine only. */
  host: DEFAULT_STATUS_PAGE_HOST,
  /** Heartbeat round trips kept per instance for its chart (at 5 s heartbeats: 10 minutes). */
  roundTripSamples: 120,
  /** Restarts and failures kept for the page, newest first. */
  failures: 50,
  /** Shortest time between two updates sent to the page's clients, in ms (coalesced). */
  updateInterval: 500,
  /** Time between two SSE comments that keep idle proxies from closing the stream, in ms. */
  keepAliveInterval: 15_000,
  /** Clients streaming `/events` at once; more are refused with 503. */
  maxEventClients: 16,
  /** Largest request body accepted, in bytes (actions take none). */
  maxBodyBytes: 1_024,
  /** Name of the cookie that keeps the token after `?token=`. */
  cookie: 'nss_status_token',
});
