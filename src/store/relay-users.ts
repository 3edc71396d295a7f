/**
 * Relay users: the SMTP AUTH accounts legacy apps log in with. Each is bound
 * to one email server and may carry an allowed From list. Passwords arrive
 * already hashed and the hash never leaves this module except for the login
 * check.
 */
import type { Db } from './db.js';

export interface RelayUser {
  id: number;
  name: string;
  serverId: number;
  /** Addresses and `@domain`s this user may send as; empty means any. */
  allowFrom: string[];
  disabled: boolean;
  lastUsedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewRelayUser {
  name: string;
  passwordHash: string;
  serverId: number;
  allowFrom: string[];
  disabled?: boolean;
}

export type RelayUserChanges = Partial<Omit<NewRelayUser, 'name'>>;

/** A `relay_users` row, as both engines read it. */
export interface RelayUserRow {
  id: number;
  name: string;
  password_hash: string;
  server_id: number;
  allowed_from: string | null;
  disabled: number;
  last_used_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface RelayUserRepo {
  list(): RelayUser[];
  get(id: number): RelayUser | undefined;
  findByName(name: string): RelayUser | undefined;
  /** The stored hash, for the SMTP AUTH check only. */
  passwordHash(id: number): string | null;
  add(user: NewRelayUser): RelayUser;
  update(id: number, changes: RelayUserChanges): RelayUser;
  remove(id: number): boolean;
  /** Records a successful login. */
  touch(id: number, at: number): void;
  /** Names of the relay users bound to a server (an email server with users cannot be removed). */
  namesForServer(serverId: number): string[];
}

/** A `relay_users` row as relay365 sees it (without its password hash). */
export function toRelayUser(row: RelayUserRow): RelayUser {
  return {
    id: row.id,
    name: row.name,
    serverId: row.server_id,
    allowFrom: row.allowed_from ? row.allowed_from.split('\n') : [],
    disabled: row.disabled === 1,
    lastUsedAt: row.last_used_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** An allowed From list as stored: one entry a line, null for an empty list, undefined to keep the stored one. */
export const joinList = (list: string[] | undefined): string | null | undefined =>
  list === undefined ? undefined : list.join('\n') || null;

/**
 * The values of an UPDATE that changes what `changes` names: the password hash, the server, whether to replace the
 * allowed From list (1 or 0) and the list, the disabled flag; null keeps the stored value (`COALESCE`).
 */
export function relayUserChangeValues(changes: RelayUserChanges): [string | null, number | null, number, string | null, number | null] {
  const allowFrom = joinList(changes.allowFrom);
  return [
    changes.passwordHash ?? null,
    changes.serverId ?? null,
    allowFrom === undefined ? 0 : 1,
    allowFrom ?? null,
    changes.disabled === undefined ? null : changes.disabled ? 1 : 0,
  ];
}

/** Creates the repository over an open database. */
export function createRelayUserRepo(db: Db, now: () => number = Date.now): RelayUserRepo {
  const selectOne = db.prepare<[number], RelayUserRow>('SELECT * FROM relay_users WHERE id = ?');
  const selectByName = db.prepare<[string], RelayUserRow>('SELECT * FROM relay_users WHERE name = ?');
  const selectAll = db.prepare<[], RelayUserRow>('SELECT * FROM relay_users ORDER BY name');
  const mustGet = (id: number): RelayUser => {
    const row = selectOne.get(id);
    if (!row) throw new Error(`no relay user with id ${id}`);
    return toRelayUser(row);
  };

  return {
    list: () => selectAll.all().map(toRelayUser),
    get: (id) => {
      const row = selectOne.get(id);
      return row ? toRelayUser(row) : undefined;
    },
    findByName: (name) => {
      const row = selectByName.get(name.trim());
      return row ? toRelayUser(row) : undefined;
    },
    passwordHash: (id) => selectOne.get(id)?.password_hash ?? null,
    add: (user) => {
      const t = now();
      const info = db
        .prepare(
          `INSERT INTO relay_users (name, password_hash, server_id, allowed_from, disabled, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(user.name, user.passwordHash, user.serverId, joinList(user.allowFrom) ?? null, user.disabled ? 1 : 0, t, t);
      return mustGet(Number(info.lastInsertRowid));
    },
    update: (id, changes) => {
      db.prepare(
        `UPDATE relay_users SET password_hash = COALESCE(?, password_hash),
           server_id = COALESCE(?, server_id),
           allowed_from = CASE WHEN ? = 1 THEN ? ELSE allowed_from END,
           disabled = COALESCE(?, disabled),
           updated_at = ?
         WHERE id = ?`,
      ).run(...relayUserChangeValues(changes), now(), id);
      return mustGet(id);
    },
    remove: (id) => db.prepare('DELETE FROM relay_users WHERE id = ?').run(id).changes > 0,
    touch: (id, at) => {
      db.prepare('UPDATE relay_users SET last_used_at = ? WHERE id = ?').run(at, id);
    },
    namesForServer: (serverId) =>
      (db.prepare('SELECT name FROM relay_users WHERE server_id = ? ORDER BY name').all(serverId) as { name: string }[]).map((r) => r.name),
  };
}
