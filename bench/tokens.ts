/**
 * Delivery end to end through the Microsoft 365 emulator with application
 * sign-in, by SMTP AUTH and by Microsoft Graph: relay365 (a child process)
 * delivers 1,000 messages; printed are messages/s, token requests per 1,000
 * messages and the most connections (SMTP) or requests at once (Graph) the
 * emulator saw.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { ServerSettings } from '../src/store/servers.js';
import { createStore } from '../src/store/index.js';
import { createSecretBox } from '../src/store/secret-box.js';
import { EMULATOR_CA_PATH, SEED, startEmulator, type Emulator } from '../test/emulator/index.js';
import { emulatorServer } from '../test/helpers/office365.js';
import { startRelay } from '../test/helpers/relay-process.js';
import { BENCH_RELAY } from './relay-options.js';

const KEY = 'ef'.repeat(32);
const MESSAGES = 1000;

/** How the emulator counts one way to send: what arrived, and the most in flight at once. */
const WAYS: Record<ServerSettings['sendVia'], { label: string; arrived: (emu: Emulator) => Promise<unknown>; peak: (emu: Emulator) => string }> = {
  smtp: {
    label: 'SMTP AUTH (XOAUTH2)',
    arrived: (emu) => emu.exchange.waitForMessages(MESSAGES, 120_000),
    peak: (emu) => `${emu.exchange.peakConcurrentByMailbox.get(SEED.mailbox)} connection(s) at most`,
  },
  graph: {
    label: 'Microsoft Graph (sendMail)',
    arrived: (emu) => emu.graph.waitForMessages(MESSAGES, 120_000),
    peak: (emu) => `${emu.graph.peakConcurrency} request(s) at once at most`,
  },
};

async function benchWay(env: (dir: string) => NodeJS.ProcessEnv, sendVia: ServerSettings['sendVia']): Promise<void> {
  const way = WAYS[sendVia];
  const emu = await startEmulator();
  const dir = mkdtempSync(path.join(tmpdir(), 'relay365-bench-tokens-'));
  try {
    const store = createStore(dir, createSecretBox(Buffer.from(KEY, 'hex')));
    store.sync.servers.add(emulatorServer(emu, { sendVia }));
    await store.close();
    const relay = await startRelay({ ...env(dir), RELAY365_SECRET_KEY: KEY, NODE_EXTRA_CA_CERTS: EMULATOR_CA_PATH }, BENCH_RELAY);
    const client = nodemailer.createTransport({ host: '127.0.0.1', port: relay.smtpPort, ignoreTLS: true, pool: true, maxConnections: 10 });
    const start = performance.now();
    await Promise.all(
      Array.from({ length: MESSAGES }, (_, i) =>
        client.sendMail({
          envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] },
          raw: `From: ${SEED.mailbox}\r\nTo: alice@fabrikam.test\r\nSubject: ${i}\r\n\r\nx\r\n`,
        }),
      ),
    );
    client.close();
    await way.arrived(emu);
    const seconds = (performance.now() - start) / 1000;
    const requests = emu.identity.tokenRequests.length;
    console.log(
      `delivery through the emulator, ${way.label}, application sign-in: ${(MESSAGES / seconds).toFixed(0)} messages/s end to end, ` +
        `${requests} token request(s) per 1,000 delivered messages, ${way.peak(emu)}`,
    );
    await relay.stop();
  } finally {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints the end-to-end figures of both ways to send. */
export async function benchTokens(env: (dir: string) => NodeJS.ProcessEnv): Promise<void> {
  await benchWay(env, 'smtp');
  await benchWay(env, 'graph');
}
