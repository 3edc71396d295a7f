/**
 * Per-server MSAL token caches on PostgreSQL, sealed at rest as in
 * token-caches.ts. Saving is one upsert, so two instances refreshing the same
 * server's tokens leave the last cache written, never an error.
 */
import type { Async } from '../async.js';
import type { TokenCacheRepo } from '../token-caches.js';
import type { PgContext } from './context.js';

/** The repository over the context's pool; values are sealed with its box. */
export function createPgTokenCachesRepo({ pg, box, now }: PgContext): Async<TokenCacheRepo> {
  return {
    load: async (serverId) => {
      const row = await pg.row<{ data: Buffer }>('SELECT data FROM token_caches WHERE server_id = $1', [serverId]);
      return row ? box.open(row.data) : null;
    },
    save: async (serverId, serialized) => {
      await pg.run(
        `INSERT INTO token_caches (server_id, data, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (server_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
        [serverId, box.seal(serialized), now()],
      );
    },
  };
}
