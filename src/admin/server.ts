/**
 * Runs the admin panel on RELAY365_ADMIN_LISTEN in the relay's process:
 * creates the first Super Admin (or prints the setup link), then serves the app
 * with @hono/node-server.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { bootstrapFirstAdmin } from './accounts.js';
import { createAdminApp, type AdminAppOptions } from './app.js';
import type { AdminDeps } from './env.js';

export interface AdminServer {
  address: AddressInfo;
  close(): Promise<void>;
}

/** Starts the panel; resolves once it listens. */
export async function startAdmin(deps: AdminDeps, options: AdminAppOptions = {}): Promise<AdminServer> {
  const { config, store, log } = deps;
  await bootstrapFirstAdmin({
    store,
    publicUrl: config.publicUrl,
    adminEmail: config.adminEmail,
    adminPassword: config.adminPassword,
    log,
  });
  const app = createAdminApp(deps, options);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(`admin panel cannot listen on ${config.adminListen.host}:${config.adminListen.port}: ${err.code ?? err.message}`));
    };
    server.once('error', onError);
    server.listen(config.adminListen.port, config.adminListen.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  log.info('admin panel listening', { admin: `${address.address}:${address.port}`, publicUrl: config.publicUrl });
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        // Live log tails keep their connection open; end them with the server.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
