/**
 * The stylesheet, the enhancement script and the icon, served from memory.
 */
import { Hono, type Context } from 'hono';
import { CLIENT_SCRIPT } from '../assets/client-script.js';
import { FAVICON_SVG } from '../assets/favicon.js';
import { STYLESHEET } from '../assets/style.js';
import type { AdminEnv } from '../env.js';

const CACHE = 'public, max-age=3600';

/** The icon as SVG, at its own path and at `/favicon.ico`, where browsers and tools look without a link. */
export function favicon(c: Context<AdminEnv>): Response {
  return c.body(FAVICON_SVG, 200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': CACHE });
}

/** Routes under /assets. */
export function assetRoutes(): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.get('/style.css', (c) => c.body(STYLESHEET, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': CACHE }));
  app.get('/app.js', (c) => c.body(CLIENT_SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': CACHE }));
  app.get('/favicon.svg', favicon);
  return app;
}
