/**
 * Removing an email server, in one transaction with its waiting mail: the
 * removal is refused while mail is in flight, or while mail waits unless the
 * caller drops it; dropped mail is failed with an event naming the removal,
 * so no queue row is ever left pointing at no server. (A trigger in the
 * schema refuses any other delete of a server that still has mail waiting.)
 * The caller deletes the failed messages' spool files after the commit.
 */
import type { Db } from './db.js';
import type { QueueRepo } from './queue.js';
import type { ServerRepo } from './servers.js';

export interface RemoveServerOptions {
  /** Fail the server's queued, deferred and held mail instead of refusing. */
  dropQueued: boolean;
  /** Who removed it, for the failed messages' event (`admin@example.com`, `the command line`). */
  by: string;
  now: number;
}

/** What a removal did: removed (with the IDs of the mail it failed), or why it refused. */
export type RemoveServerOutcome =
  { kind: 'removed'; failed: string[] } | { kind: 'waiting'; waiting: number } | { kind: 'in-flight'; sending: number };

export type RemoveServer = (serverId: number, options: RemoveServerOptions) => RemoveServerOutcome;

/** The reply and event text of mail failed because its server was removed. */
export function removalReason(serverName: string, by: string): string {
  return `not delivered: its email server ${serverName} was removed by ${by}`;
}

/** Creates the removal over the store's database and repositories. */
export function createServerRemoval(db: Db, servers: ServerRepo, queue: QueueRepo): RemoveServer {
  const remove = db.transaction((serverId: number, { dropQueued, by, now }: RemoveServerOptions): RemoveServerOutcome => {
    const server = servers.get(serverId);
    if (!server) throw new Error(`no email server with id ${serverId}`);
    const counts = queue.countsByStatus(serverId);
    if (counts.sending > 0) return { kind: 'in-flight', sending: counts.sending };
    const waiting = counts.queued + counts.deferred + counts.held;
    if (waiting > 0 && !dropQueued) return { kind: 'waiting', waiting };
    const failed = queue.failWaiting(serverId, removalReason(server.name, by), now);
    servers.remove(serverId);
    return { kind: 'removed', failed };
  });
  // IMMEDIATE: the write lock is taken before counting, so the relay cannot claim mail in between.
  return (serverId, options) => remove.immediate(serverId, options);
}
