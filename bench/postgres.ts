/**
 * `npm run bench -- postgres`: the PostgreSQL engine on a private server from
 * Debian's package, with fsync on (the durability a real deployment has):
 * durable acceptance and its latency, the memory of 30 MB messages, and
 * end-to-end delivery of a burst to the Microsoft 365 emulator. Skipped, with
 * a line saying so, when PostgreSQL is not installed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SESSION_TIMES } from '../src/store/index.js';
import { createPostgresStore } from '../src/store/postgres/index.js';
import { createSecretBox } from '../src/store/secret-box.js';
import { EMULATOR_CA_PATH, startEmulator } from '../test/emulator/index.js';
import { emulatorServer } from '../test/helpers/office365.js';
import { createDatabase, postgresBin, startPostgres, type PostgresServer } from '../test/helpers/postgres-server.js';
import { startRelay } from '../test/helpers/relay-process.js';
import { plainServer } from '../test/helpers/fixture.js';
import type { ServerSettings } from '../src/store/servers.js';
import { acceptFigures, bigMessageFigures } from './accept-figures.js';
import { BENCH_RELAY } from './relay-options.js';
import { makeBody, runLoad } from './smtp-load.js';

const KEY = 'cd'.repeat(32);
const LABEL = ' on PostgreSQL';

/** A new database on `server` with relay365's schema and one email server; its URL. */
async function database(server: PostgresServer, name: string, dir: string, settings: ServerSettings): Promise<string> {
  const { url } = await createDatabase(server.url, name);
  const store = await createPostgresStore({
    url,
    dataDir: dir,
    box: createSecretBox(Buffer.from(KEY, 'hex')),
    sessionTimes: SESSION_TIMES,
    applicationName: 'relay365 bench',
  });
  await store.servers.add(settings);
  await store.close();
  return url;
}

/** Prints the PostgreSQL figures. */
export async function benchPostgres(env: (dir: string) => NodeJS.ProcessEnv): Promise<void> {
  if (postgresBin() === null) {
    console.log('PostgreSQL figures skipped: PostgreSQL is not installed (apt-get install -y postgresql)');
    return;
  }
  const server = await startPostgres({ fsync: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'relay365-bench-pg-'));
  const emu = await startEmulator();
  try {
    // Acceptance: an upstream nobody listens on, one attempt a minute.
    const url = await database(server, 'accept', dir, plainServer({ name: 'bench', host: '127.0.0.1', port: 9, messagesPerMinute: 1 }));
    const relayEnv = { ...env(dir), RELAY365_DATABASE_URL: url, RELAY365_SECRET_KEY: KEY };
    const relay = await startRelay(relayEnv, BENCH_RELAY);
    await runLoad(relay.smtpPort, { clients: 20, total: 200, body: makeBody(2048), reuse: true }); // warm-up
    await acceptFigures(relay.smtpPort, Number(process.env.BENCH_MESSAGES ?? 10_000), LABEL);
    await relay.stop();
    await bigMessageFigures(() => startRelay(relayEnv, BENCH_RELAY), LABEL);

    // End to end: a burst accepted, then delivered to the emulator within Microsoft's limits per mailbox.
    const total = Number(process.env.BENCH_E2E ?? 1_000);
    const e2eUrl = await database(
      server,
      'e2e',
      dir,
      emulatorServer(emu, { name: 'bench', messagesPerMinute: 100_000, fromHandling: 'rewrite' }),
    );
    const e2e = await startRelay({ ...relayEnv, RELAY365_DATABASE_URL: e2eUrl, NODE_EXTRA_CA_CERTS: EMULATOR_CA_PATH }, BENCH_RELAY);
    const started = performance.now();
    const accepted = await runLoad(e2e.smtpPort, { clients: 20, total, body: makeBody(2048), reuse: true });
    await emu.exchange.waitForMessages(total, 300_000);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `end to end${LABEL}: ${total} messages of 2 KB accepted in ${accepted.seconds.toFixed(1)} s and delivered to the emulator in ${seconds.toFixed(1)} s (${(total / seconds).toFixed(0)} messages/s over 3 connections)`,
    );
    await e2e.stop();
  } finally {
    await emu.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
