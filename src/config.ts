/**
 * Start-up configuration: parsed once from the environment into a typed, frozen
 * object. Every setting is optional; a bad value becomes one ConfigError naming
 * the variable, the value and what is allowed.
 */
import { readFileSync } from 'node:fs';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import { parseCidr, type Cidr } from './store/access-schemas.js';
import { HOST } from './store/setting-checks.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'pretty';
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface Config {
  dataDir: string;
  smtpListen: ListenAddress;
  smtpsListen: ListenAddress | null;
  tlsCertFile: string | null;
  tlsKeyFile: string | null;
  adminListen: ListenAddress;
  /** How browsers reach the panel; by default `http://localhost:` and the admin listener's port. */
  publicUrl: string;
  /** The host name or address devices enter to reach the SMTP listeners, or null: this machine's own addresses. */
  smtpPublicHost: string | null;
  /** The ports devices use for the STARTTLS listener where they differ from its own (published or forwarded), best first. */
  smtpPublicPorts: readonly number[] | null;
  /** The same for the implicit-TLS listener; null while that listener is off. */
  smtpsPublicPorts: readonly number[] | null;
  /** Raw key material from RELAY365_SECRET_KEY, or null to use the generated key file. */
  secretKey: string | null;
  adminEmail: string | null;
  adminPassword: string | null;
  maxMessageSize: number;
  logLevel: LogLevel;
  /** Networks that may relay without AUTH, routed to the default server. */
  relayNetworks: readonly Cidr[];
  /** Offer AUTH before STARTTLS too (devices without TLS). */
  allowPlaintextAuth: boolean;
  tlsMinVersion: TlsVersion;
  /** Concurrent SMTP sessions from one client address (IPv6: per /64). */
  maxConnectionsPerClient: number;
  /** Concurrent SMTP sessions in all. */
  maxConnections: number;
  /** Peers whose `X-Forwarded-For` (panel, API) and PROXY protocol header (SMTP) are believed. */
  trustedProxies: readonly Cidr[];
  /** The SMTP listeners expect a PROXY protocol v1/v2 header from a trusted proxy before the greeting. */
  smtpProxyProtocol: boolean;
  /** Delivered and failed messages, and their events, are deleted this many days after they were received. */
  retentionDays: number;
  /** Below this many free bytes in the data folder MAIL FROM gets 452 4.3.1; 0 disables the check. */
  minFreeSpace: number;
  /** Bearer token `/metrics` requires, or null for none. */
  metricsToken: string | null;
  /** `json` lines for machines, `pretty` for people at a terminal. */
  logFormat: LogFormat;
  /** Alert channel from the environment: a JSON webhook (Teams or Slack incoming webhooks work), or null. */
  alertWebhookUrl: string | null;
  /** Alert channel from the environment: admin addresses that get alert emails (empty: none). */
  alertEmails: readonly string[];
  /** How long SIGTERM waits for in-flight SMTP sessions and deliveries, in milliseconds. */
  shutdownTimeoutMs: number;
}

