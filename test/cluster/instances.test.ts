/**
 * Two relay365 processes on one PostgreSQL database, as an operator runs
 * them, against the Microsoft 365 emulator: a burst sent half to each is
 * delivered once each with never more than 3 sessions at the mailbox, and
 * when the instance delivering is killed mid-drain (SIGKILL), the other
 * delivers everything the dead one acknowledged within two minutes (only
 * what was in flight at the kill may arrive twice).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SESSION_TIMES, type Store } from '../../src/store/index.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { SEED, startEmulator, type Emulator } from '../emulator/index.js';
import { arrivals, burst, killLaneHolder, leaseHolder, MAILBOX_LANE } from '../helpers/cluster.js';
import { ENGINES, freshDatabase } from '../helpers/engines.js';
import { emulatorServer } from '../helpers/office365.js';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'cd'.repeat(32);

let emu: Emulator;
let database: { url: string; drop(): Promise<void> };
let observer: Store;
const dirs: string[] = [];
const relays = new Map<string, RelayProcess>();

beforeEach(async () => {
  if (!ENGINES.includes('postgres')) return;
  emu = await startEmulator();
  database = await freshDatabase();
  observer = await createPostgresStore({
    url: database.url,
    dataDir: tmpdir(),
    box: createSecretBox(Buffer.from(KEY, 'hex')),
    sessionTimes: SESSION_TIMES,
    applicationName: 'relay365 test observer',
    instanceId: 'observer',
  });
  await observer.servers.add(emulatorServer(emu));
});

afterEach(async () => {
  if (!ENGINES.includes('postgres')) return;
  await Promise.all([...relays.values()].map((relay) => relay.kill()));
  relays.clear();
  await observer.close();
  await emu.close();
  await database.drop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Starts instance `id` on the database, with a data folder of its own. */
async function instance(id: string): Promise<RelayProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), `relay365-${id}-`));
  dirs.push(dir);
  const relay = await startRelay({
    ...process.env,
    RELAY365_DATA_DIR: dir,
    RELAY365_SECRET_KEY: KEY,
    RELAY365_DATABASE_URL: database.url,
    RELAY365_INSTANCE_ID: id,
    RELAY365_ADMIN_LISTEN: '127.0.0.1:0',
    RELAY365_LOG_LEVEL: 'error',
  });
  relays.set(id, relay);
  return relay;
}

describe.skipIf(!ENGINES.includes('postgres'))('two relay365 instances on one PostgreSQL', () => {
  it('delivers a burst sent half to each once each, with never more than 3 sessions at the mailbox', async () => {
    const [a, b] = await Promise.all([instance('relay-a'), instance('relay-b')]);
    const ids = (await Promise.all([burst(a.smtpPort, 100, 'a'), burst(b.smtpPort, 100, 'b')])).flat();
    expect(new Set(ids).size).toBe(200);
    await waitFor(() => ids.every((id) => arrivals(emu).has(id)), 'all 200 delivered', 60_000);
    expect([...arrivals(emu).values()].filter((n) => n > 1)).toEqual([]);
    expect(emu.exchange.peakConcurrentByMailbox.get(SEED.mailbox)).toBeLessThanOrEqual(3);
  });

  it('delivers what a killed instance acknowledged from the other instance within two minutes', { timeout: 180_000 }, async () => {
    const [a, b] = await Promise.all([instance('relay-a'), instance('relay-b')]);
    const ids = (await Promise.all([burst(a.smtpPort, 150, 'a'), burst(b.smtpPort, 150, 'b')])).flat();
    // Mid-drain: the instance delivering for the mailbox dies.
    const failover = await killLaneHolder(emu, observer, relays, ids);
    expect(failover.left).toBeGreaterThan(0);
    expect(failover.allDeliveredMs).toBeLessThan(120_000);
    // Only the deliveries in flight at the kill (at most the mailbox's 3 connections) may go twice.
    expect(failover.twice).toBeLessThanOrEqual(3);
    expect(emu.exchange.peakConcurrentByMailbox.get(SEED.mailbox)).toBeLessThanOrEqual(3);
    const survivor = failover.killed === 'relay-a' ? 'relay-b' : 'relay-a';
    expect(await leaseHolder(observer, MAILBOX_LANE)).toBe(survivor);
  });
});
