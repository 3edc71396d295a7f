/**
 * Authorization codes the identity emulator has handed out at the end of the
 * authorize pages, with what Entra binds to them: tenant, app, signed-in user,
 * redirect URI, scopes, nonce and the PKCE challenge. Codes are single use and
 * live ten minutes, as in Entra.
 */
import { randomBytes } from 'node:crypto';

/** One authorization code and what it was issued for. */
export interface AuthorizationCode {
  code: string;
  tenantId: string;
  clientId: string;
  /** The signed-in user (mailbox address, lower case). */
  userAddress: string;
  /** The `redirect_uri` of the authorize request, which the token request must repeat. */
  redirectUri: string;
  /** The scopes of the authorize request. */
  scopes: string[];
  nonce?: string;
  codeChallenge?: string;
  /** `S256` or `plain` (Entra's default when a challenge comes without a method). */
  codeChallengeMethod?: 'S256' | 'plain';
  issuedAt: number;
  /** Set once redeemed; a second redemption fails with AADSTS54005. */
  redeemedAt?: number;
}

/** Input of {@link AuthorizationCodeStore.issue}. */
export type CodeInput = Omit<AuthorizationCode, 'code' | 'issuedAt' | 'redeemedAt'>;

/** The authorization codes of one identity emulator. */
export class AuthorizationCodeStore {
  private readonly codes = new Map<string, AuthorizationCode>();

  /** Issues a code in Entra's shape (`1.A…`, several hundred characters). */
  issue(input: CodeInput, now: number): AuthorizationCode {
    const code: AuthorizationCode = {
      ...input,
      userAddress: input.userAddress.toLowerCase(),
      scopes: [...input.scopes],
      code: `1.A${randomBytes(240).toString('base64url')}`,
      issuedAt: now,
    };
    this.codes.set(code.code, code);
    return code;
  }

  /** Finds a code. */
  find(code: string): AuthorizationCode | undefined {
    return this.codes.get(code);
  }

  /** Every code issued, oldest first. */
  list(): AuthorizationCode[] {
    return [...this.codes.values()];
  }
}
