/**
 * The panel's cookies: the session id and, before sign-in, the seed of the
 * login form's CSRF token. HttpOnly, SameSite=Lax (the OAuth callback is a
 * top-level GET from Microsoft, which Lax lets through), Secure when the
 * public URL is https.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AdminEnv } from './env.js';

export const SESSION_COOKIE = 'relay365_session';
export const ANON_COOKIE = 'relay365_anon';

export interface CookieJar {
  get(c: Context<AdminEnv>, name: string): string | undefined;
  set(c: Context<AdminEnv>, name: string, value: string, maxAgeSeconds?: number): void;
  remove(c: Context<AdminEnv>, name: string): void;
}

/** Cookie access with the panel's attributes; `secure` when the public URL is https. */
export function createCookieJar(publicUrl: string): CookieJar {
  const secure = new URL(publicUrl).protocol === 'https:';
  const attributes = { httpOnly: true, sameSite: 'Lax', secure, path: '/' } as const;
  return {
    get: (c, name) => getCookie(c, name),
    set: (c, name, value, maxAgeSeconds) =>
      setCookie(c, name, value, { ...attributes, ...(maxAgeSeconds ? { maxAge: maxAgeSeconds } : {}) }),
    remove: (c, name) => deleteCookie(c, name, attributes),
  };
}
