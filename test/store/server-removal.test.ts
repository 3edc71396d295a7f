/**
 * Removing an email server, on both engines: its waiting mail is failed with
 * it in one transaction, or the removal is refused while mail is in flight or
 * relay users or networks route to it; no waiting message ever points at no
 * server, not even in a database an earlier version left, nor when mail,
 * a claim or a relay user arrives while the removal runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCidr, type Cidr } from '../../src/cidr.js';
import { createStore, type SqliteStore, type Store } from '../../src/store/index.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import type { PostgresStore } from '../../src/store/postgres/index.js';
import type { NewMessage } from '../../src/store/queue.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { ENGINES, openEngineStore, type Engine, type EngineStore } from '../helpers/engines.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';

const NOW = Date.parse('2030-06-01T12:00:00Z');
const ORPHANED = `SELECT COUNT(*) AS n FROM messages
  WHERE status IN ('queued', 'deferred', 'sending', 'held') AND (server_id IS NULL OR server_id NOT IN (SELECT id FROM servers))`;

function message(id: string, serverId: number, status?: 'sending'): NewMessage {
  return queuedMessage(id, serverId, {
    mailFrom: 'erp@contoso.com',
    recipients: ['alice@fabrikam.com', 'bob@fabrikam.com'],
    size: 100,
    subject: id,
    receivedAt: NOW,
    expiresAt: NOW + 1e9,
    ...(status ? { status } : {}),
  });
}

/** Messages that wait but point at no server: what must never exist. */
const orphanedWaiting = (db: Database.Database): number => (db.prepare(ORPHANED).get() as { n: number }).n;

/** The same, read behind the seam of either engine. */
async function orphanedIn(engine: Engine, store: Store): Promise<number> {
  if (engine === 'sqlite') return orphanedWaiting((store as SqliteStore).db);
  return (await (store as PostgresStore).pg.row<{ n: number }>(ORPHANED))?.n ?? -1;
}

/** A bare DELETE of every server, behind the seam: the schema's trigger must refuse it while mail waits. */
async function deleteAllServers(engine: Engine, store: Store): Promise<void> {
  if (engine === 'sqlite') (store as SqliteStore).db.prepare('DELETE FROM servers').run();
  else await (store as PostgresStore).pg.run('DELETE FROM servers');
}

