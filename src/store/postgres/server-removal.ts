/**
 * Removing an email server on PostgreSQL, with its waiting mail, in one
 * transaction: the same decisions as server-removal.ts. SQLite's IMMEDIATE
 * transaction holds every other writer off; here the transaction locks what
 * its decision rests on before reading it. The server's row (FOR UPDATE)
 * holds off new mail, relay users and networks for it (their foreign key
 * checks wait for that lock), and its unfinished messages' rows hold off a
 * claim or an outcome between counting them and failing them. The waiting
 * mail is failed by the queue's own `failWaitingIn`, in this transaction.
 */
import type { Async } from '../async.js';
import type { MessageStatus } from '../queue-types.js';
import { removalReason, type RemoveServer } from '../server-removal.js';
import type { PgContext } from './context.js';
import { failWaitingIn } from './queue.js';
import { deleteServerIn, lockDefault, mustGetIn } from './servers.js';

/** Statuses of mail that is not finished: waiting, or in flight. */
const UNFINISHED: readonly MessageStatus[] = ['queued', 'deferred', 'held', 'sending'];

/** The removal over the context's pool. */
export function createPgServerRemoval({ pg }: PgContext): Async<{ removeServer: RemoveServer }>['removeServer'] {
  return (serverId, { dropQueued, by, now }) =>
    pg.tx(async (sql) => {
      // The default lock before the row lock, in the order every write of the default takes them
      // (servers.ts), so a removal and a change of the default never wait for each other in a circle.
      await lockDefault(sql);
      const server = await mustGetIn(sql, serverId, 'FOR UPDATE');
      // Relay users and network rules point at their server (foreign keys): they must go first.
      const users = (
        await sql.rows<{ name: string }>(`SELECT name FROM relay_users WHERE server_id = $1 ORDER BY lower(name) COLLATE "C"`, [serverId])
      ).map((r) => r.name);
      const cidrs = (await sql.rows<{ cidr: string }>('SELECT cidr FROM relay_networks WHERE server_id = $1 ORDER BY id', [serverId])).map(
        (r) => r.cidr,
      );
      if (users.length > 0 || cidrs.length > 0) return { kind: 'in-use', relayUsers: users, networks: cidrs };
      // Locked as they are counted: a message claimed or finished meanwhile is waited for and read as it
      // is then, so the delete below never meets mail that was not counted (the schema's trigger would refuse it).
      const unfinished = await sql.rows<{ status: MessageStatus }>(
        `SELECT status FROM messages WHERE server_id = $1 AND status = ANY($2) FOR NO KEY UPDATE`,
        [serverId, UNFINISHED],
      );
      const sending = unfinished.filter((m) => m.status === 'sending').length;
      if (sending > 0) return { kind: 'in-flight', sending };
      const waiting = unfinished.length;
      if (waiting > 0 && !dropQueued) return { kind: 'waiting', waiting };
      // The rows it fails are the ones locked and counted above: none can have changed since.
      const failed = await failWaitingIn(sql, serverId, removalReason(server.name, by), now);
      await deleteServerIn(sql, serverId);
      return { kind: 'removed', failed };
    });
}
