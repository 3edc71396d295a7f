/**
 * relay365 as one process runs it — relay and admin panel over one store —
 * in front of the Microsoft 365 emulator, for the browser tests and the demo.
 * The app registration gets the panel's real redirect URI (the emulator
 * compares it exactly).
 */
import { silentLogger, type Logger } from '../../src/log.js';
import { startAdmin, type AdminServer } from '../../src/admin/server.js';
import { createAlerts } from '../../src/alerts/engine.js';
import { createOperations } from '../../src/ops/index.js';
import { createMetrics } from '../../src/metrics.js';
import { relay365Version } from '../../src/version.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { SEED, startEmulator, type Emulator, type SigningKey } from '../emulator/index.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { freePort } from '../helpers/relay-process.js';

export interface Stack {
  emu: Emulator;
  fx: Fixture;
  relay: Relay;
  admin: AdminServer;
  /** `http://localhost:PORT`: the panel, as RELAY365_PUBLIC_URL says. */
  baseUrl: string;
  redirectUri: string;
  smtpPort: number;
  close(): Promise<void>;
}

export interface StackOptions {
  adminEmail: string;
  adminPassword: string;
  /** Admin port; default a free one. */
  adminPort?: number;
  signingKey?: SigningKey;
  log?: Logger;
}

/**
 * Starts the emulator and relay365 over a fresh data folder. A start that fails part-way
 * closes what it had started and removes the folder before it rejects.
 */
export async function startStack({ adminEmail, adminPassword, adminPort, signingKey, log = silentLogger }: StackOptions): Promise<Stack> {
  // Closed in reverse order; each runs even when an earlier one fails, so the folder is always removed.
  const closers: Array<() => unknown> = [];
  const close = async (): Promise<void> => {
    let first: unknown = null;
    for (const closer of closers.splice(0).reverse()) {
      try {
        await closer();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== null) throw first;
  };
  try {
    const port = adminPort ?? (await freePort());
    const baseUrl = `http://localhost:${port}`;
    const emu = await startEmulator({ signingKey });
    closers.push(() => emu.close());
    const redirectUri = `${baseUrl}/oauth/office365/callback`;
    const app = emu.directory.getApp(SEED.tenantId, SEED.clientId);
    if (!app.redirectUris.includes(redirectUri)) app.redirectUris.push(redirectUri);
    const fx = createFixture({
      RELAY365_ADMIN_LISTEN: `127.0.0.1:${port}`,
      RELAY365_PUBLIC_URL: baseUrl,
      RELAY365_ADMIN_EMAIL: adminEmail,
      RELAY365_ADMIN_PASSWORD: adminPassword,
    });
    closers.push(() => fx.cleanup());
    // Wired as src/main.ts wires them: metrics and readiness, and the alerts engine.
    const metrics = createMetrics({ version: relay365Version(), nodeVersion: process.version, instanceId: 'relay-test' });
    const relay = createRelay({ config: fx.config, store: fx.store, log, pollMs: 100, metrics });
    const ops = createOperations({ config: fx.config, store: fx.store, relay, metrics });
    const alerts = createAlerts({ config: fx.config, store: fx.store, relay, log });
    const { smtp } = await relay.start();
    closers.push(() => relay.stop());
    const admin = await startAdmin({ config: fx.config, store: fx.store, relay, log, ops, alerts });
    closers.push(() => admin.close());
    alerts.start();
    closers.push(() => alerts.stop());
    return { emu, fx, relay, admin, baseUrl, redirectUri, smtpPort: smtp.port, close };
  } catch (err) {
    // The start's own error is the one worth reporting; a failure to close after it is not.
    await close().catch(() => undefined);
    throw err;
  }
}
