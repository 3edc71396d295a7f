/**
 * Validation of email server settings, shared by the CLI and the admin panel.
 * Each field gets one message an admin can act on.
 */
import { AUTH_METHODS, CLOUDS, FROM_HANDLINGS, SECURE_MODES, SIGN_IN_MODES, type ServerSettings } from './servers.js';

export type FieldErrors = Partial<Record<keyof ServerSettings, string>>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const HOST = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
const MAILBOX = /^[^\s@<>()[\]\\,;:"]+@[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/i;
const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** More Send As Addresses than this is a pasted list gone wrong, not a mailbox's permissions. */
const MAX_SEND_AS = 100;

/** Bounds of the numeric settings, as [min, max]. */
export const LIMITS = {
  port: [1, 65535],
  maxConnections: [1, 50],
  messagesPerMinute: [1, 100_000],
  recipientsPerDay: [1, 10_000_000],
} as const;

function oneOf(values: readonly string[], value: unknown): boolean {
  return typeof value === 'string' && values.includes(value);
}

function httpsUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.pathname.replace(/\/+$/, '') === '' && !url.search && !url.hash;
  } catch {
    return false;
  }
}

function validDate(value: string): boolean {
  return (
    DATE.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value)
  );
}

/**
 * Splits an address list as typed (commas, semicolons, spaces or new lines
 * between entries) into lower-cased entries without duplicates.
 */
export function parseAddressList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,;]+/)
        .map((entry) => entry.toLowerCase())
        .filter(Boolean),
    ),
  ];
}

/** What is wrong with a Send As list, or null when each entry is an address. */
function sendAsProblem(list: unknown): string | null {
  if (!Array.isArray(list)) return 'Enter email addresses separated by commas or new lines.';
  if (list.length > MAX_SEND_AS) return `Enter at most ${MAX_SEND_AS} addresses.`;
  const bad = list.find((entry) => typeof entry !== 'string' || !MAILBOX.test(entry));
  return bad === undefined
    ? null
    : `${JSON.stringify(bad)} is not an email address: enter addresses such as sales@contoso.com, separated by commas or new lines.`;
}

/** Checks each given field; returns a message per bad field (empty when all is well). */
export function validateServerFields(values: Partial<ServerSettings>): FieldErrors {
  const errors: FieldErrors = {};
  const check = (field: keyof ServerSettings, ok: boolean, message: string): void => {
    if (field in values && !ok) errors[field] = message;
  };
  const v = values;
  check('name', typeof v.name === 'string' && NAME.test(v.name), 'Use 1-64 letters, digits, spaces, dots, dashes or underscores.');
  check('method', oneOf(AUTH_METHODS, v.method), `Choose one of ${AUTH_METHODS.join(', ')}.`);
  check('signInMode', oneOf(SIGN_IN_MODES, v.signInMode), `Choose one of ${SIGN_IN_MODES.join(', ')}.`);
  check('secure', oneOf(SECURE_MODES, v.secure), `Choose one of ${SECURE_MODES.join(', ')}.`);
  check('cloud', oneOf(CLOUDS, v.cloud), `Choose one of ${CLOUDS.join(', ')}.`);
  check('fromHandling', oneOf(FROM_HANDLINGS, v.fromHandling), `Choose one of ${FROM_HANDLINGS.join(', ')}.`);
  check('host', typeof v.host === 'string' && (HOST.test(v.host) || IPV4.test(v.host)), 'Enter a host name such as smtp.office365.com.');
  for (const [field, [min, max]] of Object.entries(LIMITS) as [keyof typeof LIMITS, readonly [number, number]][]) {
    const n = v[field];
    check(field, Number.isInteger(n) && (n as number) >= min && (n as number) <= max, `Enter a whole number from ${min} to ${max}.`);
  }
  const optional = (field: keyof ServerSettings, test: (s: string) => boolean, message: string): void => {
    const value = v[field];
    check(field, value === null || (typeof value === 'string' && test(value)), message);
  };
  optional(
    'tenantId',
    (s) => GUID.test(s) || DOMAIN.test(s),
    'Enter the Directory (tenant) ID, a GUID, or a domain such as contoso.onmicrosoft.com.',
  );
  optional('clientId', (s) => GUID.test(s), 'Enter the Application (client) ID, a GUID such as 00000000-0000-0000-0000-000000000000.');
  optional('mailbox', (s) => MAILBOX.test(s), 'Enter an email address such as relay@contoso.com.');
  optional('authorityHost', httpsUrl, 'Enter an https:// address without a path, such as https://login.microsoftonline.com.');
  optional('smtpResource', httpsUrl, 'Enter an https:// address without a path, such as https://outlook.office365.com.');
  optional('clientSecretExpires', validDate, 'Enter a date as YYYY-MM-DD.');
  optional('clientSecret', (s) => s.length > 0 && s.length <= 1024 && !/[\r\n]/.test(s), 'Paste the client secret value (one line).');
  optional('username', (s) => s.length > 0 && s.length <= 320, 'Enter the user name.');
  optional('password', (s) => s.length > 0 && s.length <= 1024, 'Enter the password.');
  const sendAs = sendAsProblem(v.sendAs);
  check('sendAs', sendAs === null, sendAs ?? '');
  return errors;
}
