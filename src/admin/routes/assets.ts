/**
 * The stylesheet and the enhancement script, served from memory.
 */
import { Hono } from 'hono';
import { CLIENT_SCRIPT } from '../assets/client-script.js';
import { STYLESHEET } from '../assets/style.js';
import type { AdminEnv } from '../env.js';

/** Routes under /assets. */
export function assetRoutes(): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const cache = 'public, max-age=3600';
  app.get('/style.css', (c) => c.body(STYLESHEET, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': cache }));
  app.get('/app.js', (c) => c.body(CLIENT_SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': cache }));
  return app;
}
