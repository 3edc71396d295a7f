/**
 * Maps `relay365 server` flags to email server settings, with defaults for a
 * new server and validation with one clear message per bad value.
 */
import { readFileSync } from 'node:fs';
import { newServerSettings } from '../auth/server-settings.js';
import { parseAddressList, validateServerFields } from '../store/server-validation.js';
import type { ServerSettings } from '../store/servers.js';
import { UsageError } from './usage-error.js';

type Field = Exclude<keyof ServerSettings, 'clientSecret' | 'password'>;

/** Flag → setting field, for flags that take the value as given. */
const FLAG_FIELDS: Record<string, Field> = {
  name: 'name',
  method: 'method',
  mode: 'signInMode',
  secure: 'secure',
  host: 'host',
  port: 'port',
  'tenant-id': 'tenantId',
  'client-id': 'clientId',
  'client-secret-expires': 'clientSecretExpires',
  cloud: 'cloud',
  'authority-host': 'authorityHost',
  'smtp-resource': 'smtpResource',
  mailbox: 'mailbox',
  username: 'username',
  'max-connections': 'maxConnections',
  'messages-per-minute': 'messagesPerMinute',
  'recipients-per-day': 'recipientsPerDay',
  'from-handling': 'fromHandling',
  'send-as': 'sendAs',
};
const NUMERIC: ReadonlySet<Field> = new Set(['port', 'maxConnections', 'messagesPerMinute', 'recipientsPerDay']);
const SECRET_FLAGS: Record<string, 'clientSecret' | 'password'> = { 'client-secret-file': 'clientSecret', 'password-file': 'password' };

/** Flags `server add` and `server set` accept, for parseArgs. */
export const SERVER_FLAGS = [...Object.keys(FLAG_FIELDS), ...Object.keys(SECRET_FLAGS)];

function readSecretFile(flag: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag} ${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (!value) throw new UsageError(`--${flag} ${file}: the file is empty`);
  return value;
}

/** Turns parsed flags into setting changes; values are validated, secrets read from their files. */
export function flagsToSettings(flags: Record<string, string | boolean | undefined>): Partial<ServerSettings> {
  const changes: Record<string, unknown> = {};
  for (const [flag, field] of Object.entries(FLAG_FIELDS)) {
    const raw = flags[flag];
    if (typeof raw !== 'string') continue;
    if (NUMERIC.has(field)) changes[field] = /^\d+$/.test(raw) ? Number(raw) : NaN;
    else if (field === 'signInMode') changes[field] = raw === 'authorize-account' ? 'authorize' : raw;
    else if (field === 'sendAs') changes[field] = parseAddressList(raw);
    else changes[field] = raw === '' ? null : raw;
  }
  for (const [flag, field] of Object.entries(SECRET_FLAGS)) {
    const file = flags[flag];
    if (typeof file === 'string') changes[field] = readSecretFile(flag, file);
  }
  const settings = changes as Partial<ServerSettings>;
  const errors = validateServerFields(settings);
  const [field, message] = Object.entries(errors)[0] ?? [];
  if (field) {
    const flag =
      Object.entries(FLAG_FIELDS).find(([, f]) => f === field)?.[0] ?? Object.entries(SECRET_FLAGS).find(([, f]) => f === field)?.[0];
    const shown = field === 'clientSecret' || field === 'password' ? '(hidden)' : JSON.stringify(flags[flag as string]);
    throw new UsageError(`--${flag} ${shown} is not valid: ${message}`);
  }
  return settings;
}

/** Completes a new server's settings with defaults (office365: tls, 587, the cloud's SMTP host). */
export function withDefaults(changes: Partial<ServerSettings>): ServerSettings {
  if (!changes.name) throw new UsageError('--name is required');
  const settings = newServerSettings({ ...changes, name: changes.name });
  if (!settings.host) {
    throw new UsageError(
      `--host is required for method ${settings.method}${settings.method === 'office365' ? ' with --cloud custom' : ''}`,
    );
  }
  return settings;
}
