/**
 * Alerts in SQLite: the panel's alert settings (one row; the webhook URL is
 * sealed and only ever opened to post to it), each alert from firing to
 * resolved with when each channel was last told, and the queue figures the
 * alert conditions read (held mail, the oldest waiting message, recent
 * failures). Alert emails themselves (route `alerts`) never count in those
 * figures, so an alert cannot raise another. The row shapes, their mappers
 * and the settings' columns here serve PostgreSQL's engine too
 * (postgres/alerts.ts).
 */
import type { Db } from './db.js';
import type { SecretBox } from './secret-box.js';

/** The `route` of alert emails in the queue. */
export const ALERT_ROUTE = 'alerts';
/** Resolved alerts are forgotten this long after they ended. */
export const HISTORY_MS = 90 * 24 * 60 * 60_000;

export const ALERT_CHANNELS = ['webhook', 'email'] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];
export type Severity = 'critical' | 'warning';

/** The panel's alert settings, without the webhook URL itself. */
export interface AlertSettings {
  hasWebhook: boolean;
  emails: string[];
  /** The email server alert mail goes through; null: the default server. */
  emailServerId: number | null;
  oldestMinutes: number;
  failuresPerHour: number;
  repeatMinutes: number;
}

/** A change to the settings; `webhookUrl` undefined keeps it, null clears it. */
export interface AlertSettingsChange {
  webhookUrl?: string | null;
  emails?: string[];
  emailServerId?: number | null;
  oldestMinutes?: number;
  failuresPerHour?: number;
  repeatMinutes?: number;
}

/** What an alert says; the same shape whether it fires, repeats or resolves. */
export interface AlertContent {
  key: string;
  severity: Severity;
  title: string;
  /** The email server concerned, by name. */
  server: string | null;
  /** Microsoft's code (AADSTS… or an enhanced SMTP code), when there is one. */
  code: string | null;
  fix: string | null;
  detail: string | null;
  /** Whether it is repeated while it lasts (secret expiry warnings are said once). */
  repeats: boolean;
}

export interface AlertRecord extends AlertContent {
  id: number;
  firedAt: number;
  resolvedAt: number | null;
  /** When each channel was last told it fires (null: not yet), and told it resolved. */
  notified: Record<AlertChannel, number | null>;
  resolvedNotified: Record<AlertChannel, number | null>;
}

/** The oldest message still waiting for delivery (queued, deferred or held). */
export interface OldestWaiting {
  id: string;
  receivedAt: number;
  status: string;
  serverId: number | null;
  lastReply: string | null;
}

export interface AlertRepo {
  settings(): AlertSettings;
  /** The webhook URL set in the panel, opened; null when none. */
  webhookUrl(): string | null;
  saveSettings(change: AlertSettingsChange, now: number): void;
  /** Alerts that fire now, oldest first. */
  open(): AlertRecord[];
  /** Alerts by when they fired, newest first. */
  recent(limit: number): AlertRecord[];
  /** Resolved alerts whose resolved notice some channel still owes, since `since`. */
  resolvedPending(since: number): AlertRecord[];
  /**
   * Fires the alert `content.key` names. At most one alert per key is open: when one already is
   * (another relay365 instance sharing the database fired it first), that one is returned with what
   * it says updated to `content`, as `refresh` would, and it does not fire again.
   */
  fire(content: AlertContent, now: number): AlertRecord;
  /** Updates what an open alert says (the held count changes, say) without firing it again. */
  refresh(id: number, content: AlertContent): void;
  resolve(id: number, now: number): void;
  markNotified(id: number, channel: AlertChannel, now: number): void;
  markResolvedNotified(id: number, channel: AlertChannel, now: number): void;
  /** Forgets alerts resolved long ago. */
  prune(now: number): void;
  /** Held messages per email server id (alert emails not counted). */
  heldByServer(): Map<number, number>;
  /** The oldest queued or deferred message (held mail has its server's own alert), alert emails not counted. */
  oldestWaiting(): OldestWaiting | null;
  /** Messages that failed since `since`, and the last reply of the newest of them. */
  failuresSince(since: number): { count: number; lastReply: string | null; serverId: number | null };
}

/** The settings row as both engines store it (alert_settings). */
export interface SettingsRow {
  webhook_url_enc: Buffer | null;
  emails: string | null;
  email_server_id: number | null;
  oldest_minutes: number;
  failures_per_hour: number;
  repeat_minutes: number;
}

