/**
 * When an Office 365 server's credential stops working, counted one way for
 * the panel's banner, the dashboard, the alerts and the metrics. The
 * credential is the client certificate when one is set (it signs in then),
 * which works until its notAfter; else the client secret, which works through
 * the date entered as `Office 365 Client Secret Expires`, the date the app
 * registration shows (UTC).
 */

const DAY_MS = 24 * 60 * 60_000;

export type Credential = 'secret' | 'certificate';

/** How pages and alerts name each credential. */
export const CREDENTIAL_NAMES: Readonly<Record<Credential, string>> = {
  secret: 'client secret',
  certificate: 'client certificate',
};

/** The part of an email server the expiry is read from. */
export interface SecretExpirySource {
  method: string;
  clientSecretExpires: string | null;
  /** The client certificate's notAfter in milliseconds; null without a certificate. */
  clientCertificateExpiresAt: number | null;
}

/** When the credential a server signs in with stops working. */
export interface CredentialExpiry {
  credential: Credential;
  /** The day it expires, YYYY-MM-DD (UTC). */
  expires: string;
  /** The moment it stops working, in milliseconds. */
  expiresAt: number;
}

/** The expiry of the credential in use; null for a server without a certificate or a client secret date. */
export function credentialExpiry(server: SecretExpirySource): CredentialExpiry | null {
  if (server.method !== 'office365') return null;
  const certificateEnd = server.clientCertificateExpiresAt;
  if (certificateEnd !== null) {
    return { credential: 'certificate', expires: new Date(certificateEnd).toISOString().slice(0, 10), expiresAt: certificateEnd };
  }
  if (!server.clientSecretExpires) return null;
  const start = Date.parse(`${server.clientSecretExpires}T00:00:00Z`);
  return Number.isNaN(start) ? null : { credential: 'secret', expires: server.clientSecretExpires, expiresAt: start + DAY_MS };
}

/** Whole days left at `now`, counted in calendar days (UTC) as the date is shown: 0 on the day itself, negative after it. */
export function daysLeft(expiry: Pick<CredentialExpiry, 'expires'>, now: number): number {
  return Math.floor((Date.parse(`${expiry.expires}T00:00:00Z`) + DAY_MS - now) / DAY_MS);
}
