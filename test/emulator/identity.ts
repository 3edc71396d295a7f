/**
 * The Microsoft identity platform emulator: an HTTPS server on loopback that
 * answers what MSAL node asks for (OpenID configuration, JWKS, the v2.0 token
 * endpoint) and what a browser sees during "Authorize Account" (the authorize
 * endpoint with its account picker and consent page), with Entra-shaped answers.
 * It signs RS256 tokens with a key pair made at start, verifies them for the
 * Exchange emulator, and lets tests inject faults, revoke grants and consent and
 * read what was requested. Point MSAL at it with authority
 * `${authorityHost}/<tenant>/` and `knownAuthorities: [knownAuthority]`.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthorizationCodeStore } from './authorization-codes.js';
import { AuthorizeFlow, type AuthorizeRequestRecord, type HttpAnswer } from './authorize-flow.js';
import { completeAuthorize } from './complete-authorize.js';
import { listConsents, revokeConsent } from './consent.js';
import type { Tenant } from './directory.js';
import { openIdConfiguration } from './discovery.js';
import { entraError, type EntraErrorBody, type ErrorParams } from './entra-errors.js';
import { FaultQueue } from './faults.js';
import { GrantStore } from './grants.js';
import type {
  AuthorizeUrlInput,
  HttpRequestRecord,
  IdentityEmulator,
  IdentityEndpoint,
  IdentityFault,
  IdentityOptions,
  TokenRequestRecord,
} from './identity-types.js';
import { createSigningKey, signJwt, toPublishedJwk, type JwtClaims } from './jwt.js';
import { listenOnLoopback, localhostTls } from './loopback.js';
import { answerTokenRequest, type IdentitySettings } from './token-endpoint.js';
import {
  appTokenClaims,
  delegatedTokenClaims,
  EXCHANGE_APP_RESOURCE,
  EXCHANGE_DELEGATED_RESOURCE,
  isGraphResource,
  verifyAccessToken,
} from './tokens.js';

export type { IdentitySettings } from './token-endpoint.js';
export type { AccessTokenClaims, TokenVerification } from './tokens.js';
export type * from './identity-types.js';
export type { AuthorizeRequestRecord } from './authorize-flow.js';

const DEFAULT_SETTINGS: IdentitySettings = {
  tokenLifetimeSeconds: 3599,
  refreshTokenMaxInactiveSeconds: 90 * 24 * 60 * 60,
  authorizationCodeLifetimeSeconds: 600,
  clientAssertionClockSkewSeconds: 300,
};
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_DELEGATED_SCOPES = [`${EXCHANGE_DELEGATED_RESOURCE}/SMTP.Send`, 'openid', 'profile', 'offline_access'];

type Route = IdentityEndpoint | 'login' | 'consent';

/** Starts the identity emulator on https://localhost:PORT. */
export async function startIdentity(options: IdentityOptions): Promise<IdentityEmulator> {
  const { directory } = options;
  const now = options.now ?? ((): number => Date.now());
  const signingKey = options.signingKey ?? (await createSigningKey());
  const settings: IdentitySettings = { ...DEFAULT_SETTINGS, ...options.settings };
  const grants = new GrantStore();
  const codes = new AuthorizationCodeStore();
  const faults = new FaultQueue<IdentityFault>();
  const tokenRequests: TokenRequestRecord[] = [];
  const authorizeRequests: AuthorizeRequestRecord[] = [];
  const requests: HttpRequestRecord[] = [];
  const graphResources: string[] = [];
  const tls = localhostTls();
  let authorityHost = '';
  let closing: Promise<void> | undefined;
  const flow = new AuthorizeFlow({
    directory,
    codes,
    records: authorizeRequests,
    now,
    authorityHost: () => authorityHost,
    graphResources,
  });

  const sign = (claims: JwtClaims): string => signJwt(signingKey, claims);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', authorityHost);
    const segments = url.pathname.split('/').filter(Boolean);
    const [tenantSegment = '', ...rest] = segments;
    const route = routeOf(rest.join('/'), req.method ?? 'GET');
    const correlationId = headerValue(req, 'client-request-id') ?? url.searchParams.get('client-request-id') ?? undefined;
    const write = (answer: HttpAnswer): void => {
      requests.push({ method: req.method ?? '', path: url.pathname, status: answer.status });
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    };
    const send = (status: number, body: unknown): void =>
      write({
        status,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-store, no-cache',
          ...(correlationId ? { 'client-request-id': correlationId } : {}),
        },
        body: JSON.stringify(body),
      });
    const sendError = (aadsts: number, params: ErrorParams = {}): EntraErrorBody => {
      const answer = entraError(aadsts, params, { now: now(), correlationId, authorityHost });
      send(answer.status, answer.body);
      return answer.body;
    };
    if (!route) {
      send(404, { error: 'not_found', error_description: `The emulator has no ${req.method ?? ''} ${url.pathname}` });
      return;
    }
    const posted = req.method === 'POST' && route !== 'authorize' ? new URLSearchParams(await readBody(req)) : undefined;
    if (route === 'login' || route === 'consent') {
      const page = posted ?? new URLSearchParams();
      write(route === 'login' ? flow.login(page, correlationId) : flow.consent(page, correlationId));
      return;
    }
    const form = route === 'token' ? posted : undefined;
    const grantType = form?.get('grant_type') ?? '';
    const fault = faults.take((f) => (f.endpoint ?? 'token') === route && (f.grantType === undefined || f.grantType === grantType));
    const record = (status: number, aadsts?: number): void => {
      if (route !== 'token') return;
      tokenRequests.push({
        grant_type: grantType,
        clientId: form?.get('client_id') ?? '',
        tenant: tenantSegment,
        scope: form?.get('scope') ?? '',
        clientAuth: clientAuthOf(form, headerValue(req, 'authorization')),
        ok: status === 200,
        status,
        ...(aadsts !== undefined ? { aadsts } : {}),
        at: now(),
      });
    };
    if (fault && 'drop' in fault) {
      requests.push({ method: req.method ?? '', path: url.pathname, status: 0 });
      record(0);
      req.socket.destroy();
      return;
    }
    if (fault && 'status' in fault) {
      const body = fault.body ?? entraError(90033, {}, { now: now(), correlationId, authorityHost }).body;
      send(fault.status, body);
      record(fault.status);
      return;
    }
    if (route === 'authorize') {
      write(flow.start(tenantSegment, url.searchParams, correlationId, fault && 'aadsts' in fault ? fault : undefined));
      return;
    }
    if (fault && 'aadsts' in fault) {
      const clientId = form?.get('client_id') ?? '';
      const tenant = directory.findTenant(tenantSegment);
      const app = tenant?.apps.get(clientId.toLowerCase());
      const known = { clientId, tenant: tenantSegment, tenantName: tenant?.displayName ?? '', appName: app?.displayName ?? '' };
      const body = sendError(fault.aadsts, { ...known, ...fault.params });
      record(res.statusCode, body.error_codes[0]);
      return;
    }
    if (route === 'token') {
      if (!form) {
        sendError(900561, { method: req.method ?? 'GET' });
        record(400, 900561);
        return;
      }
      const ctx = { directory, grants, codes, settings, now: now(), authorityHost, sign, graphResources };
      const outcome = answerTokenRequest(tenantSegment, form, headerValue(req, 'authorization'), ctx);
      if (outcome.ok) {
        send(200, outcome.body);
        record(200);
      } else {
        sendError(outcome.aadsts, outcome.params);
        record(res.statusCode, outcome.aadsts);
      }
      return;
    }
    const tenant = directory.findTenant(tenantSegment);
    const multi = ['common', 'organizations'].includes(tenantSegment.toLowerCase());
    if (!tenant && !multi) {
      sendError(90002, { tenant: tenantSegment });
      return;
    }
    if (route === 'keys') send(200, { keys: [toPublishedJwk(signingKey)] });
    else send(200, openIdConfiguration(authorityHost, tenant, tenantSegment));
  };

  const server = https.createServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'server_error', error_description: String(err) }));
    });
  });
  // A client that hangs up mid-handshake is not the emulator's problem.
  server.on('tlsClientError', () => undefined);
  server.on('clientError', (_err, socket) => socket.destroy());
  const listener = await listenOnLoopback(server, options.port ?? 0);
  authorityHost = `https://localhost:${listener.port}`;

  const findTenantOrThrow = (ref: string): Tenant => directory.getTenant(ref);

  return {
    authorityHost,
    knownAuthority: `localhost:${listener.port}`,
    port: listener.port,
    signingKey,
    settings,
    grants,
    authorizationCodes: codes,
    tokenRequests,
    authorizeRequests,
    requests,
    graphResources,
    get consents() {
      return listConsents(directory);
    },
    now,
    authority: (tenant) => `${authorityHost}/${tenant}/`,
    verifyAccessToken: (token) => verifyAccessToken(token, signingKey, now()),
    signToken: sign,
    issueAppToken({ tenant, clientId, resource = EXCHANGE_APP_RESOURCE }) {
      const t = findTenantOrThrow(tenant);
      const app = directory.getApp(t.id, clientId);
      const lifetimeSeconds = settings.tokenLifetimeSeconds;
      return sign(appTokenClaims({ tenant: t, app, resource, graphResources, now: now(), lifetimeSeconds }));
    },
    issueDelegatedToken({ tenant, clientId, user, resource = EXCHANGE_DELEGATED_RESOURCE, scopes }) {
      const t = findTenantOrThrow(tenant);
      const claims = delegatedTokenClaims({
        tenant: t,
        app: directory.getApp(t.id, clientId),
        user: directory.getMailbox(user, t.id),
        resource,
        scopes: scopes ?? (isGraphResource(resource, graphResources) ? ['Mail.Send'] : ['SMTP.Send']),
        now: now(),
        lifetimeSeconds: settings.tokenLifetimeSeconds,
      });
      return sign(claims);
    },
    createRefreshToken({ tenant, clientId, user, scopes = DEFAULT_DELEGATED_SCOPES }) {
      const t = findTenantOrThrow(tenant);
      const app = directory.getApp(t.id, clientId);
      const mailbox = directory.getMailbox(user, t.id);
      return grants.issue({ tenantId: t.id, clientId: app.clientId, userAddress: mailbox.address, scopes }, now()).token;
    },
    revokeRefreshTokens: (userAddress) => grants.revoke(userAddress, now()),
    revokeConsent: (input) => revokeConsent(directory, input),
    authorizeUrl: (input) => buildAuthorizeUrl(authorityHost, input),
    completeAuthorize: (url, completeOptions) => completeAuthorize(url, completeOptions),
    failNext: (fault) => faults.push(fault),
    clearFaults: () => faults.clear(),
    close() {
      closing ??= (async () => {
        server.closeAllConnections();
        await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), listener.closeCompanion()]);
      })();
      return closing;
    },
  };
}

