/**
 * Per-server MSAL token caches, sealed at rest: the serialized cache holds
 * access and refresh tokens, so it never touches disk in the clear.
 */
import type { Db } from './db.js';
import type { SecretBox } from './secret-box.js';

export interface TokenCacheRepo {
  load(serverId: number): string | null;
  save(serverId: number, serialized: string): void;
}

/** Creates the repository; values are sealed with `box`. */
export function createTokenCacheRepo(db: Db, box: SecretBox, now: () => number = Date.now): TokenCacheRepo {
  const select = db.prepare<[number], { data: Buffer }>('SELECT data FROM token_caches WHERE server_id = ?');
  const upsert = db.prepare<[number, Buffer, number]>(
    `INSERT INTO token_caches (server_id, data, updated_at) VALUES (?, ?, ?)
     ON CONFLICT(server_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
  );
  return {
    load: (serverId) => {
      const row = select.get(serverId);
      return row ? box.open(row.data) : null;
    },
    save: (serverId, serialized) => {
      upsert.run(serverId, box.seal(serialized), now());
    },
  };
}
