/**
 * Runs the admin panel on RELAY365_ADMIN_LISTEN in the relay's process: binds
 * the address first (a busy one is a ConfigError, before anything is
 * printed), then creates the first Super Admin (or prints the setup link) and
 * logs the address browsers should open: RELAY365_PUBLIC_URL.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { listenRefusal } from '../listen-refusal.js';
import { bootstrapFirstAdmin } from './accounts.js';
import { createAdminApp, type AdminAppOptions } from './app.js';
import type { AdminDeps } from './env.js';

export interface AdminServer {
  address: AddressInfo;
  close(): Promise<void>;
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
  return { address, close };
}
