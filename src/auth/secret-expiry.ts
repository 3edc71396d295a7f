/**
 * When an Office 365 client secret stops working, counted one way for the
 * panel's banner, the dashboard, the alerts and the metrics: the secret works
 * through the date entered as `Office 365 Client Secret Expires`, which is the
 * date the app registration shows (UTC).
 */

const DAY_MS = 24 * 60 * 60_000;

/** The part of an email server the expiry is read from. */
export interface SecretExpirySource {
  method: string;
  clientSecretExpires: string | null;
}

/** The end of the expiry date (UTC) in milliseconds; null for a server without a client secret date. */
export function secretExpiresAt(server: SecretExpirySource): number | null {
  if (server.method !== 'office365' || !server.clientSecretExpires) return null;
  const start = Date.parse(`${server.clientSecretExpires}T00:00:00Z`);
  return Number.isNaN(start) ? null : start + DAY_MS;
}

/** Whole days left at `now`: 0 on the day itself, negative once expired; null without a date. */
export function secretDaysLeft(server: SecretExpirySource, now: number): number | null {
  const endOfDay = secretExpiresAt(server);
  return endOfDay === null ? null : Math.floor((endOfDay - now) / DAY_MS);
}
