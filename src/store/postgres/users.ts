/**
 * Admin panel users and the one-time setup tokens, in PostgreSQL: the same
 * repository as src/store/users.ts. An email is unique case-insensitively
 * (the unique index is on `lower(email)`, SQLite's `COLLATE NOCASE`), so it is
 * looked up and ordered by `lower(email)`. A new password ends the user's
 * other sessions in the same transaction, and a setup token is used once even
 * when two instances receive it at the same moment.
 */
import type { Async } from '../async.js';
import { flagOrKeep, hashToken, randomToken, toUser, type User, type UserRepo, type UserRow } from '../users.js';
import type { PgContext } from './context.js';

/** Creates the repository over the context's pool. */
export function createPgUsersRepo({ pg, now }: PgContext): Async<UserRepo> {
  const userById = async (id: number): Promise<UserRow | undefined> => pg.row<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
  const mustBe = (row: UserRow | undefined, id: number): User => {
    if (!row) throw new Error(`no user with id ${id}`);
    return toUser(row);
  };

  return {
    count: async () => (await pg.row<{ n: number }>('SELECT COUNT(*) AS n FROM users'))?.n ?? 0,
    // COLLATE "C" after lower(): SQLite's NOCASE order (bytes after case folding), whatever the database's locale.
    list: async () => (await pg.rows<UserRow>('SELECT * FROM users ORDER BY lower(email) COLLATE "C"')).map(toUser),
    get: async (id) => {
      const row = await userById(id);
      return row ? toUser(row) : undefined;
    },
    findByEmail: async (email) => {
      const row = await pg.row<UserRow>('SELECT * FROM users WHERE lower(email) = lower($1)', [email.trim()]);
      return row ? toUser(row) : undefined;
    },
    passwordHash: async (id) => (await userById(id))?.password_hash ?? null,
    add: async (user) => {
      const t = now();
      const row = await pg.row<UserRow>(
        `INSERT INTO users (email, password_hash, is_super_admin, can_update_settings, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING *`,
        [user.email.trim(), user.passwordHash, user.isSuperAdmin ? 1 : 0, user.canUpdateSettings ? 1 : 0, t],
      );
      return toUser(row as UserRow);
    },
    update: async (id, changes) => {
      const row = await pg.row<UserRow>(
        `UPDATE users SET is_super_admin = COALESCE($1, is_super_admin),
           can_update_settings = COALESCE($2, can_update_settings),
           updated_at = $3
         WHERE id = $4 RETURNING *`,
        [flagOrKeep(changes.isSuperAdmin), flagOrKeep(changes.canUpdateSettings), now(), id],
      );
      return mustBe(row, id);
    },
    setPassword: (id, passwordHash, keepSession) =>
      pg.tx(async (sql) => {
        await sql.run('UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3', [passwordHash, now(), id]);
        return sql.run('DELETE FROM sessions WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2', [id, keepSession]);
      }),
    remove: async (id) => {
      await pg.run('DELETE FROM users WHERE id = $1', [id]);
    },
    countSuperAdmins: async () => (await pg.row<{ n: number }>('SELECT COUNT(*) AS n FROM users WHERE is_super_admin = 1'))?.n ?? 0,
    createSetupToken: async (ttlMs) => {
      const token = randomToken();
      await pg.tx(async (sql) => {
        // Instances starting together each create a token: the lock orders them, so only the last one
        // stays valid (as in SQLite) instead of each DELETE missing the other's uncommitted row.
        await sql.run('LOCK TABLE setup_tokens IN SHARE ROW EXCLUSIVE MODE');
        await sql.run('DELETE FROM setup_tokens');
        const t = now();
        await sql.run('INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)', [
          hashToken(token),
          t,
          t + ttlMs,
        ]);
      });
      return token;
    },
    checkSetupToken: async (token) =>
      (await pg.row('SELECT 1 FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2', [
        hashToken(token),
        now(),
      ])) !== undefined,
    // One UPDATE: of two instances using the same token at once, the second finds used_at set and changes nothing.
    useSetupToken: async (token) => {
      const t = now();
      return (
        (await pg.run('UPDATE setup_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1', [
          t,
          hashToken(token),
        ])) > 0
      );
    },
  };
}
