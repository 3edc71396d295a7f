/**
 * Client secret expiry: from 30 days before `Office 365 Client Secret
 * Expires`, every page shows a banner and the server list marks the server,
 * so a new secret is in place before mail stops.
 */
import { secretDaysLeft } from '../auth/secret-expiry.js';
import type { EmailServer } from '../store/servers.js';

export const WARN_DAYS = 30;

export interface SecretWarning {
  serverId: number;
  serverName: string;
  /** The date as entered, YYYY-MM-DD. */
  expires: string;
  /** Whole days left; 0 on the day itself, negative once expired. */
  daysLeft: number;
}

/** The warning for one server, or null when its secret is not due within WARN_DAYS. */
export function secretWarning(server: EmailServer, now: number): SecretWarning | null {
  const daysLeft = secretDaysLeft(server, now);
  if (daysLeft === null || daysLeft > WARN_DAYS || !server.clientSecretExpires) return null;
  return { serverId: server.id, serverName: server.name, expires: server.clientSecretExpires, daysLeft };
}

/** Warnings for every server whose secret expires soon or has expired. */
export function expiringSecrets(servers: EmailServer[], now: number): SecretWarning[] {
  return servers.map((s) => secretWarning(s, now)).filter((w): w is SecretWarning => w !== null);
}

/** "expires in 12 days", "expires today", "expired 3 days ago". */
export function describeExpiry(w: Pick<SecretWarning, 'daysLeft'>): string {
  if (w.daysLeft > 1) return `expires in ${w.daysLeft} days`;
  if (w.daysLeft === 1) return 'expires tomorrow';
  if (w.daysLeft === 0) return 'expires today';
  return `expired ${-w.daysLeft} day${w.daysLeft === -1 ? '' : 's'} ago`;
}
