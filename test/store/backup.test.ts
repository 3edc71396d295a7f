/**
 * Database snapshots for backups and the checks of a database to restore.
 * SQLite-specific: SQLite's online backup, the copy's file and its pragmas.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import {
  checkDatabaseFile,
  copyDatabase,
  CURRENT_SCHEMA_VERSION,
  integrityProblem,
  openExistingDatabase,
  snapshotDatabase,
  waitingMail,
  waitingWithoutBody,
} from '../../src/store/backup.js';
import { createFixture, plainServer, queuedMessage, type Fixture } from '../helpers/fixture.js';

const NOW = 1_700_000_000_000;

let fx: Fixture;
let serverId: number;
let copy: Db | null;
beforeEach(async () => {
  fx = createFixture();
  serverId = (await fx.store.servers.add(plainServer())).id;
  copy = null;
});
afterEach(() => {
  copy?.close();
  fx.cleanup();
});

const bodyOf = (id: string): Buffer => Buffer.from(`Received: by relay365\r\nSubject: ${id}\r\n\r\nbody of ${id}\r\n`);

/** Queues messages of `size` bytes each, with their bodies unless `withBody` is false. */
async function queue(ids: string[], { size = 100, withBody = true }: { size?: number; withBody?: boolean } = {}): Promise<void> {
  await fx.store.queue.insert(
    ids.map((id) => queuedMessage(id, serverId, { size, subject: id, receivedAt: NOW, expiresAt: NOW + 86_400_000 })),
    withBody ? ids.map((id) => ({ messageId: id, seq: 0, bytes: bodyOf(id) })) : [],
  );
}

describe('database snapshots for backups', () => {
  it('copies the live database into a sound single-file copy that has the same waiting messages and their bodies', async () => {
    await queue(['A1', 'B2']);
    const file = path.join(fx.dir, 'copy.db');
    await copyDatabase(fx.store.db, file);
    copy = openExistingDatabase(file);
    expect(integrityProblem(copy)).toBeNull();
    expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(waitingMail(copy)).toEqual({ messages: 2, receivedBytes: 200 });
    expect(waitingWithoutBody(copy)).toEqual([]);
    const body = copy.prepare(`SELECT bytes FROM message_bodies WHERE message_id = ? AND seq = 0`).get('B2') as { bytes: Buffer };
    expect(body.bytes.equals(bodyOf('B2'))).toBe(true);
  });

  it('counts only the messages still waiting, and their size as received', async () => {
    await queue(['WAIT', 'DONE'], { size: 1000 });
    await queue(['ALSO'], { size: 24 });
    await fx.store.queue.markLost('DONE', 'body missing', NOW + 1000);
    expect(waitingMail(fx.store.db)).toEqual({ messages: 2, receivedBytes: 1024 });
  });

  it('snapshots the live database file into an owner-only copy and says what the copy holds', async () => {
    await queue(['A1', 'B2', 'C3'], { size: 10 });
    const file = path.join(fx.dir, 'snapshot.db');
    const snapshot = await snapshotDatabase(fx.store.db.name, file);
    expect(snapshot).toEqual({ schemaVersion: CURRENT_SCHEMA_VERSION, waiting: { messages: 3, receivedBytes: 30 } });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // Mail that arrives after the snapshot is not in it.
    await queue(['LATE']);
    copy = openExistingDatabase(file);
    expect(waitingMail(copy)).toEqual({ messages: 3, receivedBytes: 30 });
  });
});

describe('checks of a database to restore', () => {
  it('names the waiting messages whose body the database does not hold', async () => {
    await queue(['WITH']);
    await queue(['WITHOUT'], { withBody: false });
    const file = path.join(fx.dir, 'copy.db');
    await copyDatabase(fx.store.db, file);
    expect(checkDatabaseFile(file)).toEqual({
      kind: 'sound',
      version: CURRENT_SCHEMA_VERSION,
      waiting: { messages: 2, receivedBytes: 200 },
      withoutBody: ['WITHOUT'],
    });
  });

  it('names every waiting message of a database from before bodies moved into it', async () => {
    await queue(['A1', 'B2']);
    const file = path.join(fx.dir, 'old.db');
    await copyDatabase(fx.store.db, file);
    copy = openExistingDatabase(file);
    copy.exec(`DROP TABLE message_bodies; PRAGMA user_version = ${CURRENT_SCHEMA_VERSION - 1};`);
    copy.close();
    copy = null;
    expect(checkDatabaseFile(file)).toMatchObject({ kind: 'sound', version: CURRENT_SCHEMA_VERSION - 1, withoutBody: ['A1', 'B2'] });
  });

  it('refuses a database of a newer relay365', async () => {
    const file = path.join(fx.dir, 'newer.db');
    await copyDatabase(fx.store.db, file);
    copy = openExistingDatabase(file);
    copy.pragma(`user_version = ${CURRENT_SCHEMA_VERSION + 1}`);
    expect(checkDatabaseFile(file)).toEqual({ kind: 'newer', version: CURRENT_SCHEMA_VERSION + 1 });
  });
});
