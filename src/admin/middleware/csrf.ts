/**
 * CSRF protection for every state-changing request: forms carry a per-session
 * token in the hidden `_csrf` field (derived from the session id, so nothing
 * extra is stored and a leaked token does not reveal the id), compared in
 * constant time; a present `Origin` must be the panel's own.
 * Before sign-in the token is derived from a random `relay365_anon` cookie.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ANON_COOKIE, SESSION_COOKIE, type CookieJar } from '../cookies.js';
import type { AdminEnv } from '../env.js';

export const CSRF_FIELD = '_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CsrfOptions {
  cookies: CookieJar;
  publicUrl: string;
  /** Answers a refused request (a 403 page). */
  onRefused: MiddlewareHandler<AdminEnv>;
}

/** The form token for a session id or anonymous seed. */
export function csrfTokenFor(seed: string): string {
  return createHmac('sha256', seed).update('relay365 csrf v1').digest('base64url');
}

function sameToken(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** CSRF middleware: sets `c.var.csrfToken`, refuses unsafe requests without it. */
export function csrfProtection({ cookies, publicUrl, onRefused }: CsrfOptions): MiddlewareHandler<AdminEnv> {
  const publicOrigin = new URL(publicUrl).origin;
  return async (c, next) => {
    let seed = c.var.session ? cookies.get(c, SESSION_COOKIE) : cookies.get(c, ANON_COOKIE);
    if (!seed) {
      seed = randomBytes(32).toString('base64url');
      cookies.set(c, ANON_COOKIE, seed);
    }
    const token = csrfTokenFor(seed);
    c.set('csrfToken', token);
    if (SAFE_METHODS.has(c.req.method)) return next();

    const origin = c.req.header('origin');
    const crossOrigin = origin !== undefined && origin !== publicOrigin && origin !== new URL(c.req.url).origin;
    const crossSite = c.req.header('sec-fetch-site') === 'cross-site';
    const type = c.req.header('content-type') ?? '';
    const isForm = type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data');
    const body = isForm ? await c.req.parseBody() : {};
    if (crossOrigin || crossSite || !sameToken(body[CSRF_FIELD], token)) return onRefused(c, next);
    return next();
  };
}