describe.each(ENGINES)('removing an email server on %s', (engine) => {
  let es: EngineStore;
  let store: Store;
  beforeEach(async () => {
    es = await openEngineStore(engine, () => NOW);
    store = es.store;
  });
  afterEach(() => es.cleanup());

  it('fails its queued, deferred and held mail with an event naming the removal, in the same transaction', async () => {
    const server = await store.servers.add(plainServer({ name: 'smarthost' }));
    const other = await store.servers.add(plainServer({ name: 'other' }));
    await store.queue.insert([
      message('QUEUED', server.id),
      message('DEFERRED', server.id),
      message('HELD', server.id),
      message('DONE', server.id),
    ]);
    await store.queue.insert([message('OTHER', other.id)]);
    await store.queue.recordAttempt('DEFERRED', { kind: 'defer', nextAttemptAt: NOW + 60_000, reply: '451 4.7.500' }, NOW);
    await store.queue.recordAttempt('HELD', { kind: 'hold', reply: '535 5.7.139' }, NOW);
    const ok = [
      { address: 'alice@fabrikam.com', reply: '250 2.0.0 OK' },
      { address: 'bob@fabrikam.com', reply: '250 2.0.0 OK' },
    ];
    await store.queue.recordAttempt('DONE', { kind: 'done', delivered: ok, failed: [] }, NOW);
    await store.bodies.append({ messageId: 'QUEUED', seq: 0, bytes: Buffer.from('Subject: queued\r\n\r\nhello\r\n') });
    await store.bodies.append({ messageId: 'OTHER', seq: 0, bytes: Buffer.from('Subject: other\r\n\r\nhello\r\n') });

    expect(await store.removeServer(server.id, { dropQueued: false, by: 'admin@example.com', now: NOW + 1 })).toEqual({
      kind: 'waiting',
      waiting: 3,
    });
    expect(await store.servers.get(server.id)).toBeDefined();
    expect(await store.queue.get('QUEUED')).toMatchObject({ status: 'queued' });

    const outcome = await store.removeServer(server.id, { dropQueued: true, by: 'admin@example.com', now: NOW + 1 });
    expect(outcome).toEqual({ kind: 'removed', failed: expect.arrayContaining(['QUEUED', 'DEFERRED', 'HELD']) });
    expect(outcome.kind === 'removed' && outcome.failed).toHaveLength(3);
    expect(await store.servers.get(server.id)).toBeUndefined();
    const reason = 'not delivered: its email server smarthost was removed by admin@example.com';
    for (const id of ['QUEUED', 'DEFERRED', 'HELD']) {
      expect(await store.queue.get(id)).toMatchObject({ status: 'failed', serverId: null, lastReply: reason });
      expect((await store.queue.recipients(id)).map((r) => r.status)).toEqual(['failed', 'failed']);
      expect((await store.queue.events(id)).at(-1)).toMatchObject({ kind: 'failed', detail: reason, at: NOW + 1 });
    }
    expect(await store.bodies.has('QUEUED')).toBe(false);
    // Delivered mail keeps its history; another server's mail and body are untouched.
    expect(await store.queue.get('DONE')).toMatchObject({ status: 'delivered', serverId: null });
    expect((await store.queue.recipients('DONE')).map((r) => r.reply)).toEqual(['250 2.0.0 OK', '250 2.0.0 OK']);
    expect(await store.queue.get('OTHER')).toMatchObject({ status: 'queued', serverId: other.id });
    expect(await store.bodies.has('OTHER')).toBe(true);
    expect(await orphanedIn(engine, store)).toBe(0);
  });

  it('removes a server without mail, passing the default on', async () => {
    const first = await store.servers.add(plainServer({ name: 'first' }));
    await store.servers.add(plainServer({ name: 'second' }));
    expect(await store.removeServer(first.id, { dropQueued: false, by: 'the command line', now: NOW })).toEqual({
      kind: 'removed',
      failed: [],
    });
    expect((await store.servers.getDefault())?.name).toBe('second');
  });

  it('refuses a server that does not exist', async () => {
    await expect(store.removeServer(42, { dropQueued: true, by: 'the command line', now: NOW })).rejects.toThrow(
      'no email server with id 42',
    );
  });

  it('refuses while mail is in flight, even with mail to drop', async () => {
    const server = await store.servers.add(plainServer());
    await store.queue.insert([message('SENDING', server.id, 'sending'), message('QUEUED', server.id)]);
    expect(await store.removeServer(server.id, { dropQueued: true, by: 'the command line', now: NOW })).toEqual({
      kind: 'in-flight',
      sending: 1,
    });
    expect(await store.queue.get('QUEUED')).toMatchObject({ status: 'queued', serverId: server.id });
    expect(await store.servers.get(server.id)).toBeDefined();
  });

  it('refuses while relay users or networks route to the server, naming them, and leaves its waiting mail as it was', async () => {
    const server = await store.servers.add(plainServer());
    await store.networks.add(parseCidr('10.0.0.0/8') as Cidr, server.id);
    await store.networks.add(parseCidr('192.168.0.0/16') as Cidr, server.id);
    await store.relayUsers.add({ name: 'scanner', passwordHash: 'scrypt$unused', serverId: server.id, allowFrom: [] });
    await store.relayUsers.add({ name: 'Copier', passwordHash: 'scrypt$unused', serverId: server.id, allowFrom: [] });
    await store.queue.insert([message('QUEUED', server.id), message('SENDING', server.id, 'sending')]);
    expect(await store.removeServer(server.id, { dropQueued: true, by: 'the command line', now: NOW })).toEqual({
      kind: 'in-use',
      relayUsers: ['Copier', 'scanner'],
      networks: ['10.0.0.0/8', '192.168.0.0/16'],
    });
    expect(await store.servers.get(server.id)).toBeDefined();
    expect(await store.queue.get('QUEUED')).toMatchObject({ status: 'queued', serverId: server.id });
    expect((await store.queue.events('QUEUED')).map((e) => e.kind)).toEqual(['received']);
  });

  it.each(['queued', 'sending'] as const)(
    'refuses a bare delete of a server with %s mail, so no row ever points at no server',
    async (status) => {
      const server = await store.servers.add(plainServer());
      await store.queue.insert([message('M1', server.id, status === 'sending' ? 'sending' : undefined)]);
      await expect(store.servers.remove(server.id)).rejects.toThrow('email server has mail waiting or in flight');
      // Behind the seam: the schema's trigger refuses a bare DELETE too.
      await expect(deleteAllServers(engine, store)).rejects.toThrow('email server has mail waiting or in flight');
      expect(await store.queue.get('M1')).toMatchObject({ status, serverId: server.id });
    },
  );

  // Each race runs several rounds (on SQLite each removal runs whole at its call; on PostgreSQL the
  // statements of both sides interleave, differently from round to round).
  const ROUNDS = 20;
  /** Removes the server, failing its waiting mail, while `meanwhile` runs: the outcome and what `meanwhile` gave. */
  const removeWhile = <T>(serverId: number, meanwhile: Promise<T>) =>
    Promise.all([store.removeServer(serverId, { dropQueued: true, by: 'the command line', now: NOW }), meanwhile]);
  /** Whether `write` succeeded; a refusal is one of the allowed outcomes of a race. */
  const succeeds = (write: Promise<unknown>): Promise<boolean> =>
    write.then(
      () => true,
      () => false,
    );
  it('counts mail queued while it runs, or the mail is refused: none is left without its server', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const server = await store.servers.add(plainServer({ name: `race${round}` }));
      await store.queue.insert([message(`OLD${round}`, server.id)]);
      const [outcome, inserted] = await removeWhile(server.id, succeeds(store.queue.insert([message(`NEW${round}`, server.id)])));
      expect(outcome.kind).toBe('removed');
      const failed = outcome.kind === 'removed' ? outcome.failed : [];
      expect(failed).toContain(`OLD${round}`);
      // Mail queued before the removal looked is failed with the rest; mail queued after it is refused.
      expect(failed.includes(`NEW${round}`)).toBe(inserted);
      expect(await orphanedIn(engine, store)).toBe(0);
    }
  });

  it('refuses, or fails the message, when the relay claims mail while it runs', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const server = await store.servers.add(plainServer({ name: `race${round}` }));
      await store.queue.insert([message(`M${round}`, server.id)]);
      const [outcome, claimed] = await removeWhile(server.id, store.queue.claim(`M${round}`, NOW));
      if (claimed) {
        expect(outcome).toEqual({ kind: 'in-flight', sending: 1 });
        expect(await store.queue.get(`M${round}`)).toMatchObject({ status: 'sending', serverId: server.id });
      } else {
        expect(outcome).toEqual({ kind: 'removed', failed: [`M${round}`] });
        expect(await store.queue.get(`M${round}`)).toMatchObject({ status: 'failed', serverId: null });
      }
      expect(await orphanedIn(engine, store)).toBe(0);
    }
  });

  it('refuses when a relay user for the server arrives while it runs, or the relay user is refused', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const server = await store.servers.add(plainServer({ name: `race${round}` }));
      const [outcome, added] = await removeWhile(
        server.id,
        succeeds(store.relayUsers.add({ name: `scanner${round}`, passwordHash: 'scrypt$unused', serverId: server.id, allowFrom: [] })),
      );
      expect(outcome).toEqual(added ? { kind: 'in-use', relayUsers: [`scanner${round}`], networks: [] } : { kind: 'removed', failed: [] });
      expect(await store.servers.get(server.id)).toEqual(added ? expect.objectContaining({ id: server.id }) : undefined);
    }
  });
});

