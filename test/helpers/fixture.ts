/**
 * Test fixtures: a fresh data folder, config and store per test.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { createStore, type SqliteStore } from '../../src/store/index.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import type { NewMessage } from '../../src/store/queue.js';
import type { ServerSettings } from '../../src/store/servers.js';
import { newServerSettings } from '../../src/auth/server-settings.js';
import type { SpoolEnvelope } from '../../src/relay/spool.js';
import { GENERATED_CERT_FILE, GENERATED_KEY_FILE } from '../../src/data-folder.js';

const CERTS = path.resolve('test/emulator/certs');

export interface Fixture {
  dir: string;
  config: Config;
  /** The store, with its database handle for tests that look behind the seam. */
  store: SqliteStore;
  cleanup(): void;
}

/**
 * A fresh data folder with listeners on port 0 (loopback). The listener's
 * certificate is put where relay365 would generate one (saving a key
 * generation per test): the emulator's `localhost` certificate, which tests trust.
 */
export function createFixture(env: Record<string, string> = {}): Fixture {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay365-test-'));
  copyFileSync(path.join(CERTS, 'localhost.pem'), path.join(dir, GENERATED_CERT_FILE));
  copyFileSync(path.join(CERTS, 'localhost-key.pem'), path.join(dir, GENERATED_KEY_FILE));
  const config = loadConfig({
    RELAY365_DATA_DIR: dir,
    RELAY365_SMTP_LISTEN: '127.0.0.1:0',
    RELAY365_ADMIN_LISTEN: '127.0.0.1:0',
    RELAY365_SECRET_KEY: 'ab'.repeat(32),
    ...env,
  });
  const store = createStore(dir, createSecretBox(Buffer.from('ab'.repeat(32), 'hex')));
  return {
    dir,
    config,
    store,
    cleanup() {
      // SQLite closes at the call; the promise only reports it.
      void store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Settings for a server with no authentication (plain SMTP upstream). */
export function plainServer(overrides: Partial<ServerSettings> = {}): ServerSettings {
  return newServerSettings({ name: 'upstream', method: 'none', secure: 'none', host: '127.0.0.1', port: 25, ...overrides });
}

/** The envelope the listener spools for a one-recipient message from an allowed network. */
export function spoolEnvelope(id: string, serverId: number, overrides: Partial<SpoolEnvelope> = {}): SpoolEnvelope {
  return {
    id,
    serverId,
    mailFrom: 'app@example.test',
    recipients: ['a@example.test'],
    clientAddress: '127.0.0.1',
    clientHelo: 'app',
    route: 'network 127.0.0.0/8',
    relayUser: null,
    receivedAt: 1_000,
    expiresAt: 10_000_000,
    ...overrides,
  };
}

/**
 * A spool file as earlier versions wrote it (src/relay/spool-folder.ts reads them): a tag, the
 * envelope's length in 8 hex digits, the envelope as JSON, then `prefix` and the client's `message`.
 */
export function earlierSpoolFile(envelope: SpoolEnvelope, prefix: Buffer, message: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify({ ...envelope, prefixBytes: prefix.length }), 'utf8');
  return Buffer.concat([Buffer.from(`R365ENV1${json.length.toString(16).padStart(8, '0')}`, 'latin1'), json, prefix, message]);
}

/** A queue record as the listener would make it for that message (spoolEnvelope's). */
export function queuedMessage(id: string, serverId: number, overrides: Partial<NewMessage> = {}): NewMessage {
  return { ...spoolEnvelope(id, serverId), size: 10, subject: null, headerMessageId: null, ...overrides };
}
