/**
 * Token requests per 1,000 delivered messages: relay365 (a child process)
 * delivers through the Microsoft 365 emulator with application sign-in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { createStore } from '../src/store/index.js';
import { createSecretBox } from '../src/store/secret-box.js';
import { EMULATOR_CA_PATH, SEED, startEmulator } from '../test/emulator/index.js';
import { emulatorServer } from '../test/helpers/office365.js';
import { startRelay } from '../test/helpers/relay-process.js';
import { BENCH_RELAY } from './relay-options.js';

const KEY = 'ef'.repeat(32);

/** Prints token requests per 1,000 messages delivered. */
export async function benchTokens(env: (dir: string) => NodeJS.ProcessEnv): Promise<void> {
  const emu = await startEmulator();
  const dir = mkdtempSync(path.join(tmpdir(), 'relay365-bench-tokens-'));
  try {
    const store = createStore(dir, createSecretBox(Buffer.from(KEY, 'hex')));
    store.servers.add(emulatorServer(emu));
    store.close();
    const relay = await startRelay({ ...env(dir), RELAY365_SECRET_KEY: KEY, NODE_EXTRA_CA_CERTS: EMULATOR_CA_PATH }, BENCH_RELAY);
    const client = nodemailer.createTransport({ host: '127.0.0.1', port: relay.smtpPort, ignoreTLS: true, pool: true, maxConnections: 10 });
    const start = performance.now();
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        client.sendMail({
          envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] },
          raw: `From: ${SEED.mailbox}\r\nSubject: ${i}\r\n\r\nx\r\n`,
        }),
      ),
    );
    client.close();
    await emu.exchange.waitForMessages(1000, 120_000);
    const seconds = (performance.now() - start) / 1000;
    const requests = emu.identity.tokenRequests.length;
    console.log(
      `delivery through the emulator, application sign-in: ${requests} token request(s) per 1,000 delivered messages; ` +
        `${(1000 / seconds).toFixed(0)} messages/s end to end with ${emu.exchange.peakConcurrentByMailbox.get(SEED.mailbox)} connection(s) at most`,
    );
    await relay.stop();
  } finally {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
