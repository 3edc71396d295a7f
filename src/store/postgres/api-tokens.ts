/**
 * API tokens for `/api/v1` in PostgreSQL: the same repository as
 * src/store/api-tokens.ts, which mints the tokens for both engines. Only a
 * token's SHA-256 is stored; a name is unique case-insensitively (the unique
 * index is on `lower(name)`, SQLite's `COLLATE NOCASE`).
 */
import type { Async } from '../async.js';
import {
  API_TOKEN_COLUMNS,
  API_TOKEN_PREFIX,
  isUseToRecord,
  mintApiToken,
  toApiToken,
  type ApiTokenRepo,
  type ApiTokenRow,
} from '../api-tokens.js';
import { hashToken } from '../users.js';
import type { PgContext } from './context.js';

/** Creates the repository over the context's pool. */
export function createPgApiTokensRepo({ pg, now }: PgContext): Async<ApiTokenRepo> {
  return {
    // COLLATE "C" after lower(): SQLite's NOCASE order (bytes after case folding), whatever the database's locale.
    list: async () =>
      (await pg.rows<ApiTokenRow>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens ORDER BY lower(name) COLLATE "C"`)).map(toApiToken),
    findByName: async (name) => {
      const row = await pg.row<ApiTokenRow>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE lower(name) = lower($1)`, [name]);
      return row ? toApiToken(row) : undefined;
    },
    add: async ({ name, scope }) => {
      const { token, hint } = mintApiToken();
      const row = await pg.row<ApiTokenRow>(
        `INSERT INTO api_tokens (name, scope, token_hash, hint, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING ${API_TOKEN_COLUMNS}`,
        [name, scope, hashToken(token), hint, now()],
      );
      return { apiToken: toApiToken(row as ApiTokenRow), token };
    },
    authenticate: async (presented, at) => {
      if (!presented.startsWith(API_TOKEN_PREFIX)) return undefined;
      const row = await pg.row<ApiTokenRow>(`SELECT ${API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1`, [hashToken(presented)]);
      if (!row) return undefined;
      if (!isUseToRecord(row.last_used_at, at)) return toApiToken(row);
      await pg.run('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2', [at, row.id]);
      return toApiToken({ ...row, last_used_at: at });
    },
    revoke: async (id) => (await pg.run('DELETE FROM api_tokens WHERE id = $1', [id])) > 0,
  };
}