/** An alert as both engines store it (alerts). */
export interface AlertRow {
  id: number;
  key: string;
  severity: Severity;
  title: string;
  server: string | null;
  code: string | null;
  fix: string | null;
  detail: string | null;
  repeats: number;
  fired_at: number;
  resolved_at: number | null;
  webhook_at: number | null;
  email_at: number | null;
  webhook_resolved_at: number | null;
  email_resolved_at: number | null;
}

/** The queue row `oldestWaiting` reads. */
export interface OldestWaitingRow {
  id: string;
  received_at: number;
  status: string;
  server_id: number | null;
  last_reply: string | null;
}

/** The column that records when each channel was told an alert fires, and told it resolved. */
export const NOTIFIED_COLUMN = { webhook: 'webhook_at', email: 'email_at' } as const satisfies Record<AlertChannel, keyof AlertRow>;
export const RESOLVED_NOTIFIED_COLUMN = { webhook: 'webhook_resolved_at', email: 'email_resolved_at' } as const satisfies Record<
  AlertChannel,
  keyof AlertRow
>;

/** The columns an alert's content is stored in, in the order `contentValues` gives their values. */
export const CONTENT_COLUMNS = ['severity', 'title', 'server', 'code', 'fix', 'detail', 'repeats'] as const;

/** The values of CONTENT_COLUMNS for `c`. */
export const contentValues = (c: AlertContent) => [c.severity, c.title, c.server, c.code, c.fix, c.detail, c.repeats ? 1 : 0] as const;

export const toAlertRecord = (row: AlertRow): AlertRecord => ({
  id: row.id,
  key: row.key,
  severity: row.severity,
  title: row.title,
  server: row.server,
  code: row.code,
  fix: row.fix,
  detail: row.detail,
  repeats: row.repeats === 1,
  firedAt: row.fired_at,
  resolvedAt: row.resolved_at,
  notified: { webhook: row.webhook_at, email: row.email_at },
  resolvedNotified: { webhook: row.webhook_resolved_at, email: row.email_resolved_at },
});

/** The settings row read, or an error saying the database was not migrated (the row is made by the migration). */
export function presentSettingsRow(row: SettingsRow | undefined): SettingsRow {
  if (!row) throw new Error('alert settings row is missing (the database was not migrated)');
  return row;
}

export const toAlertSettings = (row: SettingsRow): AlertSettings => ({
  hasWebhook: row.webhook_url_enc !== null,
  emails: row.emails ? row.emails.split('\n') : [],
  emailServerId: row.email_server_id,
  oldestMinutes: row.oldest_minutes,
  failuresPerHour: row.failures_per_hour,
  repeatMinutes: row.repeat_minutes,
});

/** The columns `change` sets (with `updated_at`) and their values, the webhook URL sealed with `box`. */
export function settingsColumns(change: AlertSettingsChange, box: SecretBox, now: number): [column: string, value: unknown][] {
  const columns: [string, unknown][] = [['updated_at', now]];
  if (change.webhookUrl !== undefined) columns.push(['webhook_url_enc', change.webhookUrl ? box.seal(change.webhookUrl) : null]);
  if (change.emails !== undefined) columns.push(['emails', change.emails.join('\n') || null]);
  if (change.emailServerId !== undefined) columns.push(['email_server_id', change.emailServerId]);
  if (change.oldestMinutes !== undefined) columns.push(['oldest_minutes', change.oldestMinutes]);
  if (change.failuresPerHour !== undefined) columns.push(['failures_per_hour', change.failuresPerHour]);
  if (change.repeatMinutes !== undefined) columns.push(['repeat_minutes', change.repeatMinutes]);
  return columns;
}

export const toOldestWaiting = (row: OldestWaitingRow): OldestWaiting => ({
  id: row.id,
  receivedAt: row.received_at,
  status: row.status,
  serverId: row.server_id,
  lastReply: row.last_reply,
});

/** What `failuresSince` answers from the count and the newest failure's row. */
export const toFailures = (count: number, last: { last_reply: string | null; server_id: number | null } | undefined) => ({
  count,
  lastReply: last?.last_reply ?? null,
  serverId: last?.server_id ?? null,
});

