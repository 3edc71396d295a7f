/**
 * Refresh tokens the identity emulator has issued, with what Entra tracks about
 * them: who and which app they belong to, the scopes they carry, when they were
 * last used (90 days of inactivity ends them, AADSTS700082) and the user's
 * TokensValidFrom date (a revocation ends every older one, AADSTS50173). As in
 * Entra, redeeming a refresh token returns a new one and leaves the old one valid.
 */
import { randomBytes } from 'node:crypto';

/** One refresh token and its grant. */
export interface RefreshGrant {
  token: string;
  tenantId: string;
  clientId: string;
  /** The signed-in user (mailbox address). */
  userAddress: string;
  /** The scopes granted, as requested (e.g. `https://outlook.office.com/SMTP.Send offline_access`). */
  scopes: string[];
  issuedAt: number;
  lastUsedAt: number;
  /** Set when this token was redeemed: the token issued in exchange. */
  rotatedTo?: string;
  /** Set when the user's sessions were revoked after this token was issued. */
  revokedAt?: number;
}

/** Input of {@link GrantStore.issue}. */
export type GrantInput = Pick<RefreshGrant, 'tenantId' | 'clientId' | 'userAddress' | 'scopes'>;

/** Why a refresh token cannot be redeemed, with the parameters of the AADSTS text. */
export type GrantProblem =
  { aadsts: 9002313 } | { aadsts: 50173; issuedAt: string; validFrom: string } | { aadsts: 700082; issuedAt: string; inactive: string };

/** The refresh tokens of one identity emulator. */
export class GrantStore {
  private readonly grants = new Map<string, RefreshGrant>();

  /** Issues a refresh token. */
  issue(input: GrantInput, now: number): RefreshGrant {
    const grant: RefreshGrant = {
      ...input,
      userAddress: input.userAddress.toLowerCase(),
      scopes: [...input.scopes],
      token: `1.A${randomBytes(96).toString('base64url')}`,
      issuedAt: now,
      lastUsedAt: now,
    };
    this.grants.set(grant.token, grant);
    return grant;
  }

  /** Finds the grant of a refresh token. */
  find(token: string): RefreshGrant | undefined {
    return this.grants.get(token);
  }

  /** Every grant issued, oldest first. */
  list(): RefreshGrant[] {
    return [...this.grants.values()];
  }

  /** Says why `grant` cannot be redeemed at `now`, or undefined when it can. */
  check(grant: RefreshGrant, now: number, maxInactiveSeconds: number): GrantProblem | undefined {
    if (grant.revokedAt !== undefined) {
      const issuedAt = new Date(grant.issuedAt).toISOString();
      return { aadsts: 50173, issuedAt, validFrom: new Date(grant.revokedAt).toISOString() };
    }
    const inactiveMs = now - grant.lastUsedAt;
    if (inactiveMs > maxInactiveSeconds * 1000) {
      return { aadsts: 700082, issuedAt: new Date(grant.issuedAt).toISOString(), inactive: formatTimeSpan(inactiveMs) };
    }
    return undefined;
  }

  /** Redeems `grant`: marks it used and issues its successor. */
  rotate(grant: RefreshGrant, now: number): RefreshGrant {
    grant.lastUsedAt = now;
    const next = this.issue(grant, now);
    grant.rotatedTo = next.token;
    return next;
  }

  /**
   * Revokes the refresh tokens issued so far to one user (Revoke-MgUserSignInSession,
   * a password reset) or to everyone; returns how many were still valid.
   */
  revoke(userAddress: string | undefined, now: number): number {
    const user = userAddress?.toLowerCase();
    let count = 0;
    for (const grant of this.grants.values()) {
      if (grant.revokedAt !== undefined || (user !== undefined && grant.userAddress !== user)) continue;
      grant.revokedAt = now;
      count += 1;
    }
    return count;
  }
}

/** .NET TimeSpan text (`d.hh:mm:ss`) as Entra prints inactivity. */
function formatTimeSpan(ms: number): string {
  const total = Math.floor(ms / 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const days = Math.floor(total / 86400);
  return `${days}.${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}
