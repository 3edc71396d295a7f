/**
 * Relay users (the SMTP AUTH accounts of legacy apps) in PostgreSQL: the same
 * repository as src/store/relay-users.ts. A name is unique case-insensitively
 * (the unique index is on `lower(name)`, SQLite's `COLLATE NOCASE`), so it is
 * looked up and ordered by `lower(name)`.
 */
import type { Async } from '../async.js';
import { joinList, relayUserChangeValues, toRelayUser, type RelayUserRepo, type RelayUserRow } from '../relay-users.js';
import type { PgContext } from './context.js';

/** Orders names as SQLite's NOCASE does: bytes after case folding, whatever the database's locale. */
const BY_NAME = 'ORDER BY lower(name) COLLATE "C"';

/** Creates the repository over the context's pool. */
export function createPgRelayUsersRepo({ pg, now }: PgContext): Async<RelayUserRepo> {
  const userById = (id: number): Promise<RelayUserRow | undefined> => pg.row<RelayUserRow>('SELECT * FROM relay_users WHERE id = $1', [id]);

  return {
    list: async () => (await pg.rows<RelayUserRow>(`SELECT * FROM relay_users ${BY_NAME}`)).map(toRelayUser),
    get: async (id) => {
      const row = await userById(id);
      return row ? toRelayUser(row) : undefined;
    },
    findByName: async (name) => {
      const row = await pg.row<RelayUserRow>('SELECT * FROM relay_users WHERE lower(name) = lower($1)', [name.trim()]);
      return row ? toRelayUser(row) : undefined;
    },
    passwordHash: async (id) => (await userById(id))?.password_hash ?? null,
    add: async (user) => {
      const t = now();
      const row = await pg.row<RelayUserRow>(
        `INSERT INTO relay_users (name, password_hash, server_id, allowed_from, disabled, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING *`,
        [user.name, user.passwordHash, user.serverId, joinList(user.allowFrom) ?? null, user.disabled ? 1 : 0, t],
      );
      return toRelayUser(row as RelayUserRow);
    },
    update: async (id, changes) => {
      const row = await pg.row<RelayUserRow>(
        `UPDATE relay_users SET password_hash = COALESCE($1, password_hash),
           server_id = COALESCE($2, server_id),
           allowed_from = CASE WHEN $3 = 1 THEN $4 ELSE allowed_from END,
           disabled = COALESCE($5, disabled),
           updated_at = $6
         WHERE id = $7 RETURNING *`,
        [...relayUserChangeValues(changes), now(), id],
      );
      if (!row) throw new Error(`no relay user with id ${id}`);
      return toRelayUser(row);
    },
    remove: async (id) => (await pg.run('DELETE FROM relay_users WHERE id = $1', [id])) > 0,
    touch: async (id, at) => {
      await pg.run('UPDATE relay_users SET last_used_at = $1 WHERE id = $2', [at, id]);
    },
    namesForServer: async (serverId) =>
      (await pg.rows<{ name: string }>(`SELECT name FROM relay_users WHERE server_id = $1 ${BY_NAME}`, [serverId])).map((r) => r.name),
  };
}