/** Creates the repository over an open database; the webhook URL is sealed with `box`. */
export function createAlertRepo(db: Db, box: SecretBox): AlertRepo {
  const selectSettings = db.prepare<[], SettingsRow>('SELECT * FROM alert_settings WHERE id = 1');
  const settingsRow = (): SettingsRow => presentSettingsRow(selectSettings.get());
  // alerts_open_key (unique on key while resolved_at IS NULL) is the conflict: the open alert takes the new content.
  const fireOne = db.prepare(
    `INSERT INTO alerts (key, ${CONTENT_COLUMNS.join(', ')}, fired_at) VALUES (?, ${CONTENT_COLUMNS.map(() => '?').join(', ')}, ?)
     ON CONFLICT (key) WHERE resolved_at IS NULL DO UPDATE SET ${CONTENT_COLUMNS.map((col) => `${col} = excluded.${col}`).join(', ')}
     RETURNING *`,
  );

  return {
    settings: () => toAlertSettings(settingsRow()),
    webhookUrl: () => {
      const sealed = settingsRow().webhook_url_enc;
      return sealed ? box.open(sealed) : null;
    },
    saveSettings: (change, now) => {
      const columns = settingsColumns(change, box, now);
      db.prepare(`UPDATE alert_settings SET ${columns.map(([column]) => `${column} = ?`).join(', ')} WHERE id = 1`).run(
        ...columns.map(([, value]) => value),
      );
    },
    open: () => (db.prepare('SELECT * FROM alerts WHERE resolved_at IS NULL ORDER BY fired_at, id').all() as AlertRow[]).map(toAlertRecord),
    recent: (limit) =>
      (db.prepare('SELECT * FROM alerts ORDER BY fired_at DESC, id DESC LIMIT ?').all(limit) as AlertRow[]).map(toAlertRecord),
    resolvedPending: (since) =>
      (
        db
          .prepare(
            `SELECT * FROM alerts WHERE resolved_at >= ?
               AND ((webhook_at IS NOT NULL AND webhook_resolved_at IS NULL) OR (email_at IS NOT NULL AND email_resolved_at IS NULL))
             ORDER BY resolved_at, id`,
          )
          .all(since) as AlertRow[]
      ).map(toAlertRecord),
    fire: (c, now) => toAlertRecord(fireOne.get(c.key, ...contentValues(c), now) as AlertRow),
    refresh: (id, c) => {
      db.prepare(`UPDATE alerts SET ${CONTENT_COLUMNS.map((col) => `${col} = ?`).join(', ')} WHERE id = ?`).run(...contentValues(c), id);
    },
    resolve: (id, now) => {
      db.prepare('UPDATE alerts SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL').run(now, id);
    },
    markNotified: (id, channel, now) => {
      db.prepare(`UPDATE alerts SET ${NOTIFIED_COLUMN[channel]} = ? WHERE id = ?`).run(now, id);
    },
    markResolvedNotified: (id, channel, now) => {
      db.prepare(`UPDATE alerts SET ${RESOLVED_NOTIFIED_COLUMN[channel]} = ? WHERE id = ?`).run(now, id);
    },
    prune: (now) => {
      db.prepare('DELETE FROM alerts WHERE resolved_at < ?').run(now - HISTORY_MS);
    },
    heldByServer: () =>
      new Map(
        (
          db
            .prepare(
              `SELECT server_id AS id, COUNT(*) AS n FROM messages
               WHERE status = 'held' AND server_id IS NOT NULL AND route IS NOT ? GROUP BY server_id`,
            )
            .all(ALERT_ROUTE) as { id: number; n: number }[]
        ).map((r) => [r.id, r.n]),
      ),
    oldestWaiting: () => {
      const row = db
        .prepare(
          `SELECT id, received_at, status, server_id, last_reply FROM messages
           WHERE status IN ('queued', 'deferred') AND route IS NOT ?
           ORDER BY received_at LIMIT 1`,
        )
        .get(ALERT_ROUTE) as OldestWaitingRow | undefined;
      return row ? toOldestWaiting(row) : null;
    },
    failuresSince: (since) => {
      // A message that failed for several recipients has several 'failed' events: it counts once.
      const from = `FROM events e JOIN messages m ON m.id = e.message_id WHERE e.kind = 'failed' AND e.at >= ? AND m.route IS NOT ?`;
      const count = (db.prepare(`SELECT COUNT(DISTINCT e.message_id) AS n ${from}`).get(since, ALERT_ROUTE) as { n: number }).n;
      const last = db.prepare(`SELECT m.last_reply, m.server_id ${from} ORDER BY e.at DESC, e.id DESC LIMIT 1`).get(since, ALERT_ROUTE) as
        { last_reply: string | null; server_id: number | null } | undefined;
      return toFailures(count, last);
    },
  };
}
