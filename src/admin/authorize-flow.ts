/**
 * Authorize Account as the panel runs it: `start` binds a single-use `state`
 * (10 minutes) to the admin's session and the server, keeps the PKCE verifier
 * sealed server-side and returns Microsoft's URL; `finish` checks the state that
 * came back before anything else, redeems the code, records the account and
 * tells the relay to retry held mail.
 */
import { authorizeUrl, callbackError, createPkce, finishAuthorization, type AuthCodeClient } from '../auth/authorize.js';
import { createMsalClient } from '../auth/msal-client.js';
import { missingOffice365Settings } from '../auth/server-settings.js';
import { TokenError, toTokenError } from '../auth/token-error.js';
import type { Logger } from '../log.js';
import type { StoreSlice } from '../store/index.js';
import type { EmailServer } from '../store/servers.js';
import type { Session, StateProblem } from '../store/sessions.js';
import type { AdminRelay } from './env.js';

export const STATE_TTL_MS = 10 * 60_000;
export const CALLBACK_PATH = '/oauth/office365/callback';

/** `Office 365 Redirect URI`: where Microsoft sends the browser back. */
export function redirectUriFor(publicUrl: string): string {
  return `${publicUrl}${CALLBACK_PATH}`;
}

/** How the browser addressed the panel: the request's `Origin` and `Host` headers. */
export interface SeenAs {
  origin: string | undefined;
  host: string | undefined;
}

/**
 * True when the browser reached the panel by another address than PUBLIC_URL (http://127.0.0.1:8025
 * for http://localhost:8025): its session cookie belongs to that host, so it would not come back with
 * Microsoft's answer at the redirect URI and the state check would refuse it. The browser's Origin is
 * trusted first, as a reverse proxy may rewrite Host; without one, Host decides.
 */
export function offPublicUrl({ origin, host }: SeenAs, publicUrl: string): boolean {
  const expected = new URL(publicUrl);
  if (origin !== undefined && origin !== 'null') return origin.toLowerCase() !== expected.origin;
  return host !== undefined && host.toLowerCase() !== expected.host;
}

/** Labels of the settings Authorize Account still needs (empty when it can start). */
export function missingForAuthorize(server: EmailServer): string[] {
  return missingOffice365Settings({ ...server, signInMode: 'authorize' });
}

export interface CallbackParams {
  state: string | undefined;
  code: string | undefined;
  error: string | undefined;
  errorDescription: string | undefined;
}

export type FinishResult =
  | { kind: 'refused'; problem: StateProblem }
  | { kind: 'authorized'; server: EmailServer; account: string }
  | { kind: 'failed'; server: EmailServer; error: TokenError };

export interface AuthorizeFlow {
  /** RELAY365_PUBLIC_URL: Authorize Account starts only there, where Microsoft sends the browser back. */
  readonly publicUrl: string;
  /** Microsoft's authorize URL for this server, with a new state bound to `session`. */
  start(server: EmailServer, session: Session): Promise<string>;
  /** Handles the callback; a refused state never reaches Microsoft's token endpoint. */
  finish(params: CallbackParams, session: Session | null): Promise<FinishResult>;
}

export interface AuthorizeFlowOptions {
  store: StoreSlice<{
    servers: 'clientSecret' | 'clientCertificate' | 'get' | 'update' | 'setStatus';
    sessions: 'createState' | 'consumeState';
    tokenCaches: 'load' | 'save';
  }>;
  relay: AdminRelay;
  log: Logger;
  publicUrl: string;
  now: () => number;
  clientFor?: (server: EmailServer, clientSecret: string) => AuthCodeClient;
}

/** Creates the flow over the store; `clientFor` defaults to the server's MSAL client. */
export function createAuthorizeFlow({ store, relay, log, publicUrl, now, clientFor }: AuthorizeFlowOptions): AuthorizeFlow {
  const redirectUri = redirectUriFor(publicUrl);
  const client = async (server: EmailServer): Promise<AuthCodeClient> => {
    const secret = await store.servers.clientSecret(server.id);
    const certificate = await store.servers.clientCertificate(server.id);
    if (!secret && !certificate)
      throw new TokenError({
        message: 'Neither Office 365 Client Secret nor Office 365 Client Certificate is set',
        aadsts: null,
        oauthError: 'not_configured',
        transient: false,
      });
    try {
      return clientFor
        ? clientFor(server, secret ?? '')
        : createMsalClient({ server, clientSecret: secret, clientCertificate: certificate, cache: store.tokenCaches, log });
    } catch (err) {
      throw err instanceof TokenError
        ? err
        : new TokenError({ message: (err as Error).message, aadsts: null, oauthError: 'not_configured', transient: false });
    }
  };

  return {
    publicUrl,
    async start(server, session) {
      const missing = missingForAuthorize(server);
      if (missing.length > 0) {
        throw new TokenError({ message: `Set ${missing.join(', ')} first`, aadsts: null, oauthError: 'not_configured', transient: false });
      }
      const pkce = await createPkce();
      const state = await store.sessions.createState(
        { serverId: server.id, sessionHash: session.idHash, verifier: pkce.verifier },
        STATE_TTL_MS,
      );
      return authorizeUrl({
        client: await client(server),
        server,
        redirectUri,
        state,
        challenge: pkce.challenge,
        loginHint: server.authorizedAccount,
      });
    },

    async finish({ state, code, error, errorDescription }, session) {
      if (!state) return { kind: 'refused', problem: 'unknown' };
      const bound = await store.sessions.consumeState(state, session?.idHash ?? null);
      if ('problem' in bound) {
        log.warn('Authorize Account callback refused', { problem: bound.problem });
        return { kind: 'refused', problem: bound.problem };
      }
      const server = await store.servers.get(bound.serverId);
      if (!server) return { kind: 'refused', problem: 'unknown' };
      const fail = (err: TokenError): FinishResult => {
        log.warn('Authorize Account failed', { server: server.name, code: err.code, message: err.message });
        return { kind: 'failed', server, error: err };
      };
      if (error) return fail(callbackError(error, errorDescription));
      if (!code)
        return fail(
          new TokenError({
            message: 'Microsoft sent back neither a code nor an error',
            aadsts: null,
            oauthError: 'invalid_request',
            transient: false,
          }),
        );
      let account: string;
      try {
        ({ account } = await finishAuthorization({
          client: await client(server),
          server,
          redirectUri,
          code,
          state,
          verifier: bound.verifier,
        }));
      } catch (err) {
        return fail(toTokenError(err));
      }
      // The update bumps the revision, so the relay rebuilds this server's connection with the new account.
      const updated = await store.servers.update(server.id, server.mailbox ? {} : { mailbox: account });
      await store.servers.setStatus(server.id, { status: 'authorized', account, refreshedAt: now() });
      log.info('account authorized', { server: server.name, account });
      relay.settingsChanged();
      return { kind: 'authorized', server: { ...updated, status: 'authorized', authorizedAccount: account }, account };
    },
  };
}
