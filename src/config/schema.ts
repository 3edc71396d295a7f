/**
 * The environment described once: per RELAY365_* variable its grammar, its
 * default, whether it is a secret (also read from the file `NAME_FILE` names,
 * never echoed in an error) and its row of the README's Configuration table.
 * `configSchema` parses all of them into the typed Config and applies the rules
 * that join two variables; a test holds the README's table to `VARIABLES`.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import * as value from './values.js';

/** A variable's row in the README's table: the default as people read it, and what it does. */
interface Readme {
  default: string;
  meaning: string;
}

interface Variable<S extends z.ZodType = z.ZodType> {
  name: string;
  /** Reads the variable's text; unset (or empty, unless `keepEmpty`) it reads the default. */
  schema: S;
  /** Also read from the file `NAME_FILE` names, and never shown in an error. */
  secret: boolean;
  /** Set but empty is a value (an empty list), not the default. */
  keepEmpty: boolean;
  readme: Readme;
}

interface Options {
  secret?: true;
  keepEmpty?: true;
}

/** A variable that reads `fallback` while unset; the README shows that text unless `readme.default` says otherwise. */
function withDefault<S extends z.ZodType<unknown, string>>(
  name: string,
  grammar: S,
  fallback: string,
  readme: { default?: string; meaning: string },
  options: Options = {},
) {
  return {
    name,
    schema: grammar.prefault(fallback as z.input<S>),
    secret: options.secret ?? false,
    keepEmpty: options.keepEmpty ?? false,
    readme: { default: readme.default ?? `\`${fallback}\``, meaning: readme.meaning },
  } satisfies Variable;
}

/** A variable that is null while unset. */
function optional<S extends z.ZodType<unknown, string>>(name: string, grammar: S, readme: Readme, options: Options = {}) {
  return {
    name,
    schema: grammar.nullable().default(null),
    secret: options.secret ?? false,
    keepEmpty: false,
    readme,
  } satisfies Variable;
}

/** How long the relay log keeps delivered and failed mail unless RELAY365_RETENTION_DAYS says otherwise. */
export const DEFAULT_RETENTION_DAYS = 30;

/** Two variables that are set together share a row of the README's table. */
const TLS_FILES: Readme = { default: 'a generated self-signed one', meaning: 'listener certificate and key (PEM)' };
const FIRST_ADMIN: Readme = {
  default: 'none',
  meaning: 'create the first Super Admin when no user exists; without them the first start logs a one-time setup link',
};