function routeOf(path: string, method: string): Route | undefined {
  if (path === 'v2.0/.well-known/openid-configuration') return 'openid-configuration';
  if (path === 'discovery/v2.0/keys') return 'keys';
  if (path === 'oauth2/v2.0/token') return 'token';
  if (path === 'oauth2/v2.0/authorize' && method === 'GET') return 'authorize';
  // Entra's own page paths, matched without case as Entra does.
  if (path.toLowerCase() === 'login' && method === 'POST') return 'login';
  if (path.toLowerCase() === 'consent/set' && method === 'POST') return 'consent';
  return undefined;
}

/** The query MSAL's getAuthCodeUrl sends, for tests that build the URL themselves. */
function buildAuthorizeUrl(authorityHost: string, input: AuthorizeUrlInput): string {
  const query = new URLSearchParams({
    client_id: input.clientId,
    scope: (input.scopes ?? [`${EXCHANGE_DELEGATED_RESOURCE}/SMTP.Send`, 'offline_access', 'openid', 'profile']).join(' '),
    redirect_uri: input.redirectUri,
    response_mode: input.responseMode ?? 'query',
    response_type: 'code',
    client_info: '1',
  });
  const optional: Array<[string, string | undefined]> = [
    ['prompt', input.prompt],
    ['login_hint', input.loginHint],
    ['nonce', input.nonce],
    ['state', input.state],
    ['code_challenge', input.codeChallenge],
    ['code_challenge_method', input.codeChallenge !== undefined ? (input.codeChallengeMethod ?? 'S256') : undefined],
  ];
  for (const [name, value] of optional) if (value !== undefined) query.set(name, value);
  return `${authorityHost}/${encodeURIComponent(input.tenant)}/oauth2/v2.0/authorize?${query.toString()}`;
}

/** How a token request authenticated its client (never the secret itself). */
function clientAuthOf(form: URLSearchParams | undefined, authorization: string | undefined): TokenRequestRecord['clientAuth'] {
  if (form?.has('client_assertion')) return 'assertion';
  return form?.has('client_secret') || /^Basic\s/i.test(authorization ?? '') ? 'secret' : 'none';
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
