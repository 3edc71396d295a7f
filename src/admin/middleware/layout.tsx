/**
 * Sets the renderer behind `c.render(content, { title, status })`: the page
 * inside the one Layout, with the secret expiry banner and the flash message.
 * Pages are never cached: they show live state and carry a CSRF token.
 */
import type { MiddlewareHandler } from 'hono';
import { html } from 'hono/html';
import type { StoreSlice } from '../../store/index.js';
import type { AdminEnv } from '../env.js';
import { takeFlash } from '../flash.js';
import { expiringSecrets } from '../secret-expiry.js';
import { Layout } from '../views/layout.js';

export interface LayoutOptions {
  store: StoreSlice<{ sessions: 'takeFlash'; servers: 'list' }>;
  now: () => number;
}

/** Layout renderer middleware. */
export function layoutRenderer({ store, now }: LayoutOptions): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    c.setRenderer(async (content, { title, status = 200 }) => {
      const user = c.var.user;
      const flash = await takeFlash(c, store);
      const warnings = user ? expiringSecrets(await store.servers.list(), now()) : [];
      const page = (
        <Layout title={title} user={user} csrfToken={c.var.csrfToken ?? ''} flash={flash} warnings={warnings}>
          {content}
        </Layout>
      );
      c.header('Cache-Control', 'no-store');
      return c.html(html`<!DOCTYPE html>${page}`, status);
    });
    await next();
  };
}
