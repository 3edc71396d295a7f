/**
 * PostgreSQL stopped under load: two relay365 instances (real processes on
 * one private PostgreSQL server) answer no `250` while the database is down,
 * refuse with a temporary error instead, /readyz says they are not ready and
 * why, and once the server is back they accept and deliver again by
 * themselves; every message either acknowledged reaches the emulator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SESSION_TIMES } from '../../src/store/index.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { SEED, startEmulator, type Emulator, type ReceivedMessage } from '../emulator/index.js';
import { ENGINES } from '../helpers/engines.js';
import { emulatorServer } from '../helpers/office365.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.js';
import { freePort, startRelay, type RelayProcess } from '../helpers/relay-process.js';

const KEY = 'ef'.repeat(32);
const OUTAGE_MS = 10_000;

let emu: Emulator;
let server: PostgresServer;
let dir: string;
const relays: RelayProcess[] = [];
const dirs: string[] = [];

beforeEach(async () => {
  emu = await startEmulator();
  server = await startPostgres();
  dir = mkdtempSync(path.join(tmpdir(), 'relay365-outage-'));
  dirs.push(dir);
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.kill()));
  await emu.close();
  await server.stop();
  for (const folder of dirs.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const queueIdOf = (m: ReceivedMessage): string | undefined => / id ([0-9A-Z]+)/.exec(m.raw.subarray(0, 600).toString('latin1'))?.[1];

describe.skipIf(!ENGINES.includes('postgres'))('PostgreSQL stopped under load', () => {
  it(
    'answers no 250 while the database is down, and delivers everything it acknowledged once it is back',
    { timeout: 180_000 },
    async () => {
      const store = await createPostgresStore({
        url: server.url,
        dataDir: dir,
        box: createSecretBox(Buffer.from(KEY, 'hex')),
        sessionTimes: SESSION_TIMES,
        applicationName: 'relay365 test',
      });
      await store.servers.add(emulatorServer(emu));
      await store.close();
      const adminPorts = [await freePort(), await freePort()];
      /** What each instance's /readyz answers. */
      const readiness = (): Promise<{ status: number; database: string }[]> =>
        Promise.all(
          adminPorts.map(async (adminPort) => {
            const answer = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
            const body = (await answer.json()) as { checks: { database: { detail: string } } };
            return { status: answer.status, database: body.checks.database.detail };
          }),
        );
      for (const [n, adminPort] of adminPorts.entries()) {
        const own = n === 0 ? dir : mkdtempSync(path.join(tmpdir(), 'relay365-outage-'));
        if (own !== dir) dirs.push(own);
        relays.push(
          await startRelay({
            ...process.env,
            RELAY365_DATA_DIR: own,
            RELAY365_SECRET_KEY: KEY,
            RELAY365_DATABASE_URL: server.url,
            RELAY365_INSTANCE_ID: `relay-${n}`,
            RELAY365_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
            RELAY365_LOG_LEVEL: 'error',
          }),
        );
      }
      const acked = new Map<string, number>();
      const refused: string[] = [];
      let down: { from: number; to: number } | null = null;
      let sending = true;
      // One client sends one message after another over new connections, as an app server does; half
      // of the clients send to each instance.
      const client = async (n: number): Promise<void> => {
        const transport = nodemailer.createTransport({
          host: '127.0.0.1',
          port: (relays[n % 2] as RelayProcess).smtpPort,
          ignoreTLS: true,
          connectionTimeout: 5_000,
          socketTimeout: 20_000,
        });
        for (let i = 0; sending; i++) {
          try {
            const info = await transport.sendMail({
              envelope: { from: SEED.mailbox, to: ['alice@fabrikam.test'] },
              raw: `From: ${SEED.mailbox}\r\nSubject: outage ${n}-${i}\r\n\r\nbody\r\n`,
            });
            acked.set(/queued as ([0-9A-Z]+)/.exec(info.response)?.[1] as string, Date.now());
          } catch (err) {
            refused.push((err as { response?: string }).response ?? (err as Error).message);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        transport.close();
      };
      const clients = Array.from({ length: 4 }, (_, n) => client(n));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await server.halt('fast');
      const from = Date.now();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2));
      // Not ready while the database is down, saying why; load balancers stop sending clients.
      const notReady = { status: 503, database: expect.stringMatching(/^does not take writes \(.+\)$/) as unknown };
      expect(await readiness()).toEqual([notReady, notReady]);
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2));
      const to = Date.now();
      await server.start();
      down = { from, to };
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      sending = false;
      await Promise.all(clients);

      // pg_ctl blocks this process's event loop while the server stops: a 250 that arrived before
      // the stop may be read just after it. Two seconds in, the server has been down a while.
      const during = [...acked.values()].filter((at) => at > down.from + 2_000 && at < down.to);
      expect(during).toEqual([]);
      // Temporary refusals only: a permanent one would make the app drop its message.
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.filter((reply) => !reply.startsWith('451 4.3.0 '))).toEqual([]);
      const ready = { status: 200, database: 'takes writes' };
      expect(await readiness()).toEqual([ready, ready]);
      // Accepted again after the outage, without a restart.
      expect([...acked.values()].some((at) => at > down.to)).toBe(true);

      // An attempt in flight when the database went could not record its outcome: its claim is left to
      // run out (CLAIM_LEASE_MS) and the message is queued again, so allow that much and a keeper's tick.
      const deadline = Date.now() + 120_000;
      const delivered = (): Set<string | undefined> => new Set(emu.exchange.messages.map(queueIdOf));
      while ([...acked.keys()].some((id) => !delivered().has(id)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect([...acked.keys()].filter((id) => !delivered().has(id))).toEqual([]);
    },
  );
});