/** A setting that cannot be used; `message` is the one line printed at start-up. */
export class ConfigError extends Error {
  constructor(variable: string, value: string, allowed: string) {
    super(`${variable}=${JSON.stringify(value)} is not valid: ${allowed}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** How long the relay log keeps delivered and failed mail unless RELAY365_RETENTION_DAYS says otherwise. */
export const DEFAULT_RETENTION_DAYS = 30;

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const SIZE_UNITS: Record<string, number> = { '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3 };

/** Reads `NAME`, or the file named by `NAME_FILE` (trailing newline trimmed). */
function readSetting(env: Env, name: string, allowFile: boolean): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = allowFile ? env[`${name}_FILE`] : undefined;
  if (file === undefined || file === '') return undefined;
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(`${name}_FILE`, file, `a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/** Parses `host:port`, `[v6]:port` or `off`; `off` only where `allowOff`. */
export function parseListen(name: string, value: string, allowOff: boolean): ListenAddress | null {
  if (allowOff && value.toLowerCase() === 'off') return null;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new ConfigError(name, value, `host:port such as 127.0.0.1:2525 or [::1]:2525 (port 0-65535)${allowOff ? ', or off' : ''}`);
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

/**
 * Who can reach a listen address: `every` address of this machine (`0.0.0.0`, `::`), only this machine
 * (`loopback`: 127.0.0.0/8, `::1`, `localhost`), or `one` address or name of it.
 */
export function listenScope({ host }: ListenAddress): 'every' | 'loopback' | 'one' {
  const lower = host.toLowerCase();
  if (lower === '0.0.0.0' || (isIPv6(lower) && /^[0:]+$/.test(lower))) return 'every';
  const v4 = lower.replace(/^::ffff:/, '');
  if (lower === 'localhost' || lower === '::1' || (isIPv4(v4) && v4.startsWith('127.'))) return 'loopback';
  return 'one';
}

/** Port 0 (any free port) is known only once bound, after the configuration: the usual panel port stands in. */
const DEFAULT_ADMIN_PORT = 8025;

/** Where a browser on this machine finds a panel listening on `at`: localhost unless it listens on one other address. */
function defaultPublicUrl(at: ListenAddress): string {
  const host = listenScope(at) === 'one' ? (at.host.includes(':') ? `[${at.host}]` : at.host) : 'localhost';
  return `http://${host}:${at.port === 0 ? DEFAULT_ADMIN_PORT : at.port}`;
}

/** Parses a host name or an IP address (an IPv6 address with or without brackets). */
function parseHost(name: string, value: string): string {
  const host = value.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) === 0 && !HOST.test(host)) {
    throw new ConfigError(name, value, 'a host name such as relay.contoso.com or an address such as 192.0.2.10');
  }
  return host;
}

/** Parses a comma-separated list of ports, best first. */
function parsePorts(name: string, value: string): number[] {
  const ports = value.split(',').map((part) => (/^\s*\d{1,5}\s*$/.test(part) ? Number(part) : NaN));
  if (!ports.every((port) => port >= 1 && port <= 65535)) {
    throw new ConfigError(name, value, 'comma-separated ports from 1 to 65535 such as 587,25, the one devices should prefer first');
  }
  return [...new Set(ports)];
}

/** Parses `35MB`, `10MiB`, `1048576`; `range` bounds the result (a message size by default). */
export function parseSize(name: string, value: string, range = { min: 1024, max: 2 ** 31, text: 'between 1KiB and 2GiB' }): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = match ? SIZE_UNITS[(match[2] ?? '').toUpperCase()] : undefined;
  if (!match || unit === undefined) throw new ConfigError(name, value, 'a size such as 35MB, 10MiB or 1048576 (bytes)');
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes < range.min || bytes > range.max) throw new ConfigError(name, value, `a size ${range.text}`);
  return bytes;
}

/** Parses a comma-separated CIDR list; empty means none. */
function parseNetworks(name: string, value: string): Cidr[] {
  const list: Cidr[] = [];
  const parts = value.split(',').map((p) => p.trim());
  for (const part of parts.filter(Boolean)) {
    const parsed = parseCidr(part);
    if (typeof parsed === 'string')
      throw new ConfigError(name, value, `comma-separated CIDRs such as 10.0.0.0/8,2001:db8::/32 (${parsed})`);
    list.push(parsed);
  }
  return list;
}

function parseBoolean(name: string, value: string): boolean {
  const lower = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  throw new ConfigError(name, value, 'true or false');
}

function parseWholeNumber(name: string, value: string, min: number, max: number): number {
  const n = /^\d{1,9}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(n >= min && n <= max)) throw new ConfigError(name, value, `a whole number from ${min} to ${max}`);
  return n;
}

/** Parses `30s`, `2m`, `1500ms` or a plain number of seconds into milliseconds, within `range`. */
export function parseDuration(name: string, value: string, range: { min: number; max: number; text: string }): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(value.trim());
  if (!match) throw new ConfigError(name, value, 'a duration such as 30s, 2m or 1500ms');
  const ms = Math.round(Number(match[1]) * (DURATION_UNITS[(match[2] ?? 's').toLowerCase()] as number));
  if (ms < range.min || ms > range.max) throw new ConfigError(name, value, `a duration ${range.text}`);
  return ms;
}

