/**
 * Removing an email server, in one transaction with its waiting mail: the
 * removal is refused while relay users or networks route to the server, while
 * mail is in flight, or while mail waits unless the caller drops it; dropped
 * mail is failed with an event naming the removal, so no queue row is ever
 * left pointing at no server. (A trigger in the schema refuses any other
 * delete of a server that still has mail waiting.) Every refusal is decided
 * inside the transaction, so nothing added meanwhile turns it into an error.
 * The failed messages' bodies go in the same transaction.
 */
import type { Db } from './db.js';
import type { NetworkRepo } from './networks.js';
import type { QueueRepo } from './queue.js';
import type { RelayUserRepo } from './relay-users.js';
import type { ServerRepo } from './servers.js';

export interface RemoveServerOptions {
  /** Fail the server's queued, deferred and held mail instead of refusing. */
  dropQueued: boolean;
  /** Who removed it, for the failed messages' event (`admin@example.com`, `the command line`). */
  by: string;
  now: number;
}

/**
 * What a removal did: removed (with the IDs of the mail it failed), or why it refused: relay users
 * or networks (by name and CIDR) still route to the server, mail is in flight, or mail waits.
 */
export type RemoveServerOutcome =
  | { kind: 'removed'; failed: string[] }
  | { kind: 'in-use'; relayUsers: string[]; networks: string[] }
  | { kind: 'waiting'; waiting: number }
  | { kind: 'in-flight'; sending: number };

export type RemoveServer = (serverId: number, options: RemoveServerOptions) => RemoveServerOutcome;

/** The reply and event text of mail failed because its server was removed. */
export function removalReason(serverName: string, by: string): string {
  return `not delivered: its email server ${serverName} was removed by ${by}`;
}

/** The repositories a removal reads and writes. */
export interface RemovalRepos {
  servers: Pick<ServerRepo, 'get' | 'remove'>;
  queue: Pick<QueueRepo, 'countsByStatus' | 'failWaiting'>;
  relayUsers: Pick<RelayUserRepo, 'namesForServer'>;
  networks: Pick<NetworkRepo, 'cidrsForServer'>;
}

/** Creates the removal over the store's database and repositories. */
export function createServerRemoval(db: Db, { servers, queue, relayUsers, networks }: RemovalRepos): RemoveServer {
  const remove = db.transaction((serverId: number, { dropQueued, by, now }: RemoveServerOptions): RemoveServerOutcome => {
    const server = servers.get(serverId);
    if (!server) throw new Error(`no email server with id ${serverId}`);
    // Relay users and network rules point at their server (foreign keys): they must go first.
    const users = relayUsers.namesForServer(serverId);
    const cidrs = networks.cidrsForServer(serverId);
    if (users.length > 0 || cidrs.length > 0) return { kind: 'in-use', relayUsers: users, networks: cidrs };
    const counts = queue.countsByStatus(serverId);
    if (counts.sending > 0) return { kind: 'in-flight', sending: counts.sending };
    const waiting = counts.queued + counts.deferred + counts.held;
    if (waiting > 0 && !dropQueued) return { kind: 'waiting', waiting };
    const failed = queue.failWaiting(serverId, removalReason(server.name, by), now);
    servers.remove(serverId);
    return { kind: 'removed', failed };
  });
  // IMMEDIATE: the write lock is taken before counting, so neither the relay nor another process
  // (a relay user added from the command line) can change what was counted before the delete.
  return (serverId, options) => remove.immediate(serverId, options);
}
