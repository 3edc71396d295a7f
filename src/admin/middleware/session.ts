/**
 * Loads the signed-in user from the session cookie into `c.var.user` and
 * `c.var.session` (both null when signed out or expired).
 */
import type { MiddlewareHandler } from 'hono';
import type { StoreSlice } from '../../store/index.js';
import { SESSION_COOKIE, type CookieJar } from '../cookies.js';
import type { AdminEnv } from '../env.js';

export interface SessionOptions {
  store: StoreSlice<{ sessions: 'touch'; users: 'get' }>;
  cookies: CookieJar;
}

/** Session middleware. */
export function sessionMiddleware({ store, cookies }: SessionOptions): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    c.set('user', null);
    c.set('session', null);
    const id = cookies.get(c, SESSION_COOKIE);
    const session = id ? await store.sessions.touch(id) : undefined;
    const user = session ? await store.users.get(session.userId) : undefined;
    if (session && user) {
      c.set('session', session);
      c.set('user', user);
    } else if (id) {
      cookies.remove(c, SESSION_COOKIE);
    }
    await next();
  };
}