/** Parses a comma-separated list of email addresses; empty means none. */
function parseAddresses(name: string, value: string): string[] {
  const list = value
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const bad = list.find((a) => !/^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/.test(a));
  if (bad !== undefined)
    throw new ConfigError(name, value, `comma-separated email addresses such as admin@contoso.com (not ${JSON.stringify(bad)})`);
  return list;
}

/** True for an absolute http:// or https:// URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function parseUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, value, 'an absolute http(s) URL such as http://localhost:8025');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, value, 'an http:// or https:// URL');
  return url.toString().replace(/\/$/, '');
}

/** Parses the whole environment; throws ConfigError on the first bad value. */
export function loadConfig(env: Env = process.env): Config {
  const get = (name: string, fallback: string): string => readSetting(env, name, false) ?? fallback;
  const dataDir = path.resolve(get('RELAY365_DATA_DIR', './data'));
  const logLevel = get('RELAY365_LOG_LEVEL', 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new ConfigError('RELAY365_LOG_LEVEL', logLevel, `one of ${LOG_LEVELS.join(', ')}`);
  }
  const tlsCertFile = readSetting(env, 'RELAY365_TLS_CERT_FILE', false) ?? null;
  const tlsKeyFile = readSetting(env, 'RELAY365_TLS_KEY_FILE', false) ?? null;
  if ((tlsCertFile === null) !== (tlsKeyFile === null)) {
    const missing = tlsCertFile === null ? 'RELAY365_TLS_CERT_FILE' : 'RELAY365_TLS_KEY_FILE';
    throw new ConfigError(missing, '', 'set both RELAY365_TLS_CERT_FILE and RELAY365_TLS_KEY_FILE, or neither');
  }
  const smtpsListen = parseListen('RELAY365_SMTPS_LISTEN', get('RELAY365_SMTPS_LISTEN', 'off'), true);
  const adminListen = parseListen('RELAY365_ADMIN_LISTEN', get('RELAY365_ADMIN_LISTEN', '127.0.0.1:8025'), false) as ListenAddress;
  const optional = <T>(name: string, parse: (name: string, value: string) => T): T | null => {
    const value = readSetting(env, name, false);
    return value === undefined ? null : parse(name, value);
  };
  const smtpsPublicPorts = optional('RELAY365_SMTPS_PUBLIC_PORTS', parsePorts);
  const tlsMinVersion = get('RELAY365_TLS_MIN_VERSION', 'TLSv1.2');
  if (!TLS_VERSIONS.includes(tlsMinVersion as TlsVersion)) {
    throw new ConfigError('RELAY365_TLS_MIN_VERSION', tlsMinVersion, `one of ${TLS_VERSIONS.join(', ')}`);
  }
  const logFormat = get('RELAY365_LOG_FORMAT', 'json').toLowerCase();
  if (!LOG_FORMATS.includes(logFormat as LogFormat)) {
    throw new ConfigError('RELAY365_LOG_FORMAT', logFormat, `one of ${LOG_FORMATS.join(', ')}`);
  }
  const webhook = readSetting(env, 'RELAY365_ALERT_WEBHOOK_URL', true) ?? null;
  // The URL itself is the webhook's credential: a bad one is named by its variable, never echoed.
  if (webhook !== null && !isHttpUrl(webhook)) {
    throw new ConfigError(
      'RELAY365_ALERT_WEBHOOK_URL',
      '(hidden)',
      'an http:// or https:// URL, such as a Teams or Slack incoming webhook',
    );
  }
  const secretKey = readSetting(env, 'RELAY365_SECRET_KEY', true) ?? null;
  if (secretKey !== null && secretKey.length < 32) {
    throw new ConfigError(
      'RELAY365_SECRET_KEY',
      '(hidden)',
      'at least 32 characters (for example 64 hex digits from `openssl rand -hex 32`)',
    );
  }
  const trustedProxies = parseNetworks('RELAY365_TRUSTED_PROXIES', get('RELAY365_TRUSTED_PROXIES', ''));
  const smtpProxyProtocol = parseBoolean('RELAY365_SMTP_PROXY_PROTOCOL', get('RELAY365_SMTP_PROXY_PROTOCOL', 'false'));
  // Every connection would have to come from a proxy, and none is believed.
  if (smtpProxyProtocol && trustedProxies.length === 0) {
    throw new ConfigError('RELAY365_SMTP_PROXY_PROTOCOL', 'true', 'true only with RELAY365_TRUSTED_PROXIES naming the proxies');
  }
  const config: Config = {
    dataDir,
    smtpListen: parseListen('RELAY365_SMTP_LISTEN', get('RELAY365_SMTP_LISTEN', '127.0.0.1:2525'), false) as ListenAddress,
    smtpsListen,
    tlsCertFile,
    tlsKeyFile,
    adminListen,
    publicUrl: parseUrl('RELAY365_PUBLIC_URL', get('RELAY365_PUBLIC_URL', defaultPublicUrl(adminListen))),
    smtpPublicHost: optional('RELAY365_SMTP_PUBLIC_HOST', parseHost),
    smtpPublicPorts: optional('RELAY365_SMTP_PUBLIC_PORTS', parsePorts),
    // The image sets the published SMTPS port; it stays harmless when a deployment turns that listener off.
    smtpsPublicPorts: smtpsListen === null ? null : smtpsPublicPorts,
    secretKey,
    adminEmail: readSetting(env, 'RELAY365_ADMIN_EMAIL', false) ?? null,
    adminPassword: readSetting(env, 'RELAY365_ADMIN_PASSWORD', true) ?? null,
    maxMessageSize: parseSize('RELAY365_MAX_MESSAGE_SIZE', get('RELAY365_MAX_MESSAGE_SIZE', '35MB')),
    logLevel: logLevel as LogLevel,
    // Set but empty means no network at all may relay without AUTH.
    relayNetworks: parseNetworks('RELAY365_RELAY_NETWORKS', env.RELAY365_RELAY_NETWORKS ?? '127.0.0.0/8,::1/128'),
    allowPlaintextAuth: parseBoolean('RELAY365_ALLOW_PLAINTEXT_AUTH', get('RELAY365_ALLOW_PLAINTEXT_AUTH', 'false')),
    tlsMinVersion: tlsMinVersion as TlsVersion,
    maxConnectionsPerClient: parseWholeNumber(
      'RELAY365_MAX_CONNECTIONS_PER_CLIENT',
      get('RELAY365_MAX_CONNECTIONS_PER_CLIENT', '50'),
      1,
      10_000,
    ),
    maxConnections: parseWholeNumber('RELAY365_MAX_CONNECTIONS', get('RELAY365_MAX_CONNECTIONS', '1000'), 1, 100_000),
    trustedProxies,
    smtpProxyProtocol,
    retentionDays: parseWholeNumber('RELAY365_RETENTION_DAYS', get('RELAY365_RETENTION_DAYS', String(DEFAULT_RETENTION_DAYS)), 1, 3650),
    // Like Postfix's queue_minfree; 0 turns the check off.
    minFreeSpace: parseSize('RELAY365_MIN_FREE_SPACE', get('RELAY365_MIN_FREE_SPACE', '100MB'), {
      min: 0,
      max: 2 ** 50,
      text: 'from 0 (no check) to 1PiB',
    }),
    metricsToken: readSetting(env, 'RELAY365_METRICS_TOKEN', true) ?? null,
    logFormat: logFormat as LogFormat,
    alertWebhookUrl: webhook,
    alertEmails: parseAddresses('RELAY365_ALERT_EMAIL', get('RELAY365_ALERT_EMAIL', '')),
    shutdownTimeoutMs: parseDuration('RELAY365_SHUTDOWN_TIMEOUT', get('RELAY365_SHUTDOWN_TIMEOUT', '30s'), {
      min: 0,
      max: 3_600_000,
      text: 'from 0s to 1h',
    }),
  };
  return Object.freeze(config);
}
