/**
 * Allowed networks: CIDR rules whose clients may relay without SMTP AUTH,
 * each routed to one email server. Rules from RELAY365_RELAY_NETWORKS live in
 * the configuration, not here.
 */
import type { Cidr } from '../cidr.js';
import type { Db } from './db.js';

export interface NetworkRule {
  id: number;
  cidr: string;
  serverId: number;
  createdAt: number;
}

/** A `relay_networks` row, as both engines read it. */
export interface NetworkRow {
  id: number;
  cidr: string;
  server_id: number;
  created_at: number;
}

export interface NetworkRepo {
  list(): NetworkRule[];
  findByCidr(cidr: Cidr): NetworkRule | undefined;
  add(cidr: Cidr, serverId: number): NetworkRule;
  /** False when no such rule exists. */
  remove(cidr: Cidr): boolean;
  /** CIDRs routed to a server (an email server with rules cannot be removed). */
  cidrsForServer(serverId: number): string[];
}

/** A `relay_networks` row as relay365 sees it. */
export const toRule = (row: NetworkRow): NetworkRule => ({
  id: row.id,
  cidr: row.cidr,
  serverId: row.server_id,
  createdAt: row.created_at,
});

/** Creates the repository over an open database. */
export function createNetworkRepo(db: Db, now: () => number = Date.now): NetworkRepo {
  const selectAll = db.prepare<[], NetworkRow>('SELECT * FROM relay_networks ORDER BY id');
  const selectByCidr = db.prepare<[string], NetworkRow>('SELECT * FROM relay_networks WHERE cidr = ?');
  return {
    list: () => selectAll.all().map(toRule),
    findByCidr: (cidr) => {
      const row = selectByCidr.get(cidr.text);
      return row ? toRule(row) : undefined;
    },
    add: (cidr, serverId) => {
      const info = db.prepare('INSERT INTO relay_networks (cidr, server_id, created_at) VALUES (?, ?, ?)').run(cidr.text, serverId, now());
      return { id: Number(info.lastInsertRowid), cidr: cidr.text, serverId, createdAt: now() };
    },
    remove: (cidr) => db.prepare('DELETE FROM relay_networks WHERE cidr = ?').run(cidr.text).changes > 0,
    cidrsForServer: (serverId) =>
      (db.prepare('SELECT cidr FROM relay_networks WHERE server_id = ? ORDER BY id').all(serverId) as { cidr: string }[]).map(
        (r) => r.cidr,
      ),
  };
}