/** Every variable, by the Config field it sets, in the order of the README's table. */
export const VARIABLES = {
  dataDir: withDefault('RELAY365_DATA_DIR', value.folder, './data', {
    meaning: 'SQLite database (queue and messages) unless `RELAY365_DATABASE_URL` is set, generated key and certificate',
  }),
  /** PostgreSQL instead of SQLite in the data folder: every instance with the same URL and key is one cluster. */
  databaseUrl: optional(
    'RELAY365_DATABASE_URL',
    value.databaseUrl,
    {
      default: 'none (SQLite in the data folder)',
      meaning:
        '`postgres://user:password@host:5432/db`: store everything in PostgreSQL, shared by every instance of a cluster (also `_FILE`)',
    },
    { secret: true },
  ),
  /** This instance's name in a cluster. */
  instanceId: optional('RELAY365_INSTANCE_ID', value.instanceId, {
    default: 'the host name',
    meaning: "this instance's name on a shared database (`relay365 cluster status`, PostgreSQL's list of connections)",
  }),
  smtpListen: withDefault('RELAY365_SMTP_LISTEN', value.listen, '127.0.0.1:2525', { meaning: 'SMTP listener, with STARTTLS' }),
  smtpsListen: withDefault('RELAY365_SMTPS_LISTEN', value.listenOrOff, 'off', {
    default: 'off',
    meaning: 'implicit-TLS listener, e.g. `0.0.0.0:465`',
  }),
  tlsCertFile: optional('RELAY365_TLS_CERT_FILE', value.text, TLS_FILES),
  tlsKeyFile: optional('RELAY365_TLS_KEY_FILE', value.text, TLS_FILES),
  adminListen: withDefault('RELAY365_ADMIN_LISTEN', value.listen, '127.0.0.1:8025', { meaning: 'admin panel and API' }),
  /** How browsers reach the panel; unset, `configSchema` derives it from the admin listener. */
  publicUrl: optional('RELAY365_PUBLIC_URL', value.httpUrl, {
    default: '`http://localhost:{port of RELAY365_ADMIN_LISTEN}`',
    meaning: 'how browsers reach the panel; the redirect URI is `{PUBLIC_URL}/oauth/office365/callback`',
  }),
  /** The host name or address devices enter to reach the SMTP listeners, or null: this machine's own addresses. */
  smtpPublicHost: optional('RELAY365_SMTP_PUBLIC_HOST', value.host, {
    default: "this machine's addresses",
    meaning: 'host name or address devices are told to use as SMTP server',
  }),
  /** The ports devices use for the STARTTLS listener where they differ from its own (published or forwarded), best first. */
  smtpPublicPorts: optional('RELAY365_SMTP_PUBLIC_PORTS', value.ports, {
    default: 'the port of `RELAY365_SMTP_LISTEN`',
    meaning: 'comma-separated ports devices use for STARTTLS, preferred first (the image: `587,25`)',
  }),
  /** The same for the implicit-TLS listener; null while that listener is off. */
  smtpsPublicPorts: optional('RELAY365_SMTPS_PUBLIC_PORTS', value.ports, {
    default: 'the port of `RELAY365_SMTPS_LISTEN`',
    meaning: 'the same for SSL/TLS (implicit TLS; the image: `465`); ignored while that listener is off',
  }),
  /** Peers whose `X-Forwarded-For` (panel, API) and PROXY protocol header (SMTP) are believed. */
  trustedProxies: withDefault('RELAY365_TRUSTED_PROXIES', value.networks, '', {
    default: 'none',
    meaning: 'comma-separated CIDRs of proxies whose `X-Forwarded-For` (panel, API) and PROXY header (SMTP) are believed',
  }),
  /** Raw key material, or null to use the generated key file. */
  secretKey: optional(
    'RELAY365_SECRET_KEY',
    value.secretKey,
    {
      default: 'generated into `{DATA_DIR}/secret.key` (mode 0600)',
      meaning: 'key that encrypts client secrets and tokens at rest (64 hex digits, or any text of 32+ characters)',
    },
    { secret: true },
  ),
  adminEmail: optional('RELAY365_ADMIN_EMAIL', value.text, FIRST_ADMIN),
  adminPassword: optional('RELAY365_ADMIN_PASSWORD', value.text, FIRST_ADMIN, { secret: true }),
  maxMessageSize: withDefault('RELAY365_MAX_MESSAGE_SIZE', value.size({ min: 1024, max: 2 ** 31, text: 'between 1KiB and 2GiB' }), '35MB', {
    meaning: 'advertised SIZE; larger messages get `552 5.3.4`',
  }),
  /** Below this many free bytes in the data folder MAIL FROM gets 452 4.3.1; 0 disables the check (like Postfix's queue_minfree). */
  minFreeSpace: withDefault('RELAY365_MIN_FREE_SPACE', value.size({ min: 0, max: 2 ** 50, text: 'from 0 (no check) to 1PiB' }), '100MB', {
    meaning: 'below this free space in the data folder MAIL FROM gets `452 4.3.1`; `0` turns the check off',
  }),
  logLevel: withDefault('RELAY365_LOG_LEVEL', value.oneOfLowerCase(value.LOG_LEVELS), 'info', {
    meaning: 'JSON log lines on stdout: `debug`, `info`, `warn`, `error`',
  }),
  /** Networks that may relay without AUTH, routed to the default server. */
  relayNetworks: withDefault(
    'RELAY365_RELAY_NETWORKS',
    value.networks,
    '127.0.0.0/8,::1/128',
    { meaning: 'comma-separated CIDRs that may relay without SMTP AUTH, routed to the default email server; empty = none' },
    { keepEmpty: true },
  ),
  /** Offer AUTH before STARTTLS too (devices without TLS). */
  allowPlaintextAuth: withDefault('RELAY365_ALLOW_PLAINTEXT_AUTH', value.boolean, 'false', {
    meaning: '`true` offers AUTH before STARTTLS too, for devices without TLS',
  }),
  tlsMinVersion: withDefault('RELAY365_TLS_MIN_VERSION', value.oneOf(value.TLS_VERSIONS), 'TLSv1.2', {
    meaning: 'lowest TLS version the listener accepts: `TLSv1`, `TLSv1.1`, `TLSv1.2`, `TLSv1.3`',
  }),
  /** Concurrent SMTP sessions from one client address (IPv6: per /64). */
  maxConnectionsPerClient: withDefault('RELAY365_MAX_CONNECTIONS_PER_CLIENT', value.wholeNumber(1, 10_000), '50', {
    meaning: 'concurrent SMTP sessions from one client address (IPv6: per /64)',
  }),
  /** Concurrent SMTP sessions in all. */
  maxConnections: withDefault('RELAY365_MAX_CONNECTIONS', value.wholeNumber(1, 100_000), '1000', {
    meaning: 'concurrent SMTP sessions in all; anonymous clients outside the allowed networks share four fifths',
  }),
  /** The SMTP listeners expect a PROXY protocol v1/v2 header from a trusted proxy before the greeting. */
  smtpProxyProtocol: withDefault('RELAY365_SMTP_PROXY_PROTOCOL', value.boolean, 'false', {
    meaning: '`true`: the SMTP listeners expect a PROXY protocol v1/v2 header from `RELAY365_TRUSTED_PROXIES`',
  }),
  /** Delivered and failed messages, and their events, are deleted this many days after they were received. */
  retentionDays: withDefault('RELAY365_RETENTION_DAYS', value.wholeNumber(1, 3650), String(DEFAULT_RETENTION_DAYS), {
    meaning: 'days the relay log keeps delivered and failed messages and their events (counted from receipt)',
  }),
  /** Bearer token `/metrics` requires, or null for none. */
  metricsToken: optional(
    'RELAY365_METRICS_TOKEN',
    value.text,
    { default: 'none', meaning: 'bearer token that `/metrics` requires when set (also `RELAY365_METRICS_TOKEN_FILE`)' },
    { secret: true },
  ),
  /** `json` lines for machines, `pretty` for people at a terminal. */
  logFormat: withDefault('RELAY365_LOG_FORMAT', value.oneOfLowerCase(value.LOG_FORMATS), 'json', {
    meaning: '`json` lines for log collectors, `pretty` for people at a terminal',
  }),
  /** Alert channel from the environment: a JSON webhook (Teams or Slack incoming webhooks work), or null. */
  alertWebhookUrl: optional(
    'RELAY365_ALERT_WEBHOOK_URL',
    value.webhookUrl,
    {
      default: 'none',
      meaning: 'alerts as JSON POSTs to this URL (Teams and Slack incoming webhooks work; also `_FILE`); never shown or logged',
    },
    { secret: true },
  ),
  /** Alert channel from the environment: admin addresses that get alert emails (empty: none). */
  alertEmails: withDefault('RELAY365_ALERT_EMAIL', value.addresses, '', {
    default: 'none',
    meaning: 'comma-separated admin addresses that get alert emails',
  }),
  /** How long SIGTERM waits for in-flight SMTP sessions and deliveries, in milliseconds. */
  shutdownTimeoutMs: withDefault('RELAY365_SHUTDOWN_TIMEOUT', value.duration({ min: 0, max: 3_600_000, text: 'from 0s to 1h' }), '30s', {
    meaning: 'how long SIGTERM waits for open SMTP sessions and deliveries (`500ms`, `30s`, `2m`; at most `1h`)',
  }),
};

