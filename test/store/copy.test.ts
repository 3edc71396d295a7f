/**
 * `store copy`: a SQLite relay's every row, message bodies included, arrives
 * unchanged in an empty PostgreSQL database; a database that holds anything is
 * refused; mail that arrives at the source during the copy rolls it back.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyStore, StoreCopyError } from '../../src/store/copy.js';
import { migratePostgres } from '../../src/store/postgres/migrate.js';
import { openPool, type Pg, type Sql } from '../../src/store/postgres/pool.js';
import { createFixture, plainServer, queuedMessage, type Fixture } from '../helpers/fixture.js';
import { ENGINES, freshDatabase } from '../helpers/engines.js';

let fx: Fixture;
let target: Pg;
let drop: () => Promise<void>;

beforeEach(async () => {
  fx = createFixture();
  const database = await freshDatabase();
  drop = database.drop;
  target = openPool(database.url, { applicationName: 'relay365 copy test' });
  await migratePostgres(target);
});

afterEach(async () => {
  await target.close();
  await drop();
  fx.cleanup();
});

/** A relay with a server, a relay user, an admin, waiting mail with a two-chunk body, and a delivered message. */
async function busyRelay(): Promise<void> {
  const { store } = fx;
  const server = await store.servers.add(plainServer({ name: 'Upstream' }));
  await store.relayUsers.add({ name: 'scanner', passwordHash: 'scrypt$x', serverId: server.id, allowFrom: [] });
  await store.users.add({ email: 'admin@example.test', passwordHash: 'scrypt$x', isSuperAdmin: true, canUpdateSettings: true });
  await store.bodies.append({ messageId: 'WAITING', seq: 0, bytes: Buffer.from('Received: x\r\n') });
  await store.queue.insert(
    [queuedMessage('WAITING', server.id), queuedMessage('DONE', server.id)],
    [{ messageId: 'WAITING', seq: 1, bytes: Buffer.alloc(300_000, 0xab) }],
  );
  await store.queue.recordAttempt('DONE', { kind: 'done', delivered: [{ address: 'a@example.test', reply: '250 ok' }], failed: [] }, 2_000);
}

const tables = (db: Database.Database): string[] =>
  db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((t) => t.name);

/** Every row of `table`, ordered, as plain values. */
async function rowsOf(sql: Sql | Database.Database, table: string): Promise<unknown[]> {
  const text = `SELECT * FROM ${table} ORDER BY 1, 2`;
  const rows =
    sql instanceof Database ? (sql.prepare(text).all() as Record<string, unknown>[]) : await sql.rows<Record<string, unknown>>(text);
  return rows.map((row) => Object.fromEntries(Object.entries(row).sort(([a], [b]) => a.localeCompare(b))));
}

describe.skipIf(!ENGINES.includes('postgres'))('store copy', () => {
  it('copies every table row for row, with the bodies and the sealed secrets as they are', async () => {
    await busyRelay();
    const summary = await copyStore(fx.store.db, target);
    expect(summary.rows).toMatchObject({ servers: 1, relay_users: 1, users: 1, messages: 2, message_bodies: 2 });
    expect(summary.bodyBytes).toBeGreaterThan(300_000);
    for (const table of tables(fx.store.db).filter((t) => t !== 'instances' && t !== 'leases')) {
      expect({ table, rows: await rowsOf(target, table) }).toEqual({ table, rows: await rowsOf(fx.store.db, table) });
    }
    // New rows continue after the copied ids.
    const next = await target.row<{ id: number }>(
      "INSERT INTO events (message_id, server_id, at, kind) VALUES (NULL, NULL, 1, 'deleted') RETURNING id",
    );
    const copied = fx.store.db.prepare('SELECT MAX(id) AS id FROM events').get() as { id: number };
    expect(next?.id).toBe(copied.id + 1);
  });

  it('refuses a target that holds anything, and leaves it as it was', async () => {
    await busyRelay();
    await target.run("INSERT INTO refusals (client, reason, detail, first_at, last_at) VALUES ('192.0.2.1', 'auth', 'x', 1, 1)");
    await expect(copyStore(fx.store.db, target)).rejects.toThrow(
      new StoreCopyError('the target database is not empty (it has refusals): copy only into a new, empty database'),
    );
    expect(await target.rows('SELECT id FROM servers')).toEqual([]);
  });

  it('rolls back when mail reaches the source during the copy', async () => {
    await busyRelay();
    const writer = new Database(fx.store.db.name);
    let written = false;
    // The running relay's commit lands while the copy is between two tables.
    const racing: Pg = {
      ...target,
      tx: (work) =>
        target.tx((sql) =>
          work({
            ...sql,
            run: async (text, params) => {
              if (!written && text.startsWith('INSERT INTO messages')) {
                written = true;
                writer.prepare("INSERT INTO events (message_id, server_id, at, kind) VALUES ('WAITING', NULL, 3, 'attempt')").run();
              }
              return sql.run(text, params);
            },
          }),
        ),
    };
    await expect(copyStore(fx.store.db, racing)).rejects.toThrow(/relay365 is still running on this data folder/);
    writer.close();
    expect(written).toBe(true);
    expect(await target.rows('SELECT id FROM messages')).toEqual([]);
  });
});
