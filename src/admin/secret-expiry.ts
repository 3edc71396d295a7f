/**
 * Credential expiry: from 30 days before the client secret's date (`Office
 * 365 Client Secret Expires`) or the client certificate's end, whichever signs
 * in, every page shows a banner and the server list marks the server, so a
 * new one is in place before mail stops.
 */
import { credentialExpiry, daysLeft, type Credential } from '../auth/secret-expiry.js';
import type { EmailServer } from '../store/servers.js';

export const WARN_DAYS = 30;

export interface SecretWarning {
  serverId: number;
  serverName: string;
  /** The credential that expires: the certificate when one is set, else the client secret. */
  credential: Credential;
  /** The day it expires, YYYY-MM-DD (UTC). */
  expires: string;
  /** Whole days left; 0 on the day itself, negative once expired. */
  daysLeft: number;
}

/** The warning for one server, or null when its credential is not due within WARN_DAYS. */
export function secretWarning(server: EmailServer, now: number): SecretWarning | null {
  const expiry = credentialExpiry(server);
  if (!expiry) return null;
  const left = daysLeft(expiry, now);
  if (left > WARN_DAYS) return null;
  return { serverId: server.id, serverName: server.name, credential: expiry.credential, expires: expiry.expires, daysLeft: left };
}

/** Warnings for every server whose credential expires soon or has expired. */
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

/** What to do about an expiring credential, for the banner. */
export const RENEWAL: Readonly<Record<Credential, string>> = {
  secret: 'Create a new secret in the app registration and save it as Office 365 Client Secret before mail stops.',
  certificate:
    'Upload a new certificate to the app registration and save it with its private key as Office 365 Client Certificate before mail stops.',
};
