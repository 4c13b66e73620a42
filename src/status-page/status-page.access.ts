import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from '../common/loopback-host.js';
import { STATUS_PAGE_DEFAULTS } from './status-page.constants.js';

/** Why a request was refused: the HTTP status and a short plain-text reason. */
export interface AccessRefusal {
  status: number;
  reason: string;
}

// Hashing first gives both sides the same length, so the comparison's time says nothing about
// the token's length or its first differing character.
const digest = (value: string) => createHash('sha256').update(value).digest();

/** Whether `given` is `token`, compared in constant time. */
export function tokenMatches(given: string | undefined, token: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(token));
}

/** The token of an `Authorization: Bearer …` header. */
export function bearerToken(request: IncomingMessage): string | undefined {
  const match = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

/**
 * The value the page's cookie keeps: a key derived from the token that lets a browser read the
 * page, never the token itself. Cookies are not kept apart by port, so another service on the same
 * host name receives it; it cannot run an action with it (actions need the token in a header).
 */
export function readKey(token: string): string {
  return createHmac('sha256', token).update('nestjs-sharding status page: read').digest('hex');
}

/** The name of the page's cookie on `port` (one per port, as pages on two ports differ). */
export function cookieName(port: number): string {
  return `${STATUS_PAGE_DEFAULTS.cookie}_${port}`;
}

/** The read key kept in the page's cookie on `port`. */
export function cookieReadKey(request: IncomingMessage, port: number): string | undefined {
  const wanted = cookieName(port);
  for (const pair of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = pair.trim().split('=');
    if (name === wanted) return value.join('=');
  }
  return undefined;
}

/** The `Set-Cookie` value that keeps the read key of `token` for the page's own requests. */
export function readKeyCookie(token: string, port: number): string {
  return `${cookieName(port)}=${readKey(token)}; HttpOnly; SameSite=Strict; Path=/`;
}

/** Whether a request may read the page: the token as a Bearer header, or the cookie's read key. */
export function mayRead(request: IncomingMessage, token: string, port: number): boolean {
  const bearer = bearerToken(request);
  if (bearer !== undefined) return tokenMatches(bearer, token);
  return tokenMatches(cookieReadKey(request, port), readKey(token));
}

/**
 * Refuses a request whose `Host` is not this machine while the page listens on loopback: a
 * hostile site that points its own name at 127.0.0.1 (DNS rebinding) would otherwise read the
 * page as same-origin.
 */
export function hostRefusal(
  request: IncomingMessage,
  boundHost: string,
): AccessRefusal | undefined {
  if (!isLoopbackHost(boundHost)) return undefined;
  const host = request.headers.host;
  const name = host === undefined ? '' : host.replace(/:\d+$/, '');
  return isLoopbackHost(name)
    ? undefined
    : { status: 403, reason: 'This page answers only requests addressed to this machine.' };
}

/**
 * Refuses an action that a page of another site could have sent: its `Origin` must be this
 * page's own, and `Sec-Fetch-Site`, which browsers set, must say `same-origin`. Tools such as
 * curl send neither, and are held by the token alone.
 */
export function crossSiteRefusal(request: IncomingMessage): AccessRefusal | undefined {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') {
    return { status: 403, reason: `Refused: a ${String(site)} request cannot run an action.` };
  }
  // Compared by host and port only: behind a proxy that terminates TLS the page's own origin is
  // https while the request reaching the manager is plain http.
  const origin = request.headers.origin;
  if (origin !== undefined && originHost(origin) !== (request.headers.host ?? '').toLowerCase()) {
    return { status: 403, reason: 'Refused: the request comes from another origin.' };
  }
  return undefined;
}

/** The `host[:port]` of an `Origin` header; `null` for one that is not a URL (`null`, say). */
function originHost(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return null;
  }
}
