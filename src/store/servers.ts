/**
 * Email servers: the upstreams relay365 delivers to, with their Office 365
 * settings, limits and authorization status. Secrets are stored sealed and
 * are only ever opened for the token provider or the SMTP login; of a client
 * certificate, its public thumbprint and expiry are kept in the clear beside it.
 */
import { readClientCertificate } from '../client-certificate.js';
import type { Db } from './db.js';
import type { SecretBox } from './secret-box.js';
import {
  SETTING_KEYS,
  settingSpec,
  type AUTH_METHODS,
  type CLOUDS,
  type FROM_HANDLINGS,
  type SECURE_MODES,
  type SecretKey,
  type ServerSettings,
  type SettingKey,
  type SIGN_IN_MODES,
} from './server-schema.js';

export { AUTH_METHODS, CLOUDS, FROM_HANDLINGS, SECURE_MODES, SIGN_IN_MODES, type ServerSettings } from './server-schema.js';

export type AuthMethod = (typeof AUTH_METHODS)[number];
export type SignInMode = (typeof SIGN_IN_MODES)[number];
export type SecureMode = (typeof SECURE_MODES)[number];
export type CloudName = (typeof CLOUDS)[number];
export type FromHandling = (typeof FROM_HANDLINGS)[number];
export type ServerStatus = 'not_authorized' | 'authorized' | 'error';

/** An email server as the rest of relay365 sees it: its settings without secret values, only whether they are set. */
export interface EmailServer extends Omit<ServerSettings, SecretKey> {
  id: number;
  isDefault: boolean;
  hasClientSecret: boolean;
  hasPassword: boolean;
  hasClientCertificate: boolean;
  /** The client certificate's SHA-256 thumbprint (upper-case hex, as Entra shows it), or null without one. */
  clientCertificateThumbprint: string | null;
  /** When the client certificate expires (its notAfter, ms), or null without one. */
  clientCertificateExpiresAt: number | null;
  status: ServerStatus;
  statusCode: string | null;
  statusMessage: string | null;
  statusHint: string | null;
  statusAt: number | null;
  authorizedAccount: string | null;
  tokenRefreshedAt: number | null;
  /** Bumped on every settings change, so a running relay notices CLI or panel edits. */
  revision: number;
}

/** Whether a server has a value for a secret setting; the value itself is never read for this. */
export function hasSecret(server: EmailServer, key: SecretKey): boolean {
  const set: Record<SecretKey, boolean> = {
    clientSecret: server.hasClientSecret,
    clientCertificate: server.hasClientCertificate,
    password: server.hasPassword,
  };
  return set[key];
}

export interface StatusUpdate {
  status: ServerStatus;
  code?: string | null;
  message?: string | null;
  hint?: string | null;
  account?: string | null;
  refreshedAt?: number | null;
}

/** A row of `servers` (either engine): each setting in its column (see server-schema.ts), then the status columns. */
export type ServerRow = Record<string, unknown> & {
  id: number;
  is_default: number;
  status: ServerStatus;
  status_code: string | null;
  status_message: string | null;
  status_hint: string | null;
  status_at: number | null;
  authorized_account: string | null;
  token_refreshed_at: number | null;
  client_certificate_thumbprint: string | null;
  client_certificate_expires_at: number | null;
  revision: number;
};

/**
 * Settings whose change invalidates an authorized account (its tokens belong to the old app or cloud,
 * or to Exchange when the server now sends via Microsoft Graph, and the other way round).
 */
export const IDENTITY_KEYS: readonly (keyof ServerSettings & keyof EmailServer)[] = [
  'tenantId',
  'clientId',
  'cloud',
  'authorityHost',
  'smtpResource',
  'signInMode',
  'sendVia',
  'graphEndpoint',
];

/**
 * Whether `changes` move an Office 365 server to another identity: its tokens and signed-in account
 * then belong to the old app, tenant or cloud, and the server starts again from Not Authorized.
 */
export function identityChanged(before: EmailServer, changes: Partial<ServerSettings>): boolean {
  return before.method === 'office365' && IDENTITY_KEYS.some((key) => key in changes && changes[key] !== before[key]);
}

