/**
 * Admin panel users and their permissions, plus the one-time setup tokens
 * that create the first Super Admin. Passwords arrive already hashed (the
 * admin module owns hashing); a new password ends the user's other sessions
 * in the same transaction. Setup tokens are stored as SHA-256 hashes.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './db.js';

export interface User {
  id: number;
  email: string;
  /** `Make this user a Super Admin`: every permission, and the Users page. */
  isSuperAdmin: boolean;
  /** `Settings: Update Settings`: may change email servers and the queue. */
  canUpdateSettings: boolean;
  createdAt: number;
}

export interface NewUser {
  email: string;
  passwordHash: string;
  isSuperAdmin: boolean;
  canUpdateSettings: boolean;
}

/** A `users` row, as both engines read it. */
export interface UserRow {
  id: number;
  email: string;
  password_hash: string;
  is_super_admin: number;
  can_update_settings: number;
  created_at: number;
}

export interface UserRepo {
  count(): number;
  list(): User[];
  get(id: number): User | undefined;
  findByEmail(email: string): User | undefined;
  /** The stored password hash, for the login check only. */
  passwordHash(id: number): string | null;
  add(user: NewUser): User;
  /** Changes permissions (a password changes only with `setPassword`, which also ends sessions). */
  update(id: number, changes: Partial<Pick<NewUser, 'isSuperAdmin' | 'canUpdateSettings'>>): User;
  /**
   * Sets a new password and ends every session of the user except `keepSession`
   * (the id hash of the session that made the change; null ends them all).
   * Returns how many sessions ended.
   */
  setPassword(id: number, passwordHash: string, keepSession: string | null): number;
  remove(id: number): void;
  countSuperAdmins(): number;
  /** Creates a one-time setup token (valid `ttlMs`), invalidating older ones; returns the raw token. */
  createSetupToken(ttlMs: number): string;
  /** True when `token` is known, unused and not expired. */
  checkSetupToken(token: string): boolean;
  /** Marks the token used; false when it was unknown, used or expired (single use). */
  useSetupToken(token: string): boolean;
}

/** A permission flag to write: 1 or 0, or null to keep the stored one (`COALESCE`). */
export const flagOrKeep = (value: boolean | undefined): number | null => (value === undefined ? null : value ? 1 : 0);

/** SHA-256 of a random token, hex: what the store keeps instead of the token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token: 32 bytes, base64url. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A `users` row as the panel sees it (without its password hash). */
export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    isSuperAdmin: row.is_super_admin === 1,
    canUpdateSettings: row.can_update_settings === 1,
    createdAt: row.created_at,
  };
}

/** Creates the repository over an open database. */
export function createUserRepo(db: Db, now: () => number = Date.now): UserRepo {
  const selectOne = db.prepare<[number], UserRow>('SELECT * FROM users WHERE id = ?');
  const selectByEmail = db.prepare<[string], UserRow>('SELECT * FROM users WHERE email = ?');
  const mustGet = (id: number): User => {
    const row = selectOne.get(id);
    if (!row) throw new Error(`no user with id ${id}`);
    return toUser(row);
  };

  return {
    count: () => (db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n,
    list: () => (db.prepare('SELECT * FROM users ORDER BY email').all() as UserRow[]).map(toUser),
    get: (id) => {
      const row = selectOne.get(id);
      return row ? toUser(row) : undefined;
    },
    findByEmail: (email) => {
      const row = selectByEmail.get(email.trim());
      return row ? toUser(row) : undefined;
    },
    passwordHash: (id) => selectOne.get(id)?.password_hash ?? null,
    add: (user) => {
      const info = db
        .prepare(
          `INSERT INTO users (email, password_hash, is_super_admin, can_update_settings, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(user.email.trim(), user.passwordHash, user.isSuperAdmin ? 1 : 0, user.canUpdateSettings ? 1 : 0, now(), now());
      return mustGet(Number(info.lastInsertRowid));
    },
    update: (id, changes) => {
      db.prepare(
        `UPDATE users SET is_super_admin = COALESCE(?, is_super_admin),
           can_update_settings = COALESCE(?, can_update_settings),
           updated_at = ?
         WHERE id = ?`,
      ).run(flagOrKeep(changes.isSuperAdmin), flagOrKeep(changes.canUpdateSettings), now(), id);
      return mustGet(id);
    },
    setPassword: db.transaction((id: number, passwordHash: string, keepSession: string | null): number => {
      db.prepare('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?').run(passwordHash, now(), id);
      return db.prepare('DELETE FROM sessions WHERE user_id = ? AND id_hash IS NOT ?').run(id, keepSession).changes;
    }),
    remove: (id) => {
      db.prepare('DELETE FROM users WHERE id = ?').run(id);
    },
    countSuperAdmins: () => (db.prepare('SELECT COUNT(*) AS n FROM users WHERE is_super_admin = 1').get() as { n: number }).n,
    createSetupToken: (ttlMs) => {
      const token = randomToken();
      db.transaction(() => {
        db.prepare('DELETE FROM setup_tokens').run();
        db.prepare('INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)').run(
          hashToken(token),
          now(),
          now() + ttlMs,
        );
      })();
      return token;
    },
    checkSetupToken: (token) =>
      db.prepare('SELECT 1 FROM setup_tokens WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?').get(hashToken(token), now()) !==
      undefined,
    useSetupToken: (token) =>
      db
        .prepare('UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?')
        .run(now(), hashToken(token), now()).changes > 0,
  };
}
