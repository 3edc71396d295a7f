/**
 * Step 4 of `relay365 doctor`: a token request with the same MSAL client and
 * token provider the relay uses (a forced refresh, so that a wrong or expired
 * secret shows even while a cached token is still good). A refusal is
 * explained through the AADSTS hint table; a token is decoded and its claims
 * compared with what Exchange, or Microsoft Graph for a server that sends via
 * Graph, needs (claims.ts). The token stays in memory for the SMTP or Graph
 * step and is never printed.
 */
import { hintForClaim } from '../auth/hints.js';
import { storedMsalClient } from '../auth/msal-client.js';
import { toTokenError, type TokenError } from '../auth/token-error.js';
import { createTokenProvider, type AccessToken } from '../auth/token-provider.js';
import type { Logger } from '../log.js';
import type { StoreSlice } from '../store/index.js';
import type { EmailServer } from '../store/servers.js';
import { compareClaims, decodeClaims } from './claims.js';
import { graphClaimHint } from './graph-claims.js';
import { failed, passed, type DoctorStep } from './report.js';

export interface TokenOutcome {
  step: DoctorStep;
  token: AccessToken | null;
  /** Why the token request failed, when it did. */
  refusal?: TokenError;
}

/** What the token step reads from the store: the client secret, and the token cache MSAL keeps. */
export type TokenStepStore = StoreSlice<{ servers: 'clientSecret' | 'clientCertificate'; tokenCaches: 'load' | 'save' }>;

const GENERIC_FIX = 'Check Office 365 Tenant ID, Client ID, Client Secret and the Office 365 Cloud setting against the app registration.';

/** Requests a token for `server` and compares its claims. */
export async function tokenStep(server: EmailServer, store: TokenStepStore, log: Logger, now: () => number): Promise<TokenOutcome> {
  let token: AccessToken;
  try {
    const client = await storedMsalClient(server, store, log);
    token = await createTokenProvider({ server, client, now }).getAccessToken({ forceRefresh: true });
  } catch (err) {
    const error = toTokenError(err);
    return {
      token: null,
      refusal: error,
      step: failed(
        'token',
        `Microsoft refused the token request: ${error.code}${error.message.includes(error.code) ? '' : ` ${error.message}`}`,
        [{ name: 'token request', saw: error.code, want: 'an access token', ok: false }],
        error.hint?.meaning ?? error.message,
        error.hint?.fix ?? GENERIC_FIX,
      ),
    };
  }
  const who = server.signInMode === 'application' ? 'the application' : `${token.account ?? 'the authorized account'}`;
  const claims = decodeClaims(token.token);
  if (claims === null) {
    return { token, step: passed('token', `got a token for ${who}; it is not a readable JWT, so its claims were not compared`) };
  }
  const checks = compareClaims(claims, server, now());
  const bad = checks.find((c) => !c.ok);
  const facts = checks.map(({ claim: _claim, ...check }) => check);
  const graph = server.sendVia === 'graph';
  if (!bad) {
    const warned = facts.filter((c) => c.warn).map((c) => c.name);
    const warning = warned.length ? `; warning about ${warned.join(' and ')}` : '';
    return {
      token,
      step: passed('token', `got a token for ${who} with the claims ${graph ? 'Microsoft Graph' : 'Exchange'} needs${warning}`, facts),
    };
  }
  const hint = (graph ? graphClaimHint(bad.claim) : undefined) ?? hintForClaim(bad.claim);
  return {
    token: null,
    step: failed('token', `got a token for ${who}, but its ${bad.name} is ${bad.saw}, not ${bad.want}`, facts, hint.meaning, hint.fix),
  };
}
