/**
 * Email servers on PostgreSQL: the same repository as servers.ts, with the
 * columns mapped by the same functions (secrets sealed with the store's box).
 * Several instances may write at once, so the one default server is kept by a
 * lock: every write that can change which server is the default (adding,
 * making one the default, removing) first takes one transaction-level advisory
 * lock, and reads the servers only after it.
 */
import type { Async } from '../async.js';
import { SETTING_KEYS, settingSpec, type SecretKey } from '../server-schema.js';
import { identityChanged, settingsColumns, statusValues, toServer, type EmailServer, type ServerRepo, type ServerRow } from '../servers.js';
import type { PgContext } from './context.js';
import { LOCK_SQL, LOCKS } from './locks.js';
import type { Sql } from './pool.js';

/**
 * Waits until no other transaction may change the default server, until this one ends. Without it two
 * instances making different servers the default, or adding the first server while another removes the
 * last, could each see the other's change too late and leave two defaults or none: READ COMMITTED does
 * not see rows another transaction has not committed yet.
 */
export async function lockDefault(sql: Sql): Promise<void> {
  await sql.run(LOCK_SQL, [LOCKS.defaultServer]);
}

/** How a read locks the server's row for the rest of its transaction, if at all. */
export type RowLock = '' | 'FOR UPDATE' | 'FOR NO KEY UPDATE';

/** A server by id, or undefined. */
export async function serverIn(sql: Sql, id: number, lock: RowLock = ''): Promise<EmailServer | undefined> {
  const row = await sql.row<ServerRow>(`SELECT * FROM servers WHERE id = $1 ${lock}`, [id]);
  return row ? toServer(row) : undefined;
}

/** A server by id; throws for an unknown one, as servers.ts does. */
export async function mustGetIn(sql: Sql, id: number, lock: RowLock = ''): Promise<EmailServer> {
  const server = await serverIn(sql, id, lock);
  if (!server) throw new Error(`no email server with id ${id}`);
  return server;
}

/** Makes `id` the one default server (the caller holds the default lock). */
async function setDefaultIn(sql: Sql, id: number): Promise<void> {
  await sql.run('UPDATE servers SET is_default = 0 WHERE is_default = 1 AND id <> $1', [id]);
  await sql.run('UPDATE servers SET is_default = 1 WHERE id = $1', [id]);
}

/**
 * Deletes a server inside the caller's transaction and, when it was the default, makes the oldest
 * remaining one the default. Takes the default lock itself; the schema's trigger refuses the delete
 * while mail waits for the server or is in flight.
 */
export async function deleteServerIn(sql: Sql, id: number): Promise<void> {
  await lockDefault(sql);
  const wasDefault = (await mustGetIn(sql, id)).isDefault;
  await sql.run('DELETE FROM servers WHERE id = $1', [id]);
  const next = await sql.row<{ id: number }>('SELECT id FROM servers ORDER BY id LIMIT 1');
  if (wasDefault && next) await setDefaultIn(sql, next.id);
}

/** The repository over the context's pool; secrets are sealed with its box. */
export function createPgServersRepo({ pg, box, now }: PgContext): Async<ServerRepo> {
  const secret = async (id: number, key: SecretKey): Promise<string | null> => {
    // The column name comes from the settings' description, never from input.
    const row = await pg.row<{ sealed: Buffer | null }>(`SELECT ${settingSpec(key).column} AS sealed FROM servers WHERE id = $1`, [id]);
    return row?.sealed ? box.open(row.sealed) : null;
  };
  const byQuery = async (text: string, params: unknown[] = []): Promise<EmailServer | undefined> => {
    const row = await pg.row<ServerRow>(text, params);
    return row ? toServer(row) : undefined;
  };

  return {
    list: async () => (await pg.rows<ServerRow>('SELECT * FROM servers ORDER BY id')).map(toServer),
    get: (id) => serverIn(pg, id),
    // SQLite's name column is COLLATE NOCASE; here the unique index is on lower(name).
    findByName: (name) => byQuery('SELECT * FROM servers WHERE lower(name) = lower($1)', [name]),
    getDefault: () => byQuery('SELECT * FROM servers ORDER BY is_default DESC, id LIMIT 1'),
    add: (settings, makeDefault = false) =>
      pg.tx(async (sql) => {
        // Taken before counting: an add that runs beside another add or a removal must see its outcome.
        await lockDefault(sql);
        const fields = settingsColumns(box, settings, SETTING_KEYS);
        const columns = [...fields.map(([c]) => c), 'created_at', 'updated_at'];
        const values = [...fields.map(([, v]) => v), now(), now()];
        const inserted = await sql.row<{ id: number }>(
          `INSERT INTO servers (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
          values,
        );
        // An INSERT … RETURNING that did not throw returned its one row.
        const { id } = inserted as { id: number };
        const count = await sql.row<{ n: number }>('SELECT COUNT(*) AS n FROM servers');
        if (makeDefault || count?.n === 1) await setDefaultIn(sql, id);
        return mustGetIn(sql, id);
      }),
    update: (id, changes, makeDefault = false) =>
      pg.tx(async (sql) => {
        if (makeDefault) await lockDefault(sql);
        // NO KEY UPDATE: holds off other edits of this server until the identity check is done, without
        // holding off mail queued for it meanwhile (a foreign key check takes only KEY SHARE).
        const before = await mustGetIn(sql, id, 'FOR NO KEY UPDATE');
        const sets: string[] = [];
        const values: unknown[] = [];
        for (const [column, value] of settingsColumns(box, changes)) {
          values.push(value);
          sets.push(`${column} = $${values.length}`);
        }
        values.push(now(), id);
        sets.push('revision = revision + 1', `updated_at = $${values.length - 1}`);
        await sql.run(`UPDATE servers SET ${sets.join(', ')} WHERE id = $${values.length}`, values);
        // The tokens and the signed-in account belong to the old app, tenant or cloud: whoever changes those
        // (panel, CLI, API) starts again from Not Authorized.
        if (identityChanged(before, changes)) {
          await sql.run('DELETE FROM token_caches WHERE server_id = $1', [id]);
          await sql.run(
            `UPDATE servers SET status = 'not_authorized', status_code = NULL, status_message = NULL, status_hint = NULL,
               status_at = NULL, authorized_account = NULL, token_refreshed_at = NULL WHERE id = $1`,
            [id],
          );
        }
        if (makeDefault) await setDefaultIn(sql, id);
        return mustGetIn(sql, id);
      }),
    remove: (id) => pg.tx((sql) => deleteServerIn(sql, id)),
    setStatus: async (id, update) => {
      await pg.run(
        `UPDATE servers SET status = $1, status_code = $2, status_message = $3, status_hint = $4, status_at = $5,
           authorized_account = COALESCE($6, authorized_account),
           token_refreshed_at = COALESCE($7, token_refreshed_at)
         WHERE id = $8`,
        [...statusValues(update, now()), id],
      );
    },
    clientSecret: (id) => secret(id, 'clientSecret'),
    clientCertificate: (id) => secret(id, 'clientCertificate'),
    password: (id) => secret(id, 'password'),
    revisions: async () =>
      new Map((await pg.rows<{ id: number; revision: number }>('SELECT id, revision FROM servers')).map((r) => [r.id, r.revision])),
  };
}