type Variables = typeof VARIABLES;
export type ConfigField = keyof Variables;

const fields = z.object(
  Object.fromEntries(Object.entries(VARIABLES).map(([field, variable]) => [field, variable.schema])) as {
    [K in ConfigField]: Variables[K]['schema'];
  },
);

/** Port 0 (any free port) is known only once bound, after the configuration: the usual panel port stands in. */
const DEFAULT_ADMIN_PORT = 8025;

/** Where a browser on this machine finds a panel listening on `at`: localhost unless it listens on one other address. */
function defaultPublicUrl(at: value.ListenAddress): string {
  const host = value.listenScope(at) === 'one' ? (at.host.includes(':') ? `[${at.host}]` : at.host) : 'localhost';
  return `http://${host}:${at.port === 0 ? DEFAULT_ADMIN_PORT : at.port}`;
}

/**
 * The whole environment, by Config field, as read from the variables' text (undefined: unset). A refused
 * value is an issue at its field's path, with the text read as `input` when parsed with `reportInput`.
 */
export const configSchema = fields.transform((config, ctx) => {
  if ((config.tlsCertFile === null) !== (config.tlsKeyFile === null)) {
    return refuse(
      ctx,
      config.tlsCertFile === null ? 'tlsCertFile' : 'tlsKeyFile',
      '',
      'set both RELAY365_TLS_CERT_FILE and RELAY365_TLS_KEY_FILE, or neither',
    );
  }
  // Every connection would have to come from a proxy, and none is believed.
  if (config.smtpProxyProtocol && config.trustedProxies.length === 0) {
    return refuse(ctx, 'smtpProxyProtocol', undefined, 'true only with RELAY365_TRUSTED_PROXIES naming the proxies');
  }
  // Every instance of a cluster opens the secrets the others sealed: a key generated into one data folder cannot do that.
  if (config.databaseUrl !== null && config.secretKey === null) {
    return refuse(
      ctx,
      'databaseUrl',
      undefined,
      'set only with RELAY365_SECRET_KEY (the same key on every instance that shares the database)',
    );
  }
  let publicUrl = config.publicUrl;
  if (publicUrl === null) {
    const fallback = defaultPublicUrl(config.adminListen);
    const read = value.httpUrl.safeParse(fallback);
    if (!read.success) return refuse(ctx, 'publicUrl', fallback, read.error.issues[0]?.message ?? '');
    publicUrl = read.data;
  }
  return {
    ...config,
    publicUrl,
    instanceId: config.instanceId ?? hostInstanceId(),
    // The image sets the published SMTPS port; it stays harmless when a deployment turns that listener off.
    smtpsPublicPorts: config.smtpsListen === null ? null : config.smtpsPublicPorts,
  };
});

/** The host name as an instance id: what RELAY365_INSTANCE_ID allows, the rest of it replaced by dashes. */
function hostInstanceId(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 63) || 'relay365'
  );
}

/** Refuses `field` (its text `input`, when it is not the variable's own) for a rule that joins variables. */
function refuse(ctx: z.RefinementCtx, field: ConfigField, input: string | undefined, allowed: string): never {
  ctx.addIssue({ code: 'custom', path: [field], message: allowed, ...(input === undefined ? {} : { input }) });
  return z.NEVER;
}

/** The configuration relay365 runs with: parsed once at start-up, then frozen. */
export type Config = Readonly<z.output<typeof configSchema>>;
