/** The version of Discord's HTTP API this library calls (`GET /gateway/bot`). */
export const DISCORD_API_VERSION = 10;

/**
 * The versioned base of Discord's HTTP API for an `api` value. discord.js's `rest.api` takes the
 * unversioned base (`https://discord.com/api`) and this library took `…/api/v10`: both forms
 * work, since a base ending in `/api` gets `/v10`. Trailing slashes are dropped. A base with a
 * version of its own (`…/api/v9`), or that does not end in `/api` (a proxy's own path), is kept.
 */
export function versionedApiBase(api: string): string {
  const base = api.replace(/\/+$/, '');
  return /\/api$/i.test(base) ? `${base}/v${DISCORD_API_VERSION}` : base;
}
