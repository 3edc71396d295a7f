import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { copyDatabase, integrityProblem, openExistingDatabase, settleFinished, waitingMessageIds } from '../../src/store/backup.js';
import { createFixture, plainServer, queuedMessage, type Fixture } from '../helpers/fixture.js';

const NOW = 1_700_000_000_000;

let fx: Fixture;
let copy: Db | null;
beforeEach(() => {
  fx = createFixture();
  copy = null;
});
afterEach(() => {
  copy?.close();
  fx.cleanup();
});

function queue(...ids: string[]): void {
  const serverId = fx.store.servers.add(plainServer()).id;
  fx.store.queue.insert(
    ids.map((id) =>
      queuedMessage(id, serverId, {
        mailFrom: 'erp@contoso.com',
        recipients: ['alice@fabrikam.test', 'bob@fabrikam.test'],
        subject: id,
        receivedAt: NOW,
        expiresAt: NOW + 86_400_000,
      }),
    ),
  );
}

describe('database snapshots for backups', () => {
  it('copies the live database into a sound single-file copy that has the same waiting messages', async () => {
    queue('A1', 'B2');
    const file = path.join(fx.dir, 'copy.db');
    await copyDatabase(fx.store.db, file);
    copy = openExistingDatabase(file);
    expect(integrityProblem(copy)).toBeNull();
    expect(copy.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(waitingMessageIds(copy).sort()).toEqual(['A1', 'B2']);
  });

  it('gives a snapshot the final state of messages that finished or were deleted after it was taken', async () => {
    queue('DONE', 'GONE', 'WAIT');
    const file = path.join(fx.dir, 'copy.db');
    await copyDatabase(fx.store.db, file);
    fx.store.queue.markLost('DONE', 'spool file missing', NOW + 1000);
    fx.store.queue.remove('GONE', NOW + 1000);
    copy = openExistingDatabase(file);
    copy.pragma('foreign_keys = ON');

    expect(settleFinished(copy, fx.store.db, ['DONE', 'GONE', 'WAIT'])).toEqual({ settled: 1, removed: 1 });
    expect(waitingMessageIds(copy)).toEqual(['WAIT']);
    const row = (db: Db, id: string): unknown => db.prepare(`SELECT status, last_reply, updated_at FROM messages WHERE id = ?`).get(id);
    expect(row(copy, 'DONE')).toEqual(row(fx.store.db, 'DONE'));
    expect(row(copy, 'GONE')).toBeUndefined();
    const recipients = (db: Db, id: string): unknown =>
      db.prepare(`SELECT address, status, reply FROM recipients WHERE message_id = ? ORDER BY address`).all(id);
    expect(recipients(copy, 'DONE')).toEqual(recipients(fx.store.db, 'DONE'));
    expect(recipients(copy, 'GONE')).toEqual([]);
  });
});
