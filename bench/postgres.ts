/**
 * `npm run bench -- postgres`: the PostgreSQL engine on a private server from
 * Debian's package, with fsync on (the durability a real deployment has):
 * durable acceptance and its latency, the memory of 30 MB messages, and
 * end-to-end delivery of a burst to the Microsoft 365 emulator, with one
 * relay365 and then with two instances on one database (bench/cluster.ts,
 * with failover). Skipped, with a line saying so, when PostgreSQL is not
 * installed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SESSION_TIMES, type Store } from '../src/store/index.js';
import { createPostgresStore } from '../src/store/postgres/index.js';
import { createSecretBox } from '../src/store/secret-box.js';
import { EMULATOR_CA_PATH, startEmulator, type Emulator } from '../test/emulator/index.js';
import { emulatorServer } from '../test/helpers/office365.js';
import { createDatabase, postgresBin, startPostgres } from '../test/helpers/postgres-server.js';
import { startRelay } from '../test/helpers/relay-process.js';
import { plainServer } from '../test/helpers/fixture.js';
import { acceptFigures, bigMessageFigures } from './accept-figures.js';
import { benchCluster, type PostgresBench } from './cluster.js';
import { endToEndFigures } from './end-to-end.js';
import { BENCH_RELAY } from './relay-options.js';
import { makeBody, runLoad } from './smtp-load.js';

const KEY = 'cd'.repeat(32);
const LABEL = ' on PostgreSQL';

/** Prints the PostgreSQL figures, one instance's and then two instances'. */
export async function benchPostgres(env: (dir: string) => NodeJS.ProcessEnv): Promise<void> {
  if (postgresBin() === null) {
    console.log('PostgreSQL figures skipped: PostgreSQL is not installed (apt-get install -y postgresql)');
    return;
  }
  const server = await startPostgres({ fsync: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'relay365-bench-pg-'));
  const emu = await startEmulator();
  const stores: Store[] = [];
  const bench: PostgresBench = {
    async database(name: string, upstream: Emulator | null) {
      const { url } = await createDatabase(server.url, name);
      const store = await createPostgresStore({
        url,
        dataDir: dir,
        box: createSecretBox(Buffer.from(KEY, 'hex')),
        sessionTimes: SESSION_TIMES,
        applicationName: 'relay365 bench',
        instanceId: 'bench',
      });
      stores.push(store);
      // Acceptance: an upstream nobody listens on, one attempt a minute. End to end: the emulator, within
      // Microsoft's limits per mailbox; the load generator sends as app@bench.test, which Exchange refuses
      // from this mailbox unless rewritten.
      await store.servers.add(
        upstream === null
          ? plainServer({ name: 'bench', host: '127.0.0.1', port: 9, messagesPerMinute: 1 })
          : emulatorServer(upstream, { name: 'bench', messagesPerMinute: 100_000, fromHandling: 'rewrite' }),
      );
      return { url, store };
    },
    start: (url, id) =>
      startRelay(
        {
          ...env(id === undefined ? dir : mkdtempSync(path.join(dir, `${id}-`))),
          RELAY365_DATABASE_URL: url,
          RELAY365_SECRET_KEY: KEY,
          NODE_EXTRA_CA_CERTS: EMULATOR_CA_PATH,
          ...(id === undefined ? {} : { RELAY365_INSTANCE_ID: id }),
        },
        BENCH_RELAY,
      ),
  };
  const total = Number(process.env.BENCH_MESSAGES ?? 10_000);
  const e2e = Number(process.env.BENCH_E2E ?? 1_000);
  try {
    const { url } = await bench.database('accept', null);
    const relay = await bench.start(url);
    await runLoad(relay.smtpPort, { clients: 20, total: 200, body: makeBody(2048), reuse: true }); // warm-up
    await acceptFigures(relay.smtpPort, total, LABEL);
    await relay.stop();
    await bigMessageFigures(() => bench.start(url), LABEL);

    const e2eDatabase = await bench.database('e2e', emu);
    const e2eRelay = await bench.start(e2eDatabase.url);
    await endToEndFigures(emu, [e2eRelay.smtpPort], e2e, LABEL);
    await e2eRelay.stop();

    await benchCluster(bench, { total, e2e, failover: Number(process.env.BENCH_FAILOVER ?? 2_000) });
  } finally {
    for (const store of stores) await store.close();
    await emu.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
