/**
 * The SMTP listener on its own (no scheduler), over a fixture's store, wired
 * like the relay wires it: access rules, relay-user AUTH, the TLS identity.
 */
import { silentLogger } from '../../src/log.js';
import { createAccess } from '../../src/relay/access.js';
import { createCommitter } from '../../src/relay/committer.js';
import type { FreeSpaceProbe } from '../../src/relay/free-space.js';
import { createListener, type Listener } from '../../src/relay/listener.js';
import { createRefusals } from '../../src/relay/refusals.js';
import { createRelayAuth } from '../../src/relay/relay-auth.js';
import { createSpool, type Spool, type SpoolBodies } from '../../src/relay/spool.js';
import { loadTlsIdentity } from '../../src/relay/tls-identity.js';
import type { Fixture } from './fixture.js';

export interface TestListener {
  listener: Listener;
  spool: Spool;
  port: number;
  smtpsPort: number;
  close(): Promise<void>;
}

export interface TestListenerOptions {
  socketTimeoutMs?: number;
  /** Idle time outside a mail transaction. */
  sessionIdleMs?: number;
  /** Drives lockout times and the free-space cache. */
  now?: () => number;
  /** Free bytes in the data folder (a full disk without filling one). */
  freeSpace?: FreeSpaceProbe;
  /** Stores body chunks in place of the store (a write that fails mid-message). */
  bodies?: SpoolBodies;
}

/** Starts a listener on the fixture's config. */
export async function startTestListener(fx: Fixture, options: TestListenerOptions = {}): Promise<TestListener> {
  const now = options.now ?? Date.now;
  const spool = createSpool(options.bodies ?? fx.store.bodies);
  const committer = createCommitter(fx.store, () => undefined);
  const refusals = createRefusals({ store: fx.store, log: silentLogger, now });
  const listener = createListener({
    config: fx.config,
    servers: fx.store.servers,
    access: createAccess({ config: fx.config, store: fx.store }),
    auth: createRelayAuth({ store: fx.store, log: silentLogger, now }),
    tls: await loadTlsIdentity(fx.config),
    spool,
    committer,
    log: silentLogger,
    now,
    socketTimeoutMs: options.socketTimeoutMs,
    sessionIdleMs: options.sessionIdleMs,
    freeSpace: options.freeSpace,
    refusals,
  });
  const addresses = await listener.start();
  return {
    listener,
    spool,
    port: addresses.smtp.port,
    smtpsPort: addresses.smtps?.port ?? 0,
    close: async () => {
      await listener.close();
      await refusals.flush();
    },
  };
}