/** A stored row as an email server: lists split, secrets reduced to whether they are set. */
export function toServer(row: ServerRow): EmailServer {
  const settings: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const { kind, column } = settingSpec(key);
    const value = row[column];
    // Lists are stored one entry a line, an empty list as NULL.
    if (kind === 'list') settings[key] = typeof value === 'string' && value ? value.split('\n') : [];
    else if (kind !== 'secret') settings[key] = value;
  }
  return {
    ...(settings as Omit<ServerSettings, SecretKey>),
    id: row.id,
    isDefault: row.is_default === 1,
    hasClientSecret: row[settingSpec('clientSecret').column] !== null,
    hasPassword: row[settingSpec('password').column] !== null,
    hasClientCertificate: row[settingSpec('clientCertificate').column] !== null,
    clientCertificateThumbprint: row.client_certificate_thumbprint,
    clientCertificateExpiresAt: row.client_certificate_expires_at,
    status: row.status,
    statusCode: row.status_code,
    statusMessage: row.status_message,
    statusHint: row.status_hint,
    statusAt: row.status_at,
    authorizedAccount: row.authorized_account,
    tokenRefreshedAt: row.token_refreshed_at,
    revision: row.revision,
  };
}

/**
 * A setting's columns and values as stored (either engine): secrets sealed with `box`, lists one entry
 * a line (an empty list NULL); a client certificate also writes its thumbprint and expiry (the schema
 * has checked it).
 */
export function settingColumns(box: SecretBox, key: keyof ServerSettings, value: unknown): [column: string, value: unknown][] {
  const { kind, column } = settingSpec(key);
  if (key === 'clientCertificate') {
    const reading = typeof value === 'string' && value ? readClientCertificate(value) : null;
    if (reading && !reading.ok) throw new Error(`Office 365 Client Certificate: ${reading.problem}`);
    const facts = reading?.certificate ?? null;
    return [
      [column, facts ? box.seal(value as string) : null],
      ['client_certificate_thumbprint', facts?.thumbprintSha256 ?? null],
      ['client_certificate_expires_at', facts?.expiresAt ?? null],
    ];
  }
  if (kind === 'secret') return [[column, typeof value === 'string' && value ? box.seal(value) : null]];
  return [[column, Array.isArray(value) ? value.join('\n') || null : value]];
}

/** The columns and values of the settings `settings` holds (by default those it names), as stored. */
export function settingsColumns(
  box: SecretBox,
  settings: Partial<ServerSettings>,
  keys: readonly SettingKey[] = SETTING_KEYS.filter((key) => key in settings),
): [column: string, value: unknown][] {
  return keys.flatMap((key) => settingColumns(box, key, settings[key]));
}

/**
 * A status update's values in the order both engines' UPDATE takes them: status, code, message, hint,
 * the time, then the account and refresh time (null keeps the stored ones).
 */
export function statusValues(update: StatusUpdate, at: number): unknown[] {
  const { status, code = null, message = null, hint = null, account = null, refreshedAt = null } = update;
  return [status, code, message, hint, at, account, refreshedAt];
}

export interface ServerRepo {
  list(): EmailServer[];
  get(id: number): EmailServer | undefined;
  findByName(name: string): EmailServer | undefined;
  /** The server that takes mail: the one marked default. */
  getDefault(): EmailServer | undefined;
  /** Adds a server; the first one, or one added with `makeDefault`, becomes the default. */
  add(settings: ServerSettings, makeDefault?: boolean): EmailServer;
  /** Changes some settings and bumps the revision, which tells a running relay to retry held mail. */
  update(id: number, changes: Partial<ServerSettings>, makeDefault?: boolean): EmailServer;
  remove(id: number): void;
  setStatus(id: number, update: StatusUpdate): void;
  clientSecret(id: number): string | null;
  /** The client certificate and its private key (PEM), or null. */
  clientCertificate(id: number): string | null;
  password(id: number): string | null;
  /** `id:revision` pairs, cheap enough to poll for changes made by another process. */
  revisions(): Map<number, number>;
}

