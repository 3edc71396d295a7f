/**
 * Sends signed-out visitors to the login page, except on the public paths
 * (login, setup, the OAuth callback and the stylesheet/script).
 */
import type { MiddlewareHandler } from 'hono';
import type { AdminEnv } from '../env.js';

export interface RequireLoginOptions {
  /** Path prefixes open without a session. */
  publicPaths: readonly string[];
}

/** Login-required middleware. */
export function requireLogin({ publicPaths }: RequireLoginOptions): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    if (c.var.user || publicPaths.some((p) => c.req.path === p || c.req.path.startsWith(`${p}/`))) return next();
    const url = new URL(c.req.url);
    const back = c.req.method === 'GET' ? `?next=${encodeURIComponent(url.pathname + url.search)}` : '';
    return c.redirect(`/login${back}`, 303);
  };
}
