/**
 * API tokens for `/api/v1`: a name, a scope (`read` or `write`), and only the
 * SHA-256 of the token itself, which is shown once when it is created. The
 * first characters after the prefix are kept as a hint so that an admin can
 * tell tokens apart. Revoking a token deletes it.
 */
import { z } from 'zod';
import type { Db } from './db.js';
import { hashToken, randomToken } from './users.js';

export const API_SCOPES = ['read', 'write'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** Every token starts with this, so that secret scanners and people recognise it. */
export const API_TOKEN_PREFIX = 'r365_';

/** How often a token's last use is written: once a minute is enough to show, and spares the disk. */
const TOUCH_EVERY_MS = 60_000;

/** A new token's name and scope, as the panel, the CLI and the API validate them. */
export const newApiTokenSchema = z.object({
  name: z
    .string({ error: 'Enter a name such as provisioning-script.' })
    .trim()
    .min(1, 'Enter a name such as provisioning-script.')
    .max(64, 'A name has at most 64 characters.')
    .regex(/^[A-Za-z0-9._ -]+$/, 'Use letters, digits, spaces, dots, dashes or underscores.'),
  scope: z.enum(API_SCOPES, { error: 'Choose read or write.' }),
});
export type NewApiToken = z.output<typeof newApiTokenSchema>;

export interface ApiToken {
  id: number;
  name: string;
  scope: ApiScope;
  /** The first characters of the token, e.g. `r365_Kx3v…`; never enough to use it. */
  hint: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** An `api_tokens` row without its hash, as both engines read it. */
export interface ApiTokenRow {
  id: number;
  name: string;
  scope: ApiScope;
  hint: string;
  created_at: number;
  last_used_at: number | null;
}

export interface ApiTokenRepo {
  list(): ApiToken[];
  findByName(name: string): ApiToken | undefined;
  /** Creates a token; the returned `token` is the only time it exists in clear. */
  add(input: NewApiToken): { apiToken: ApiToken; token: string };
  /** The token `presented` stands for, recording its use `at`; undefined when unknown or revoked. */
  authenticate(presented: string, at: number): ApiToken | undefined;
  revoke(id: number): boolean;
}

/** The columns of an `ApiTokenRow`: never the token's hash. */
export const API_TOKEN_COLUMNS = 'id, name, scope, hint, created_at, last_used_at';

/** An `api_tokens` row as the API sees it. */
export function toApiToken(row: ApiTokenRow): ApiToken {
  return { id: row.id, name: row.name, scope: row.scope, hint: row.hint, createdAt: row.created_at, lastUsedAt: row.last_used_at };
}

/** A new token, and the hint of it that is kept for the admin's eyes. */
export function mintApiToken(): { token: string; hint: string } {
  const token = `${API_TOKEN_PREFIX}${randomToken()}`;
  return { token, hint: `${token.slice(0, API_TOKEN_PREFIX.length + 4)}…` };
}

/** Whether a use `at` is written: the first one, then at most once a minute. */
export const isUseToRecord = (lastUsedAt: number | null, at: number): boolean => lastUsedAt === null || at - lastUsedAt >= TOUCH_EVERY_MS;

/** Creates the repository over an open database. */
export function createApiTokenRepo(db: Db, now: () => number = Date.now): ApiTokenRepo {
  const selectAll = db.prepare<[], ApiTokenRow>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens ORDER BY name`);
  const selectByName = db.prepare<[string], ApiTokenRow>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE name = ?`);
  const selectByHash = db.prepare<[string], ApiTokenRow>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?`);
  const insert = db.prepare<[string, ApiScope, string, string, number]>(
    'INSERT INTO api_tokens (name, scope, token_hash, hint, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const touch = db.prepare<[number, number]>('UPDATE api_tokens SET last_used_at = ? WHERE id = ?');
  const remove = db.prepare<[number]>('DELETE FROM api_tokens WHERE id = ?');
  return {
    list: () => selectAll.all().map(toApiToken),
    findByName(name) {
      const row = selectByName.get(name);
      return row ? toApiToken(row) : undefined;
    },
    add({ name, scope }) {
      const { token, hint } = mintApiToken();
      const { lastInsertRowid } = insert.run(name, scope, hashToken(token), hint, now());
      return {
        apiToken: { id: Number(lastInsertRowid), name, scope, hint, createdAt: now(), lastUsedAt: null },
        token,
      };
    },
    authenticate(presented, at) {
      if (!presented.startsWith(API_TOKEN_PREFIX)) return undefined;
      const row = selectByHash.get(hashToken(presented));
      if (!row) return undefined;
      if (isUseToRecord(row.last_used_at, at)) {
        touch.run(at, row.id);
        row.last_used_at = at;
      }
      return toApiToken(row);
    },
    revoke: (id) => remove.run(id).changes > 0,
  };
}
