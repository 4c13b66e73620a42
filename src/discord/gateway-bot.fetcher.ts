import { setTimeout as delay } from 'node:timers/promises';
import { versionedApiBase } from '../options/discord-api.js';
import { GatewayUnavailableError, MissingTokenError, TokenInvalidError } from './discord.errors.js';

/** The part of Discord's `GET /gateway/bot` answer this library uses. */
export interface GatewayBotInfo {
  /** The gateway URL. */
  url: string;
  /** The recommended shard count. */
  shards: number;
  session_start_limit: {
    total: number;
    remaining: number;
    reset_after: number;
    max_concurrency: number;
  };
}

/** Options of {@link fetchGatewayBot}. */
export interface FetchGatewayBotOptions {
  /**
   * API base URL: `https://discord.com/api` (discord.js's form, given `/v10`) or a versioned one
   * such as `https://discord.com/api/v10`.
   */
  api: string;
  /** The bot token, with or without its `Bot ` prefix; without one, Discord is not asked. */
  token: string | undefined;
  /** Attempts before giving up on network errors and 5xx answers. Default 5. */
  attempts?: number;
  /** First backoff delay, in ms, doubled after each failure. Default 500. */
  backoff?: number;
  /** Time limit of each attempt, in ms. Default 10000. */
  timeout?: number;
  /** Cancels the call (its retries and their waits included). Default: none. */
  signal?: AbortSignal;
}

/**
 * Asks Discord for the recommended shard count and the identify limits, retrying network errors,
 * 5xx and 429 answers with backoff. No token is a {@link MissingTokenError} before any request; a
 * token Discord refuses is a {@link TokenInvalidError} at once; an API that stays unreachable, or
 * answers another 4xx (a 404 for a base URL that is not the API's), is a
 * {@link GatewayUnavailableError}.
 */
export async function fetchGatewayBot(options: FetchGatewayBotOptions): Promise<GatewayBotInfo> {
  const url = `${versionedApiBase(options.api)}/gateway/bot`;
  const token = options.token?.replace(/^Bot\s+/i, '').trim();
  if (token === undefined || token === '') throw new MissingTokenError(url);
  const attempts = options.attempts ?? 5;
  let wait = options.backoff ?? 500;
  let lastError: unknown;
  let made = 0;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    made = attempt;
    try {
      const response = await fetch(url, {
        headers: { Authorization: `Bot ${token}` },
        signal: AbortSignal.any([
          AbortSignal.timeout(options.timeout ?? 10_000),
          ...(options.signal ? [options.signal] : []),
        ]),
      });
      if (response.status === 401 || response.status === 403) {
        throw new TokenInvalidError(`HTTP ${response.status}`);
      }
      if (response.ok) {
        const body = (await response.json()) as GatewayBotInfo;
        if (!Number.isSafeInteger(body?.shards) || body.shards < 1) {
          throw new Error(
            `the answer has no valid "shards": ${JSON.stringify(body).slice(0, 200)}`,
          );
        }
        return body;
      }
      const retryAfter = Number(response.headers.get('retry-after'));
      if (response.status === 429 && Number.isFinite(retryAfter))
        wait = Math.max(wait, retryAfter * 1000);
      lastError = new Error(
        response.status === 404
          ? "HTTP 404: no such path; the api option must be the base URL of Discord's API, " +
              "such as 'https://discord.com/api' or 'https://discord.com/api/v10'"
          : `HTTP ${response.status}`,
      );
      if (response.status < 500 && response.status !== 429) break;
    } catch (error) {
      if (error instanceof TokenInvalidError) throw error;
      options.signal?.throwIfAborted();
      lastError = error;
    }
    if (attempt < attempts) {
      await delay(wait, undefined, { signal: options.signal });
      wait *= 2;
    }
  }
  throw new GatewayUnavailableError(url, made, lastError);
}
