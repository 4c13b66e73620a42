import { createHash, timingSafeEqual } from 'node:crypto';
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

/** The token kept in the page's cookie. */
export function cookieToken(request: IncomingMessage): string | undefined {
  for (const pair of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = pair.trim().split('=');
    if (name === STATUS_PAGE_DEFAULTS.cookie) {
      try {
        return decodeURIComponent(value.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The `Set-Cookie` value that keeps `token` for the page's own requests only. */
export function tokenCookie(token: string): string {
  return (
    `${STATUS_PAGE_DEFAULTS.cookie}=${encodeURIComponent(token)}; ` +
    'HttpOnly; SameSite=Strict; Path=/'
  );
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
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${request.headers.host ?? ''}`) {
    return { status: 403, reason: 'Refused: the request comes from another origin.' };
  }
  return undefined;
}