/** Creates the repository over an open database; secrets are sealed with `box`. */
export function createServerRepo(db: Db, box: SecretBox, now: () => number = Date.now): ServerRepo {
  const selectAll = db.prepare<[], ServerRow>('SELECT * FROM servers ORDER BY id');
  const selectOne = db.prepare<[number], ServerRow>('SELECT * FROM servers WHERE id = ?');
  // Polled by the scheduler after every group commit: prepared once.
  const selectRevisions = db.prepare<[], { id: number; revision: number }>('SELECT id, revision FROM servers');
  const selectByName = db.prepare<[string], ServerRow>('SELECT * FROM servers WHERE name = ?');
  const selectDefault = db.prepare<[], ServerRow>('SELECT * FROM servers ORDER BY is_default DESC, id LIMIT 1');
  const clearDefault = db.prepare('UPDATE servers SET is_default = 0 WHERE is_default = 1');
  const markDefault = db.prepare<[number]>('UPDATE servers SET is_default = 1 WHERE id = ?');
  const selectSecret = db.prepare<
    [number],
    { client_secret_enc: Buffer | null; password_enc: Buffer | null; client_certificate_enc: Buffer | null }
  >('SELECT client_secret_enc, password_enc, client_certificate_enc FROM servers WHERE id = ?');

  const mustGet = (id: number): EmailServer => {
    const row = selectOne.get(id);
    if (!row) throw new Error(`no email server with id ${id}`);
    return toServer(row);
  };

  const setDefault = (id: number): void => {
    clearDefault.run();
    markDefault.run(id);
  };

  return {
    list: () => selectAll.all().map(toServer),
    get: (id) => {
      const row = selectOne.get(id);
      return row ? toServer(row) : undefined;
    },
    findByName: (name) => {
      const row = selectByName.get(name);
      return row ? toServer(row) : undefined;
    },
    getDefault: () => {
      const row = selectDefault.get();
      return row ? toServer(row) : undefined;
    },
    add: (settings, makeDefault = false) =>
      db.transaction(() => {
        const fields = settingsColumns(box, settings, SETTING_KEYS);
        const columns = [...fields.map(([c]) => c), 'created_at', 'updated_at'];
        const values = [...fields.map(([, v]) => v), now(), now()];
        const info = db.prepare(`INSERT INTO servers (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`).run(...values);
        const id = Number(info.lastInsertRowid);
        const isFirst = (db.prepare('SELECT COUNT(*) AS n FROM servers').get() as { n: number }).n === 1;
        if (makeDefault || isFirst) setDefault(id);
        return mustGet(id);
      })(),
    update: (id, changes, makeDefault = false) =>
      db.transaction(() => {
        const before = mustGet(id);
        const sets: string[] = [];
        const values: unknown[] = [];
        for (const [column, value] of settingsColumns(box, changes)) {
          sets.push(`${column} = ?`);
          values.push(value);
        }
        sets.push('revision = revision + 1', 'updated_at = ?');
        values.push(now(), id);
        db.prepare(`UPDATE servers SET ${sets.join(', ')} WHERE id = ?`).run(...values);
        // The tokens and the signed-in account belong to the old app, tenant or cloud: whoever changes those
        // (panel, CLI, API) starts again from Not Authorized.
        if (identityChanged(before, changes)) {
          db.prepare('DELETE FROM token_caches WHERE server_id = ?').run(id);
          db.prepare(
            `UPDATE servers SET status = 'not_authorized', status_code = NULL, status_message = NULL, status_hint = NULL,
               status_at = NULL, authorized_account = NULL, token_refreshed_at = NULL WHERE id = ?`,
          ).run(id);
        }
        if (makeDefault) setDefault(id);
        return mustGet(id);
      })(),
    remove: (id) =>
      db.transaction(() => {
        const wasDefault = mustGet(id).isDefault;
        db.prepare('DELETE FROM servers WHERE id = ?').run(id);
        const next = selectAll.get();
        if (wasDefault && next) setDefault(next.id);
      })(),
    setStatus: (id, update) => {
      db.prepare(
        `UPDATE servers SET status = ?, status_code = ?, status_message = ?, status_hint = ?, status_at = ?,
           authorized_account = COALESCE(?, authorized_account),
           token_refreshed_at = COALESCE(?, token_refreshed_at)
         WHERE id = ?`,
      ).run(...statusValues(update, now()), id);
    },
    clientSecret: (id) => {
      const sealed = selectSecret.get(id)?.client_secret_enc;
      return sealed ? box.open(sealed) : null;
    },
    clientCertificate: (id) => {
      const sealed = selectSecret.get(id)?.client_certificate_enc;
      return sealed ? box.open(sealed) : null;
    },
    password: (id) => {
      const sealed = selectSecret.get(id)?.password_enc;
      return sealed ? box.open(sealed) : null;
    },
    revisions: () => new Map(selectRevisions.all().map((r) => [r.id, r.revision])),
  };
}
