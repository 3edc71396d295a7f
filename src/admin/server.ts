/**
 * Runs the admin panel on RELAY365_ADMIN_LISTEN in the relay's process: binds
 * the address first (a busy one is a ConfigError, before anything is
 * printed), then creates the first Super Admin (or prints the setup link) and
 * logs the address browsers should open: RELAY365_PUBLIC_URL, with a warning
 * when that names another port than the panel listens on.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { Config } from '../config.js';
import { listenRefusal, listenText } from '../listen-refusal.js';
import { bootstrapFirstAdmin } from './accounts.js';
import { createAdminApp, type AdminAppOptions } from './app.js';
import type { AdminDeps } from './env.js';

export interface AdminServer {
  address: AddressInfo;
  close(): Promise<void>;
}

/**
 * The warning to log when RELAY365_PUBLIC_URL names another port than RELAY365_ADMIN_LISTEN listens on,
 * or null when they agree. An https URL or named trusted proxies mean a reverse proxy serves the panel
 * on a port of its own (relay365 itself speaks plain http), and port 0 is known only once bound.
 */
export function publicUrlWarning(config: Pick<Config, 'publicUrl' | 'adminListen' | 'trustedProxies'>): string | null {
  const url = new URL(config.publicUrl);
  const listen = config.adminListen;
  if (url.protocol === 'https:' || config.trustedProxies.length > 0 || listen.port === 0) return null;
  const port = Number(url.port || '80');
  if (port === listen.port) return null;
  return (
    `RELAY365_PUBLIC_URL=${config.publicUrl} names port ${port}, but RELAY365_ADMIN_LISTEN=${listenText(listen)} listens on port ${listen.port}: ` +
    'browsers, the setup link and the Office 365 Redirect URI use the URL. Correct RELAY365_PUBLIC_URL or leave it unset; ' +
    `if a reverse proxy serves the panel on port ${port}, name it in RELAY365_TRUSTED_PROXIES.`
  );
}

/** Starts the panel; resolves once it listens, rejects with a ConfigError naming RELAY365_ADMIN_LISTEN when its address cannot be bound. */
export async function startAdmin(deps: AdminDeps, options: AdminAppOptions = {}): Promise<AdminServer> {
  const { config, store, log } = deps;
  const app = createAdminApp(deps, options);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(listenRefusal('RELAY365_ADMIN_LISTEN', config.adminListen, err.code ?? err.message));
    };
    server.once('error', onError);
    server.listen(config.adminListen.port, config.adminListen.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // A listening server's later errors (out of file descriptors on accept, say) are logged, not fatal.
  server.on('error', (err: NodeJS.ErrnoException) =>
    log.error('admin panel server error', { alert: true, code: err.code, error: err.message }),
  );
  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      // Live log tails keep their connection open; end them with the server.
      server.closeAllConnections();
      server.close(() => resolve());
    });
  try {
    await bootstrapFirstAdmin({
      store,
      publicUrl: config.publicUrl,
      adminEmail: config.adminEmail,
      adminPassword: config.adminPassword,
      log,
    });
  } catch (err) {
    await close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  // Browsers must use the public URL: the session cookie and the OAuth redirect URI belong to its host.
  log.info(`admin panel listening: open ${config.publicUrl}`, { url: config.publicUrl, listen: `${address.address}:${address.port}` });
  const mismatch = publicUrlWarning(config);
  if (mismatch !== null) log.warn(mismatch, { url: config.publicUrl, listen: listenText(config.adminListen) });
  return { address, close };
}
