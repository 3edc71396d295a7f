/**
 * The relay: spool, committer, SMTP listener and scheduler wired together over
 * one store. `createRelay` builds it; nothing starts until `start()`.
 */
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { createCommitter } from './committer.js';
import { connectServer } from './connect.js';
import { createListener } from './listener.js';
import { recover } from './recovery.js';
import { createScheduler, type Scheduler } from './scheduler.js';
import { createSpool, type Spool } from './spool.js';

export interface RelayOptions {
  config: Config;
  store: Store;
  log: Logger;
  now?: () => number;
  /** How often the scheduler looks for settings changed by the CLI. */
  pollMs?: number;
}

export interface Relay {
  spool: Spool;
  scheduler: Scheduler;
  start(): Promise<{ smtp: AddressInfo; smtps: AddressInfo | null }>;
  stop(): Promise<void>;
}

/** Builds the relay; `start()` recovers the queue, then listens and delivers. */
export function createRelay({ config, store, log, now = Date.now, pollMs }: RelayOptions): Relay {
  const spool = createSpool(path.join(config.dataDir, 'spool'));
  const scheduler = createScheduler({ store, spool, log, now, pollMs, connect: (server) => connectServer(server, store, log) });
  const committer = createCommitter(spool, store.queue, () => scheduler.poke());
  const listener = createListener({ config, servers: store.servers, spool, committer, log, now });
  return {
    spool,
    scheduler,
    async start() {
      await recover(store.queue, spool, log, now());
      const addresses = await listener.start();
      scheduler.start();
      log.info('relay365 listening', {
        smtp: `${addresses.smtp.address}:${addresses.smtp.port}`,
        smtps: addresses.smtps ? `${addresses.smtps.address}:${addresses.smtps.port}` : null,
      });
      return addresses;
    },
    async stop() {
      await listener.close();
      await committer.drain();
      await scheduler.stop();
    },
  };
}
