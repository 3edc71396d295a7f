/**
 * The value checks behind the email server settings' schemas: identifiers,
 * domains, dates and URLs as Microsoft 365 and Entra write them (host names
 * and addresses are checked by host-name.ts and address.ts at the bottom).
 */

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
export const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
export const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** More Send As Addresses than this is a pasted list gone wrong, not a mailbox's permissions. */
export const MAX_SEND_AS = 100;

/** An https origin with no path, query or fragment (an Authority Host or SMTP Resource). */
export function httpsUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && url.pathname.replace(/\/+$/, '') === '' && !url.search && !url.hash;
  } catch {
    return false;
  }
}

/** A real calendar date written YYYY-MM-DD. */
export function validDate(value: string): boolean {
  return (
    DATE.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value)
  );
}
