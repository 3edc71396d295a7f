/**
 * An in-process relay delivering to the Microsoft 365 emulator, on a fresh
 * data folder, with a clock the test moves by hand.
 */
import { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import { authorizeUrl, createPkce, finishAuthorization } from '../../src/auth/authorize.js';
import { createMsalClient } from '../../src/auth/msal-client.js';
import { createLogger, silentLogger } from '../../src/log.js';
import type { Metrics } from '../../src/metrics.js';
import { MAX_QUEUE_LIFETIME_MS } from '../../src/relay/classify.js';
import type { DeliveryPace } from '../../src/relay/delivery-pace.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { queueRecord, type SpoolEnvelope } from '../../src/relay/spool.js';
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
  /** Moves the clock and lets the scheduler look at the queue; resolves once the look has started what it may. */
  advance(ms: number): Promise<void>;
  /** Submits raw message bytes through the relay's SMTP listener (envelope from `from`, default the mailbox); resolves with its queue ID. */
  submit(raw: string, to?: string[], from?: string): Promise<string>;
  serverId(): number;
  /** Queues raw bytes for any server directly (as the listener would after its 250); resolves with the queue ID. */
  enqueue(serverId: number, raw: string, to?: string[]): Promise<string>;
  /** Adds another email server pointed at the emulator (default: the same mailbox) and tells the relay. */
  addServer(overrides: Partial<ServerSettings>): number;
  /** Stops the relay and starts a new one over the same data folder (a restart). */
  restart(): Promise<void>;
  /** Runs Authorize Account for the first server the way the panel does, answering the emulator's pages over HTTP. */
  authorizeAccount(): Promise<void>;
  /** JSON log lines written so far (with `captureLog`). */
  logLines: string[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  signingKey?: SigningKey;
  server?: Partial<ServerSettings>;
  emulator?: Parameters<typeof startEmulator>[0];
  /**
   * The emulator runs on the relay's clock too. With `tickMs`, every reading of the clock by the
   * emulator moves it on by that much: an upstream transaction takes time on the shared clock,
   * the way real ones take time, so arrivals come after attempt starts. With `ticks`, only that
   * many first readings do (the first connections are slow: token, TLS, AUTH; later ones are not).
   */
  sharedClock?: { tickMs: number; ticks?: number };
  /** Keep the relay's log lines in `logLines`. */
  captureLog?: boolean;
  /** Metrics the relay reports to (kept across `restart()`). */
  metrics?: Metrics;
  /** How deliveries yield to arriving mail (default: the relay's own). */
  pace?: DeliveryPace;
  /** Settings from the environment (RELAY365_…) besides the fixture's. */
  env?: Record<string, string>;
}

/** A message from the seeded mailbox. */
export function testMessage(subject: string): string {
  return `From: Relay <${SEED.mailbox}>\r\nTo: alice@fabrikam.test\r\nSubject: ${subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße from the ERP.\r\n.leading dot line\r\n\r\nend\r\n`;
}

/** Starts emulator and relay; `server` overrides the emulator server's settings. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  let clock = Date.now();
  const tick = options.sharedClock?.tickMs;
  let ticksLeft = options.sharedClock?.ticks ?? Infinity;
  const sharedNow = (): number => {
    if (ticksLeft-- > 0) clock += tick ?? 0;
    return clock;
  };
  const emu = await startEmulator({
    signingKey: options.signingKey,
    ...(tick === undefined ? {} : { now: sharedNow }),
    ...options.emulator,
  });
  const fx = createFixture(options.env);
  const { id } = fx.store.sync.servers.add(emulatorServer(emu, options.server));
  const logLines: string[] = [];
  const log = options.captureLog ? createLogger('debug', (line) => logLines.push(line)) : silentLogger;
  const newRelay = () =>
    createRelay({ config: fx.config, store: fx.store, log, now: () => clock, pollMs: 50, metrics: options.metrics, pace: options.pace });
  let relay = newRelay();
  let smtpPort = (await relay.start()).smtp.port;
  let client = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, ignoreTLS: true });
  return {
    emu,
    fx,
    get relay() {
      return relay;
    },
    get smtpPort() {
      return smtpPort;
    },
    logLines,
    async enqueue(serverId, raw, to = ['alice@fabrikam.test']) {
      const queueId = `T${(clock % 1e9).toString(36).toUpperCase()}${Math.random().toString(36).slice(2, 8).toUpperCase()}`;
      const envelope: SpoolEnvelope = {
        id: queueId,
        serverId,
        mailFrom: SEED.mailbox,
        recipients: to,
        clientAddress: '127.0.0.1',
        clientHelo: 'harness',
        route: 'harness',
        relayUser: null,
        receivedAt: clock,
        expiresAt: clock + MAX_QUEUE_LIFETIME_MS,
      };
      const file = await relay.spool.write(queueId, Buffer.alloc(0), Readable.from([Buffer.from(raw)]));
      fx.store.sync.queue.insert([queueRecord(envelope, file)], [file.last]);
      await relay.scheduler.poke();
      return queueId;
    },
    addServer(overrides) {
      const added = fx.store.sync.servers.add(
        emulatorServer(emu, { name: `o365-${Math.random().toString(36).slice(2, 8)}`, ...overrides }),
      );
      void relay.scheduler.poke();
      return added.id;
    },
    async restart() {
      await relay.stop();
      relay = newRelay();
      smtpPort = (await relay.start()).smtp.port;
      client.close();
      client = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, ignoreTLS: true });
    },
    now: () => clock,
    advance(ms) {
      clock += ms;
      return relay.scheduler.poke();
    },
    async submit(raw, to = ['alice@fabrikam.test'], from = SEED.mailbox) {
      const info = await client.sendMail({ envelope: { from, to }, raw });
      return /queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string;
    },
    serverId: () => id,
    async authorizeAccount() {
      const server = fx.store.sync.servers.get(id)!;
      const msal = createMsalClient({ server, clientSecret: SEED.clientSecret, cache: fx.store.tokenCaches, log: silentLogger });
      const pkce = await createPkce();
      const url = await authorizeUrl({ client: msal, server, redirectUri: SEED.redirectUri, state: 'state-1', challenge: pkce.challenge });
      const back = new URL(await emu.identity.completeAuthorize(url, { account: SEED.mailbox }));
      const { account } = await finishAuthorization({
        client: msal,
        server,
        redirectUri: SEED.redirectUri,
        code: back.searchParams.get('code') ?? '',
        state: 'state-1',
        verifier: pkce.verifier,
      });
      fx.store.sync.servers.setStatus(server.id, { status: 'authorized', account, refreshedAt: clock });
      relay.settingsChanged();
    },
    async close() {
      await relay.stop();
      await emu.close();
      fx.cleanup();
    },
  };
}
