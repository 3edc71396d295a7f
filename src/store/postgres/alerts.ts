/**
 * Alerts in PostgreSQL: the same repository as SQLite's (../alerts.ts, whose
 * rows, mappers and settings' columns it uses) for instances that share one
 * database. Firing is one `INSERT … ON CONFLICT` on the partial unique index
 * alerts_open_key, so two instances that fire the same key at once leave one
 * open alert; every other write is one statement.
 */
import type { Async } from '../async.js';
import {
  ALERT_ROUTE,
  CONTENT_COLUMNS,
  HISTORY_MS,
  NOTIFIED_COLUMN,
  RESOLVED_NOTIFIED_COLUMN,
  contentValues,
  presentSettingsRow,
  settingsColumns,
  toAlertRecord,
  toAlertSettings,
  toFailures,
  toOldestWaiting,
  type AlertRepo,
  type AlertRow,
  type OldestWaitingRow,
  type SettingsRow,
} from '../alerts.js';
import type { PgContext } from './context.js';

/** `SET severity = $2, …` for the content columns, their parameters numbered from `first`. */
const contentSets = (first: number): string => CONTENT_COLUMNS.map((col, i) => `${col} = $${first + i}`).join(', ');

/** Creates the repository over the pool; the webhook URL is sealed with the context's box. */
export function createPgAlertsRepo({ pg, box }: PgContext): Async<AlertRepo> {
  const settingsRow = async (): Promise<SettingsRow> =>
    presentSettingsRow(await pg.row<SettingsRow>('SELECT * FROM alert_settings WHERE id = 1'));
  const alerts = async (text: string, params: readonly unknown[] = []) => (await pg.rows<AlertRow>(text, params)).map(toAlertRecord);

  return {
    settings: async () => toAlertSettings(await settingsRow()),
    webhookUrl: async () => {
      const sealed = (await settingsRow()).webhook_url_enc;
      return sealed ? box.open(sealed) : null;
    },
    saveSettings: async (change, now) => {
      const columns = settingsColumns(change, box, now);
      await pg.run(
        `UPDATE alert_settings SET ${columns.map(([column], i) => `${column} = $${i + 1}`).join(', ')} WHERE id = 1`,
        columns.map(([, value]) => value),
      );
    },
    open: () => alerts('SELECT * FROM alerts WHERE resolved_at IS NULL ORDER BY fired_at, id'),
    recent: (limit) => alerts('SELECT * FROM alerts ORDER BY fired_at DESC, id DESC LIMIT $1', [limit]),
    resolvedPending: (since) =>
      alerts(
        `SELECT * FROM alerts WHERE resolved_at >= $1
           AND ((webhook_at IS NOT NULL AND webhook_resolved_at IS NULL) OR (email_at IS NOT NULL AND email_resolved_at IS NULL))
         ORDER BY resolved_at, id`,
        [since],
      ),
    fire: async (c, now) => {
      // Two instances evaluating at once both fire a new condition: the second waits on the first's
      // index entry, then updates that alert instead of opening a second one (one statement, no race).
      const values = CONTENT_COLUMNS.map((_, i) => `$${i + 2}`).join(', ');
      const row = await pg.row<AlertRow>(
        `INSERT INTO alerts (key, ${CONTENT_COLUMNS.join(', ')}, fired_at) VALUES ($1, ${values}, $${CONTENT_COLUMNS.length + 2})
         ON CONFLICT (key) WHERE resolved_at IS NULL DO UPDATE SET ${CONTENT_COLUMNS.map((col) => `${col} = EXCLUDED.${col}`).join(', ')}
         RETURNING *`,
        [c.key, ...contentValues(c), now],
      );
      // INSERT … ON CONFLICT DO UPDATE … RETURNING always returns the row it inserted or updated.
      return toAlertRecord(row as AlertRow);
    },
    refresh: async (id, c) => {
      await pg.run(`UPDATE alerts SET ${contentSets(2)} WHERE id = $1`, [id, ...contentValues(c)]);
    },
    resolve: async (id, now) => {
      await pg.run('UPDATE alerts SET resolved_at = $1 WHERE id = $2 AND resolved_at IS NULL', [now, id]);
    },
    markNotified: async (id, channel, now) => {
      await pg.run(`UPDATE alerts SET ${NOTIFIED_COLUMN[channel]} = $1 WHERE id = $2`, [now, id]);
    },
    markResolvedNotified: async (id, channel, now) => {
      await pg.run(`UPDATE alerts SET ${RESOLVED_NOTIFIED_COLUMN[channel]} = $1 WHERE id = $2`, [now, id]);
    },
    prune: async (now) => {
      await pg.run('DELETE FROM alerts WHERE resolved_at < $1', [now - HISTORY_MS]);
    },
    heldByServer: async () =>
      new Map(
        (
          await pg.rows<{ id: number; n: number }>(
            `SELECT server_id AS id, COUNT(*) AS n FROM messages
             WHERE status = 'held' AND server_id IS NOT NULL AND route IS DISTINCT FROM $1 GROUP BY server_id`,
            [ALERT_ROUTE],
          )
        ).map((r) => [r.id, r.n]),
      ),
    oldestWaiting: async () => {
      const row = await pg.row<OldestWaitingRow>(
        `SELECT id, received_at, status, server_id, last_reply FROM messages
         WHERE status IN ('queued', 'deferred') AND route IS DISTINCT FROM $1
         ORDER BY received_at, id LIMIT 1`,
        [ALERT_ROUTE],
      );
      return row ? toOldestWaiting(row) : null;
    },
    failuresSince: async (since) => {
      // A message that failed for several recipients has several 'failed' events: it counts once.
      const from = `FROM events e JOIN messages m ON m.id = e.message_id
        WHERE e.kind = 'failed' AND e.at >= $1 AND m.route IS DISTINCT FROM $2`;
      const count = (await pg.row<{ n: number }>(`SELECT COUNT(DISTINCT e.message_id) AS n ${from}`, [since, ALERT_ROUTE]))?.n ?? 0;
      const last = await pg.row<{ last_reply: string | null; server_id: number | null }>(
        `SELECT m.last_reply, m.server_id ${from} ORDER BY e.at DESC, e.id DESC LIMIT 1`,
        [since, ALERT_ROUTE],
      );
      return toFailures(count, last);
    },
  };
}
