/**
 * Email servers: the upstreams relay365 delivers to, with their Office 365
 * settings, limits and authorization status. Secrets are stored sealed and
 * are only ever opened for the token provider or the SMTP login.
 */
import type { Db } from './db.js';
import type { SecretBox } from './secret-box.js';

export const AUTH_METHODS = ['office365', 'password', 'none'] as const;
export const SIGN_IN_MODES = ['authorize', 'application'] as const;
export const SECURE_MODES = ['tls', 'ssl', 'none'] as const;
export const CLOUDS = ['global', 'usgov', 'usdod', 'china', 'custom'] as const;
export const FROM_HANDLINGS = ['keep', 'rewrite', 'reject'] as const;

export type AuthMethod = (typeof AUTH_METHODS)[number];
export type SignInMode = (typeof SIGN_IN_MODES)[number];
export type SecureMode = (typeof SECURE_MODES)[number];
export type CloudName = (typeof CLOUDS)[number];
export type FromHandling = (typeof FROM_HANDLINGS)[number];
export type ServerStatus = 'not_authorized' | 'authorized' | 'error';

/** An email server as the rest of relay365 sees it: no secret values, only whether they are set. */
export interface EmailServer {
  id: number;
  name: string;
  isDefault: boolean;
  method: AuthMethod;
  signInMode: SignInMode;
  secure: SecureMode;
  host: string;
  port: number;
  tenantId: string | null;
  clientId: string | null;
  hasClientSecret: boolean;
  clientSecretExpires: string | null;
  cloud: CloudName;
  authorityHost: string | null;
  smtpResource: string | null;
  mailbox: string | null;
  username: string | null;
  hasPassword: boolean;
  maxConnections: number;
  messagesPerMinute: number;
  recipientsPerDay: number;
  fromHandling: FromHandling;
  /** Send As Addresses: addresses the mailbox may send as in Exchange; `reject` accepts them as senders too. */
  sendAs: string[];
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

/** Settings a caller may set; secrets are given in plain text and sealed here. */
export interface ServerSettings {
  name: string;
  method: AuthMethod;
  signInMode: SignInMode;
  secure: SecureMode;
  host: string;
  port: number;
  tenantId: string | null;
  clientId: string | null;
  clientSecret: string | null;
  clientSecretExpires: string | null;
  cloud: CloudName;
  authorityHost: string | null;
  smtpResource: string | null;
  mailbox: string | null;
  username: string | null;
  password: string | null;
  maxConnections: number;
  messagesPerMinute: number;
  recipientsPerDay: number;
  fromHandling: FromHandling;
  sendAs: string[];
}

export interface StatusUpdate {
  status: ServerStatus;
  code?: string | null;
  message?: string | null;
  hint?: string | null;
  account?: string | null;
  refreshedAt?: number | null;
}

interface ServerRow {
  id: number;
  name: string;
  is_default: number;
  method: AuthMethod;
  sign_in_mode: SignInMode;
  secure: SecureMode;
  host: string;
  port: number;
  tenant_id: string | null;
  client_id: string | null;
  client_secret_enc: Buffer | null;
  client_secret_expires: string | null;
  cloud: CloudName;
  authority_host: string | null;
  smtp_resource: string | null;
  mailbox: string | null;
  username: string | null;
  password_enc: Buffer | null;
  max_connections: number;
  messages_per_minute: number;
  recipients_per_day: number;
  from_handling: FromHandling;
  send_as: string | null;
  status: ServerStatus;
  status_code: string | null;
  status_message: string | null;
  status_hint: string | null;
  status_at: number | null;
  authorized_account: string | null;
  token_refreshed_at: number | null;
  revision: number;
}

const COLUMNS: Record<Exclude<keyof ServerSettings, 'clientSecret' | 'password'>, string> = {
  name: 'name',
  method: 'method',
  signInMode: 'sign_in_mode',
  secure: 'secure',
  host: 'host',
  port: 'port',
  tenantId: 'tenant_id',
  clientId: 'client_id',
  clientSecretExpires: 'client_secret_expires',
  cloud: 'cloud',
  authorityHost: 'authority_host',
  smtpResource: 'smtp_resource',
  mailbox: 'mailbox',
  username: 'username',
  maxConnections: 'max_connections',
  messagesPerMinute: 'messages_per_minute',
  recipientsPerDay: 'recipients_per_day',
  fromHandling: 'from_handling',
  sendAs: 'send_as',
};

/** Settings whose change invalidates an authorized account (its tokens belong to the old app or cloud). */
export const IDENTITY_KEYS: readonly (keyof ServerSettings & keyof EmailServer)[] = [
  'tenantId',
  'clientId',
  'cloud',
  'authorityHost',
  'smtpResource',
  'signInMode',
];

/** A setting's column value: lists are stored one entry a line, an empty list as NULL. */
function columnValue(value: unknown): unknown {
  return Array.isArray(value) ? value.join('\n') || null : value;
}

function toServer(row: ServerRow): EmailServer {
  return {
    id: row.id,
    name: row.name,
    isDefault: row.is_default === 1,
    method: row.method,
    signInMode: row.sign_in_mode,
    secure: row.secure,
    host: row.host,
    port: row.port,
    tenantId: row.tenant_id,
    clientId: row.client_id,
    hasClientSecret: row.client_secret_enc !== null,
    clientSecretExpires: row.client_secret_expires,
    cloud: row.cloud,
    authorityHost: row.authority_host,
    smtpResource: row.smtp_resource,
    mailbox: row.mailbox,
    username: row.username,
    hasPassword: row.password_enc !== null,
    maxConnections: row.max_connections,
    messagesPerMinute: row.messages_per_minute,
    recipientsPerDay: row.recipients_per_day,
    fromHandling: row.from_handling,
    sendAs: row.send_as ? row.send_as.split('\n') : [],
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
  password(id: number): string | null;
  /** `id:revision` pairs, cheap enough to poll for changes made by another process. */
  revisions(): Map<number, number>;
}

/** Creates the repository over an open database; secrets are sealed with `box`. */
export function createServerRepo(db: Db, box: SecretBox, now: () => number = Date.now): ServerRepo {
  const selectAll = db.prepare<[], ServerRow>('SELECT * FROM servers ORDER BY id');
  const selectOne = db.prepare<[number], ServerRow>('SELECT * FROM servers WHERE id = ?');
  const selectByName = db.prepare<[string], ServerRow>('SELECT * FROM servers WHERE name = ?');
  const selectDefault = db.prepare<[], ServerRow>('SELECT * FROM servers ORDER BY is_default DESC, id LIMIT 1');
  const clearDefault = db.prepare('UPDATE servers SET is_default = 0 WHERE is_default = 1');
  const markDefault = db.prepare<[number]>('UPDATE servers SET is_default = 1 WHERE id = ?');
  const selectSecret = db.prepare<[number], { client_secret_enc: Buffer | null; password_enc: Buffer | null }>(
    'SELECT client_secret_enc, password_enc FROM servers WHERE id = ?',
  );

  const mustGet = (id: number): EmailServer => {
    const row = selectOne.get(id);
    if (!row) throw new Error(`no email server with id ${id}`);
    return toServer(row);
  };
  const sealOrNull = (value: string | null | undefined): Buffer | null => (value ? box.seal(value) : null);

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
        const fields = Object.entries(COLUMNS).map(
          ([key, column]) => [column, columnValue(settings[key as keyof typeof COLUMNS])] as const,
        );
        const columns = [...fields.map(([c]) => c), 'client_secret_enc', 'password_enc', 'created_at', 'updated_at'];
        const values = [...fields.map(([, v]) => v), sealOrNull(settings.clientSecret), sealOrNull(settings.password), now(), now()];
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
        for (const [key, column] of Object.entries(COLUMNS)) {
          if (key in changes) {
            sets.push(`${column} = ?`);
            values.push(columnValue(changes[key as keyof typeof COLUMNS]));
          }
        }
        if ('clientSecret' in changes) {
          sets.push('client_secret_enc = ?');
          values.push(sealOrNull(changes.clientSecret));
        }
        if ('password' in changes) {
          sets.push('password_enc = ?');
          values.push(sealOrNull(changes.password));
        }
        sets.push('revision = revision + 1', 'updated_at = ?');
        values.push(now(), id);
        db.prepare(`UPDATE servers SET ${sets.join(', ')} WHERE id = ?`).run(...values);
        // The tokens and the signed-in account belong to the old app, tenant or cloud: whoever changes those
        // (panel, CLI, API) starts again from Not Authorized.
        if (before.method === 'office365' && IDENTITY_KEYS.some((key) => key in changes && changes[key] !== before[key])) {
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
      ).run(
        update.status,
        update.code ?? null,
        update.message ?? null,
        update.hint ?? null,
        now(),
        update.account ?? null,
        update.refreshedAt ?? null,
        id,
      );
    },
    clientSecret: (id) => {
      const sealed = selectSecret.get(id)?.client_secret_enc;
      return sealed ? box.open(sealed) : null;
    },
    password: (id) => {
      const sealed = selectSecret.get(id)?.password_enc;
      return sealed ? box.open(sealed) : null;
    },
    revisions: () =>
      new Map((db.prepare('SELECT id, revision FROM servers').all() as { id: number; revision: number }[]).map((r) => [r.id, r.revision])),
  };
}
