/**
 * Versioned schema migrations, applied in order at start-up. The database's
 * `user_version` pragma records how many have run. Never edit a shipped
 * migration: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE servers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    is_default INTEGER NOT NULL DEFAULT 0,
    method TEXT NOT NULL,
    sign_in_mode TEXT NOT NULL DEFAULT 'application',
    secure TEXT NOT NULL DEFAULT 'tls',
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    tenant_id TEXT,
    client_id TEXT,
    client_secret_enc BLOB,
    client_secret_expires TEXT,
    cloud TEXT NOT NULL DEFAULT 'global',
    authority_host TEXT,
    smtp_resource TEXT,
    mailbox TEXT,
    username TEXT,
    password_enc BLOB,
    max_connections INTEGER NOT NULL DEFAULT 3,
    messages_per_minute INTEGER NOT NULL DEFAULT 30,
    recipients_per_day INTEGER NOT NULL DEFAULT 10000,
    from_handling TEXT NOT NULL DEFAULT 'keep',
    status TEXT NOT NULL DEFAULT 'not_authorized',
    status_code TEXT,
    status_message TEXT,
    status_hint TEXT,
    status_at INTEGER,
    authorized_account TEXT,
    token_refreshed_at INTEGER,
    revision INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE token_caches (
    server_id INTEGER PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
    data BLOB NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    server_id INTEGER REFERENCES servers(id) ON DELETE SET NULL,
    mail_from TEXT NOT NULL,
    size INTEGER NOT NULL,
    subject TEXT,
    header_message_id TEXT,
    client_address TEXT,
    client_helo TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_reply TEXT,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX messages_due ON messages(server_id, status, next_attempt_at);
  CREATE INDEX messages_received ON messages(received_at);

  CREATE TABLE recipients (
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    reply TEXT,
    done_at INTEGER,
    PRIMARY KEY (message_id, address)
  ) WITHOUT ROWID;
  CREATE INDEX recipients_done ON recipients(status, done_at);

  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    message_id TEXT,
    server_id INTEGER,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT
  );
  CREATE INDEX events_message ON events(message_id, id);
  `,
  // 2: admin panel accounts. Session ids, setup tokens and OAuth states are
  // stored as SHA-256 hashes; the PKCE verifier is sealed like other secrets.
  `
  CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    is_super_admin INTEGER NOT NULL DEFAULT 0,
    can_update_settings INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  );

  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    flash TEXT
  );
  CREATE INDEX sessions_user ON sessions(user_id);

  CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    session_hash TEXT NOT NULL REFERENCES sessions(id_hash) ON DELETE CASCADE,
    server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    verifier_enc BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
  );
  `,
  // 3: relay access. Relay users log in with SMTP AUTH (passwords stored as scrypt hashes);
  // allowed networks relay without AUTH; failed AUTH is counted per client address so a
  // lockout survives a restart. Each message records how it was routed.
  `
  CREATE TABLE relay_users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    server_id INTEGER NOT NULL REFERENCES servers(id),
    allowed_from TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    last_used_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE relay_networks (
    id INTEGER PRIMARY KEY,
    cidr TEXT NOT NULL UNIQUE,
    server_id INTEGER NOT NULL REFERENCES servers(id),
    created_at INTEGER NOT NULL
  );

  CREATE TABLE auth_failures (
    address TEXT NOT NULL,
    at INTEGER NOT NULL,
    username TEXT
  );
  CREATE INDEX auth_failures_address ON auth_failures(address, at);

  CREATE TABLE auth_lockouts (
    address TEXT PRIMARY KEY,
    locked_at INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    strikes INTEGER NOT NULL,
    last_username TEXT
  );

  ALTER TABLE messages ADD COLUMN route TEXT;
  ALTER TABLE messages ADD COLUMN relay_user TEXT;
  `,
  // 4: Send As Addresses of an email server, one address a line (NULL: none).
  `
  ALTER TABLE servers ADD COLUMN send_as TEXT;
  `,
  // Server removal and retention: indexes for the relay log's filters (status, server, sender and
  // recipient prefixes, case-insensitive like LIKE) and for pruning old events; waiting mail left
  // without its email server (server_id NULL or dangling) is failed; from now on a server with
  // mail waiting or in flight cannot be deleted at all.
  `
  CREATE INDEX messages_status_received ON messages(status, received_at);
  CREATE INDEX messages_server_received ON messages(server_id, received_at);
  CREATE INDEX messages_sender ON messages(mail_from COLLATE NOCASE);
  CREATE INDEX recipients_address ON recipients(address COLLATE NOCASE);
  CREATE INDEX events_at ON events(at);

  CREATE TEMP TABLE orphaned AS
    SELECT id FROM messages
    WHERE status NOT IN ('delivered', 'failed') AND (server_id IS NULL OR server_id NOT IN (SELECT id FROM servers));
  UPDATE recipients SET status = 'failed', reply = 'its email server was removed', done_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE status = 'pending' AND message_id IN (SELECT id FROM orphaned);
  INSERT INTO events (message_id, server_id, at, kind, detail)
    SELECT id, NULL, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'failed', 'its email server was removed'
    FROM orphaned;
  UPDATE messages SET status = 'failed', last_reply = 'its email server was removed', server_id = NULL,
      updated_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE id IN (SELECT id FROM orphaned);
  DROP TABLE orphaned;

  CREATE TRIGGER servers_keep_waiting_mail BEFORE DELETE ON servers
  WHEN EXISTS (SELECT 1 FROM messages WHERE server_id = OLD.id AND status NOT IN ('delivered', 'failed'))
  BEGIN
    SELECT RAISE(ABORT, 'email server has mail waiting or in flight');
  END;
  `,
  // Lanes per mailbox: a pause or lowered connection limit survives a restart, and recipients
  // are reserved against the rolling daily quota when a message is claimed.
  `
  CREATE TABLE IF NOT EXISTS lane_state (
    lane_key TEXT PRIMARY KEY,
    paused_until INTEGER NOT NULL DEFAULT 0,
    throttle_limit INTEGER,
    throttled_until INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS lane_usage (
    id INTEGER PRIMARY KEY,
    lane_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    recipients INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS lane_usage_key_at ON lane_usage(lane_key, at);
  `,
  // Readiness: /readyz proves the database takes a write by updating this one row.
  `
  CREATE TABLE IF NOT EXISTS health_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
  );
  INSERT OR IGNORE INTO health_probe (id, checked_at) VALUES (1, 0);
  `,
  // Alerts: the panel's alert settings (one row; the webhook URL sealed like other secrets) and
  // each alert from firing to resolved, with when each channel was last told, so that a restart
  // neither repeats nor forgets a notice.
  `
  CREATE TABLE IF NOT EXISTS alert_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    webhook_url_enc BLOB,
    emails TEXT,
    email_server_id INTEGER REFERENCES servers(id) ON DELETE SET NULL,
    oldest_minutes INTEGER NOT NULL DEFAULT 30,
    failures_per_hour INTEGER NOT NULL DEFAULT 10,
    repeat_minutes INTEGER NOT NULL DEFAULT 240,
    updated_at INTEGER NOT NULL
  );
  INSERT OR IGNORE INTO alert_settings (id, updated_at) VALUES (1, 0);
  CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    server TEXT,
    code TEXT,
    fix TEXT,
    detail TEXT,
    repeats INTEGER NOT NULL,
    fired_at INTEGER NOT NULL,
    resolved_at INTEGER,
    webhook_at INTEGER,
    email_at INTEGER,
    webhook_resolved_at INTEGER,
    email_resolved_at INTEGER
  );
  CREATE UNIQUE INDEX IF NOT EXISTS alerts_open_key ON alerts(key) WHERE resolved_at IS NULL;
  CREATE INDEX IF NOT EXISTS alerts_fired ON alerts(fired_at);
  `,
  // API tokens for /api/v1: only a SHA-256 of each token is kept; revoking one deletes its row.
  `
  CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    token_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
  );
  `,
  // The scheduler reads due messages in (next_attempt_at, received_at) order: with received_at in
  // the index, a look at a lane stops after the rows it takes instead of sorting the whole queue.
  `
  DROP INDEX IF EXISTS messages_due;
  CREATE INDEX IF NOT EXISTS messages_due_order ON messages(server_id, status, next_attempt_at, received_at);
  `,
  // Refused SMTP sessions and transactions (src/store/refusals.ts), one row per run of like refusals.
  `
  CREATE TABLE IF NOT EXISTS refusals (
    id INTEGER PRIMARY KEY,
    client TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    hint TEXT,
    username TEXT,
    count INTEGER NOT NULL DEFAULT 1,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS refusals_last ON refusals(last_at);
  CREATE INDEX IF NOT EXISTS refusals_client ON refusals(client, reason, last_at);
  CREATE INDEX IF NOT EXISTS refusals_reason ON refusals(reason, last_at);
  `,
  // Delivery status notifications: Bounce Notices and Delay Notices per server; the notices each message owes (one per kind).
  `
  ALTER TABLE servers ADD COLUMN bounce_notices TEXT NOT NULL DEFAULT 'on';
  ALTER TABLE servers ADD COLUMN delay_notices TEXT NOT NULL DEFAULT 'off';
  CREATE TABLE IF NOT EXISTS notices (
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('failed', 'delayed')),
    notice_id TEXT NOT NULL,
    headers BLOB,
    owed_at INTEGER NOT NULL,
    done_at INTEGER,
    PRIMARY KEY (message_id, kind)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS notices_owed ON notices(owed_at) WHERE done_at IS NULL;
  `,
  // Facts about the database itself; `key_check` is sealed with its first key (src/store/key-check.ts).
  `CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);`,
  // What the client declared at MAIL FROM and the upstream MAIL FROM repeats: BODY=8BITMIME, SMTPUTF8.
  `
  ALTER TABLE messages ADD COLUMN body_8bit INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE messages ADD COLUMN smtputf8 INTEGER NOT NULL DEFAULT 0;
  `,
  // Office 365 Send Via (smtp or Microsoft Graph) and the Custom cloud's Graph Endpoint.
  `
  ALTER TABLE servers ADD COLUMN send_via TEXT NOT NULL DEFAULT 'smtp';
  ALTER TABLE servers ADD COLUMN graph_endpoint TEXT;
  `,
  // Office 365 Client Certificate (sealed PEM certificate and key) and its public facts: SHA-256 thumbprint and expiry.
  `
  ALTER TABLE servers ADD COLUMN client_certificate_enc BLOB;
  ALTER TABLE servers ADD COLUMN client_certificate_thumbprint TEXT;
  ALTER TABLE servers ADD COLUMN client_certificate_expires_at INTEGER;
  `,
  // Graph Requests at Once: concurrent Microsoft Graph requests per app across its mailboxes.
  `ALTER TABLE servers ADD COLUMN graph_requests_at_once INTEGER NOT NULL DEFAULT 4;`,
  // Message bodies (src/store/bodies.ts): our Received: header and the client's message in chunks,
  // stored with the queue record instead of a spool file. No foreign key: a body's first chunks are
  // written while DATA streams, before its record exists.
  `
  CREATE TABLE IF NOT EXISTS message_bodies (
    message_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (message_id, seq)
  );
  `,
  // Members of a cluster (src/store/instances.ts): each running relay365 instance and its last heartbeat.
  `
  CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    stopped_at INTEGER
  );
  `,
  // Failed SMTP AUTH attempts get an id column (the rowid they had, by name), as PostgreSQL's have.
  `
  CREATE TABLE auth_failures_new (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    at INTEGER NOT NULL,
    username TEXT
  );
  INSERT INTO auth_failures_new (id, address, at, username) SELECT rowid, address, at, username FROM auth_failures;
  DROP TABLE auth_failures;
  ALTER TABLE auth_failures_new RENAME TO auth_failures;
  CREATE INDEX auth_failures_address ON auth_failures(address, at);
  `,
  // Claims with leases: who is delivering a message, and until when its claim holds unless renewed
  // (a claim whose lease ran out is queued again by any instance).
  `
  ALTER TABLE messages ADD COLUMN claimed_by TEXT;
  ALTER TABLE messages ADD COLUMN lease_until INTEGER;
  CREATE INDEX IF NOT EXISTS messages_leases ON messages(lease_until) WHERE status = 'sending';
  `,
  // A cluster's leases (src/store/leases.ts): which instance delivers a mailbox's mail and which runs
  // a job that must run once, until when, and who waits for it. A body's chunks name the instance
  // receiving them, so an instance starting up leaves alone the bodies another one is still receiving.
  `
  CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    held_until INTEGER NOT NULL,
    wanted_by TEXT
  );
  ALTER TABLE message_bodies ADD COLUMN received_by TEXT;
  `,
];
