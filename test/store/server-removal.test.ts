/**
 * Removing an email server: its waiting mail is failed with it in one
 * transaction, or the removal is refused while mail is in flight or relay
 * users or networks route to it; no waiting message ever points at no server,
 * not even in a database an earlier version left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCidr, type Cidr } from '../../src/cidr.js';
import { createStore } from '../../src/store/index.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import type { MessageStatus, NewMessage } from '../../src/store/queue.js';
import { createSecretBox } from '../../src/store/secret-box.js';
import { createFixture, plainServer, queuedMessage, type Fixture } from '../helpers/fixture.js';

const NOW = Date.parse('2030-06-01T12:00:00Z');
const WAITING: readonly MessageStatus[] = ['queued', 'deferred', 'sending', 'held'];

let fx: Fixture;
afterEach(() => fx?.cleanup());

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
const orphanedWaiting = (db: Database.Database): number =>
  (
    db
      .prepare(
        `SELECT COUNT(*) AS n FROM messages
         WHERE status IN (${WAITING.map(() => '?').join(', ')}) AND (server_id IS NULL OR server_id NOT IN (SELECT id FROM servers))`,
      )
      .get(...WAITING) as { n: number }
  ).n;

describe('removing an email server', () => {
  it('fails its queued, deferred and held mail with an event naming the removal, in the same transaction', async () => {
    fx = createFixture();
    const { store } = fx;
    const server = await store.servers.add(plainServer({ name: 'smarthost' }));
    await store.servers.add(plainServer({ name: 'other' }));
    await store.queue.insert([
      message('QUEUED', server.id),
      message('DEFERRED', server.id),
      message('HELD', server.id),
      message('DONE', server.id),
    ]);
    await store.queue.insert([message('OTHER', 2)]);
    await store.queue.recordAttempt('DEFERRED', { kind: 'defer', nextAttemptAt: NOW + 60_000, reply: '451 4.7.500' }, NOW);
    await store.queue.recordAttempt('HELD', { kind: 'hold', reply: '535 5.7.139' }, NOW);
    const ok = [
      { address: 'alice@fabrikam.com', reply: '250 2.0.0 OK' },
      { address: 'bob@fabrikam.com', reply: '250 2.0.0 OK' },
    ];
    await store.queue.recordAttempt('DONE', { kind: 'done', delivered: ok, failed: [] }, NOW);

    expect(await store.removeServer(server.id, { dropQueued: false, by: 'admin@example.com', now: NOW + 1 })).toEqual({
      kind: 'waiting',
      waiting: 3,
    });
    expect(await store.servers.get(server.id)).toBeDefined();
    expect(await store.queue.get('QUEUED')).toMatchObject({ status: 'queued' });

    const outcome = await store.removeServer(server.id, { dropQueued: true, by: 'admin@example.com', now: NOW + 1 });
    expect(outcome).toEqual({ kind: 'removed', failed: expect.arrayContaining(['QUEUED', 'DEFERRED', 'HELD']) });
    expect(await store.servers.get(server.id)).toBeUndefined();
    const reason = 'not delivered: its email server smarthost was removed by admin@example.com';
    for (const id of ['QUEUED', 'DEFERRED', 'HELD']) {
      expect(await store.queue.get(id)).toMatchObject({ status: 'failed', serverId: null, lastReply: reason });
      expect((await store.queue.recipients(id)).map((r) => r.status)).toEqual(['failed', 'failed']);
      expect((await store.queue.events(id)).at(-1)).toMatchObject({ kind: 'failed', detail: reason, at: NOW + 1 });
    }
    // Delivered mail keeps its history; another server's mail is untouched.
    expect(await store.queue.get('DONE')).toMatchObject({ status: 'delivered', serverId: null });
    expect(await store.queue.get('OTHER')).toMatchObject({ status: 'queued', serverId: 2 });
    // SQLite-specific: the rows themselves, read behind the seam.
    expect(orphanedWaiting(store.db)).toBe(0);
  });

  it('refuses while mail is in flight, even with mail to drop', async () => {
    fx = createFixture();
    const { store } = fx;
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
    fx = createFixture();
    const { store } = fx;
    const server = await store.servers.add(plainServer());
    await store.networks.add(parseCidr('10.0.0.0/8') as Cidr, server.id);
    await store.relayUsers.add({ name: 'scanner', passwordHash: 'scrypt$unused', serverId: server.id, allowFrom: [] });
    await store.queue.insert([message('QUEUED', server.id), message('SENDING', server.id, 'sending')]);
    expect(await store.removeServer(server.id, { dropQueued: true, by: 'the command line', now: NOW })).toEqual({
      kind: 'in-use',
      relayUsers: ['scanner'],
      networks: ['10.0.0.0/8'],
    });
    expect(await store.servers.get(server.id)).toBeDefined();
    expect(await store.queue.get('QUEUED')).toMatchObject({ status: 'queued', serverId: server.id });
    expect((await store.queue.events('QUEUED')).map((e) => e.kind)).toEqual(['received']);
  });

  it.each(['queued', 'sending'] as const)(
    'refuses a bare delete of a server with %s mail, so no row ever points at no server',
    async (status) => {
      fx = createFixture();
      const { store } = fx;
      const server = await store.servers.add(plainServer());
      await store.queue.insert([message('M1', server.id, status === 'sending' ? 'sending' : undefined)]);
      await expect(store.servers.remove(server.id)).rejects.toThrow('email server has mail waiting or in flight');
      // SQLite-specific: the schema's trigger refuses a bare DELETE too.
      expect(() => store.db.prepare('DELETE FROM servers').run()).toThrow('email server has mail waiting or in flight');
      expect(await store.queue.get('M1')).toMatchObject({ status, serverId: server.id });
    },
  );

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
        expect((await store.queue.liveIds()).has('STRANDED')).toBe(false);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
