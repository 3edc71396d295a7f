/**
 * Allowed networks (CIDR rules whose clients relay without SMTP AUTH) in
 * PostgreSQL: the same repository as src/store/networks.ts. A CIDR is stored
 * in its normal text form, unique as it is written.
 */
import type { Async } from '../async.js';
import { toRule, type NetworkRepo, type NetworkRow } from '../networks.js';
import type { PgContext } from './context.js';

/** Creates the repository over the context's pool. */
export function createPgNetworksRepo({ pg, now }: PgContext): Async<NetworkRepo> {
  return {
    list: async () => (await pg.rows<NetworkRow>('SELECT * FROM relay_networks ORDER BY id')).map(toRule),
    findByCidr: async (cidr) => {
      const row = await pg.row<NetworkRow>('SELECT * FROM relay_networks WHERE cidr = $1', [cidr.text]);
      return row ? toRule(row) : undefined;
    },
    add: async (cidr, serverId) => {
      const row = await pg.row<NetworkRow>('INSERT INTO relay_networks (cidr, server_id, created_at) VALUES ($1, $2, $3) RETURNING *', [
        cidr.text,
        serverId,
        now(),
      ]);
      return toRule(row as NetworkRow);
    },
    remove: async (cidr) => (await pg.run('DELETE FROM relay_networks WHERE cidr = $1', [cidr.text])) > 0,
    cidrsForServer: async (serverId) =>
      (await pg.rows<{ cidr: string }>('SELECT cidr FROM relay_networks WHERE server_id = $1 ORDER BY id', [serverId])).map((r) => r.cidr),
  };
}
