/**
 * An in-process relay delivering to the Microsoft 365 emulator, on a fresh
 * data folder, with a clock the test moves by hand.
 */
import nodemailer from 'nodemailer';
import { silentLogger } from '../../src/log.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import type { ServerSettings } from '../../src/store/servers.js';
import { SEED, startEmulator, type Emulator, type SigningKey } from '../emulator/index.js';
import { createFixture, type Fixture } from './fixture.js';
import { emulatorServer } from './office365.js';

export interface Harness {
  emu: Emulator;
  fx: Fixture;
  relay: Relay;
  smtpPort: number;
  /** The relay's clock; move it with `advance`. */
  now(): number;
  /** Moves the clock and lets the scheduler look at the queue. */
  advance(ms: number): void;
  /** Submits raw message bytes through the relay's SMTP listener (envelope from `from`, default the mailbox); resolves with its queue ID. */
  submit(raw: string, to?: string[], from?: string): Promise<string>;
  serverId(): number;
  close(): Promise<void>;
}

/** A message from the seeded mailbox. */
export function testMessage(subject: string): string {
  return `From: Relay <${SEED.mailbox}>\r\nTo: alice@fabrikam.test\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße from the ERP.\r\n.leading dot line\r\n\r\nend\r\n`;
}

/** Starts emulator and relay; `server` overrides the emulator server's settings. */
export async function startHarness(
  options: { signingKey?: SigningKey; server?: Partial<ServerSettings>; emulator?: Parameters<typeof startEmulator>[0] } = {},
): Promise<Harness> {
  let clock = Date.now();
  const emu = await startEmulator({ signingKey: options.signingKey, ...options.emulator });
  const fx = createFixture();
  const { id } = fx.store.servers.add(emulatorServer(emu, options.server));
  const relay = createRelay({ config: fx.config, store: fx.store, log: silentLogger, now: () => clock, pollMs: 50 });
  const smtpPort = (await relay.start()).smtp.port;
  const client = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, ignoreTLS: true });
  return {
    emu,
    fx,
    relay,
    smtpPort,
    now: () => clock,
    advance(ms) {
      clock += ms;
      relay.scheduler.poke();
    },
    async submit(raw, to = ['alice@fabrikam.test'], from = SEED.mailbox) {
      const info = await client.sendMail({ envelope: { from, to }, raw });
      return /queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string;
    },
    serverId: () => id,
    async close() {
      await relay.stop();
      await emu.close();
      fx.cleanup();
    },
  };
}