// PostgreSQL-specific: another instance's transaction, held open behind the seam while the removal runs.
describe.skipIf(!ENGINES.includes('postgres'))('removing an email server on PostgreSQL beside an open transaction', () => {
  let es: EngineStore;
  let store: PostgresStore;
  beforeEach(async () => {
    es = await openEngineStore('postgres', () => NOW);
    store = es.store as PostgresStore;
  });
  afterEach(() => es.cleanup());

  /** Resolves once some statement waits for a lock another transaction holds (each check is a round trip). */
  async function someoneWaits(): Promise<void> {
    for (let check = 0; check < 10_000; check++) {
      const row = await store.pg.row<{ n: number }>(
        `SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if ((row?.n ?? 0) > 0) return;
    }
    throw new Error('nothing waited for a lock');
  }

  it('waits for a claim in progress and then refuses, the mail being in flight', async () => {
    const server = await store.servers.add(plainServer());
    await store.queue.insert([message('M1', server.id)]);
    const claim = await store.pg.pool.connect();
    try {
      // Another instance claims the message and has not committed yet.
      await claim.query('BEGIN');
      await claim.query(`UPDATE messages SET status = 'sending', attempts = attempts + 1 WHERE id = 'M1'`);
      const removal = store.removeServer(server.id, { dropQueued: true, by: 'the command line', now: NOW });
      await someoneWaits();
      await claim.query('COMMIT');
      expect(await removal).toEqual({ kind: 'in-flight', sending: 1 });
    } finally {
      claim.release();
    }
    expect(await store.queue.get('M1')).toMatchObject({ status: 'sending', serverId: server.id });
  });

  it('waits for a relay user being added for the server and then refuses, naming it', async () => {
    const server = await store.servers.add(plainServer());
    const add = await store.pg.pool.connect();
    try {
      // Another instance adds a relay user for the server and has not committed yet.
      await add.query('BEGIN');
      await add.query(
        `INSERT INTO relay_users (name, password_hash, server_id, created_at, updated_at) VALUES ('scanner', 'scrypt$unused', $1, 0, 0)`,
        [server.id],
      );
      const removal = store.removeServer(server.id, { dropQueued: true, by: 'the command line', now: NOW });
      await someoneWaits();
      await add.query('COMMIT');
      expect(await removal).toEqual({ kind: 'in-use', relayUsers: ['scanner'], networks: [] });
    } finally {
      add.release();
    }
    expect(await store.servers.get(server.id)).toBeDefined();
  });
});

describe('removing an email server', () => {
  // SQLite-specific: a database file at an earlier schema, migrated on open.
  it('fails, on upgrade, waiting mail an earlier version left without its server', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'relay365-upgrade-'));
    try {
      // A database at schema 4, where deleting a server set its waiting mail's server_id to NULL.
      const old = new Database(path.join(dir, 'relay365.db'));
      for (const sql of MIGRATIONS.slice(0, 4)) old.exec(sql);
      old.pragma('user_version = 4');
      const insert = old.prepare(
        `INSERT INTO messages (id, server_id, mail_from, size, status, next_attempt_at, received_at, expires_at, updated_at)
         VALUES (?, NULL, 'erp@contoso.com', 1, ?, 0, 0, 1e12, 0)`,
      );
      insert.run('STRANDED', 'queued');
      insert.run('STRANDEDHELD', 'held');
      insert.run('FINISHED', 'delivered');
      old.prepare(`INSERT INTO recipients (message_id, address) VALUES ('STRANDED', 'alice@fabrikam.com')`).run();
      old.close();

      const store = createStore(dir, createSecretBox(Buffer.from('ab'.repeat(32), 'hex')));
      try {
        expect(orphanedWaiting(store.db)).toBe(0);
        expect(await store.queue.get('STRANDED')).toMatchObject({ status: 'failed', lastReply: 'its email server was removed' });
        expect(await store.queue.get('STRANDEDHELD')).toMatchObject({ status: 'failed' });
        expect(await store.queue.get('FINISHED')).toMatchObject({ status: 'delivered' });
        expect(await store.queue.recipients('STRANDED')).toMatchObject([{ address: 'alice@fabrikam.com', status: 'failed' }]);
        expect(await store.queue.events('STRANDED')).toMatchObject([{ kind: 'failed', detail: 'its email server was removed' }]);
        expect(await store.queue.bodilessIds()).not.toContain('STRANDED');
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
