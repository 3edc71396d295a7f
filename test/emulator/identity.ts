/**
 * The Microsoft identity platform emulator: an HTTPS server on loopback that
 * answers what MSAL node asks for (OpenID configuration, JWKS, the v2.0 token
 * endpoint) with Entra-shaped answers, signs RS256 tokens with a key pair made
 * at start, verifies them for the Exchange emulator, and lets tests inject
 * faults, revoke grants and read what was requested. Point MSAL at it with
 * authority `${authorityHost}/<tenant>/` and `knownAuthorities: [knownAuthority]`.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Directory, Tenant } from './directory.js';
import { entraError, type EntraErrorBody, type ErrorParams } from './entra-errors.js';
import { FaultQueue } from './faults.js';
import { GrantStore } from './grants.js';
import { createSigningKey, signJwt, toPublishedJwk, type JwtClaims, type SigningKey } from './jwt.js';
import { listenOnLoopback, localhostTls } from './loopback.js';
import { answerTokenRequest, type IdentitySettings } from './token-endpoint.js';
import { openIdConfiguration } from './discovery.js';
import {
  appTokenClaims,
  delegatedTokenClaims,
  EXCHANGE_APP_RESOURCE,
  EXCHANGE_DELEGATED_RESOURCE,
  verifyAccessToken,
  type TokenVerification,
} from './tokens.js';

export type { IdentitySettings } from './token-endpoint.js';
export type { AccessTokenClaims, TokenVerification } from './tokens.js';

/** Options of {@link startIdentity}. */
export interface IdentityOptions {
  directory: Directory;
  /** Port on 127.0.0.1 (and [::1]); default 0 = any free port. */
  port?: number;
  /** Clock in epoch milliseconds, for fake-time tests; default `Date.now()` (faked Date is honoured). */
  now?: () => number;
  /** Initial {@link IdentitySettings} values. */
  settings?: Partial<IdentitySettings>;
  /** Key to sign with; default a new one (RSA generation takes 0.1–0.5 s, so test files may share one). */
  signingKey?: SigningKey;
}

/** The endpoints a fault can target. */
export type IdentityEndpoint = 'token' | 'openid-configuration' | 'keys';

/**
 * A one-shot fault for the next matching request: an AADSTS error (worded from
 * the catalogue), a raw HTTP status with an optional body, or a dropped socket.
 */
export type IdentityFault = {
  /** Default 'token'. */
  endpoint?: IdentityEndpoint;
  /** Only token requests with this grant_type. */
  grantType?: string;
  /** How many matching requests it hits; default 1. */
  count?: number;
} & ({ aadsts: number; params?: ErrorParams } | { status: number; body?: unknown } | { drop: true });

/** One request to the token endpoint. */
export interface TokenRequestRecord {
  grant_type: string;
  clientId: string;
  /** The tenant path segment as sent. */
  tenant: string;
  scope: string;
  ok: boolean;
  status: number;
  /** The AADSTS number of a failure. */
  aadsts?: number;
  at: number;
}

/** One HTTP request to the emulator. */
export interface HttpRequestRecord {
  method: string;
  path: string;
  status: number;
}

/** A running identity emulator. */
export interface IdentityEmulator {
  /** `https://localhost:PORT`. */
  readonly authorityHost: string;
  /** `localhost:PORT`, for MSAL's `knownAuthorities`. */
  readonly knownAuthority: string;
  readonly port: number;
  /** The RS256 key pair tokens are signed with. */
  readonly signingKey: SigningKey;
  /** Lifetimes; change them at any time. */
  readonly settings: IdentitySettings;
  readonly grants: GrantStore;
  readonly tokenRequests: TokenRequestRecord[];
  readonly requests: HttpRequestRecord[];
  /** The emulator's clock (epoch ms). */
  now(): number;
  /** `https://localhost:PORT/<tenant>/`, an MSAL authority. */
  authority(tenant: string): string;
  /** Checks signature, issuer, `nbf` and `exp` of an access token (not its audience). */
  verifyAccessToken(token: string): TokenVerification;
  /** Signs arbitrary claims with the emulator's key (for crafting bad tokens). */
  signToken(claims: JwtClaims): string;
  /** An app-only access token as client credentials would issue it (no secret check). */
  issueAppToken(input: { tenant: string; clientId: string; resource?: string }): string;
  /** A delegated SMTP.Send access token for `user` (no consent check). */
  issueDelegatedToken(input: { tenant: string; clientId: string; user: string; resource?: string }): string;
  /** A refresh token as if `user` had signed in to `clientId` (until the authorize page exists). */
  createRefreshToken(input: { tenant: string; clientId: string; user: string; scopes?: string[] }): string;
  /** Revokes the refresh tokens of one user, or of everyone; returns how many. */
  revokeRefreshTokens(userAddress?: string): number;
  /** Queues a one-shot fault. */
  failNext(fault: IdentityFault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const DEFAULT_SETTINGS: IdentitySettings = {
  tokenLifetimeSeconds: 3599,
  refreshTokenMaxInactiveSeconds: 90 * 24 * 60 * 60,
};
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_DELEGATED_SCOPES = [`${EXCHANGE_DELEGATED_RESOURCE}/SMTP.Send`, 'openid', 'profile', 'offline_access'];

/** Starts the identity emulator on https://localhost:PORT. */
export async function startIdentity(options: IdentityOptions): Promise<IdentityEmulator> {
  const { directory } = options;
  const now = options.now ?? ((): number => Date.now());
  const signingKey = options.signingKey ?? (await createSigningKey());
  const settings: IdentitySettings = { ...DEFAULT_SETTINGS, ...options.settings };
  const grants = new GrantStore();
  const faults = new FaultQueue<IdentityFault>();
  const tokenRequests: TokenRequestRecord[] = [];
  const requests: HttpRequestRecord[] = [];
  const tls = localhostTls();
  let authorityHost = '';
  let closing: Promise<void> | undefined;

  const sign = (claims: JwtClaims): string => signJwt(signingKey, claims);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', authorityHost);
    const segments = url.pathname.split('/').filter(Boolean);
    const [tenantSegment = '', ...rest] = segments;
    const route = routeOf(rest.join('/'));
    const correlationId = headerValue(req, 'client-request-id');
    const send = (status: number, body: unknown): void => {
      requests.push({ method: req.method ?? '', path: url.pathname, status });
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store, no-cache',
        ...(correlationId ? { 'client-request-id': correlationId } : {}),
      });
      res.end(JSON.stringify(body));
    };
    const sendError = (aadsts: number, params: ErrorParams = {}): EntraErrorBody => {
      const answer = entraError(aadsts, params, { now: now(), correlationId, authorityHost });
      send(answer.status, answer.body);
      return answer.body;
    };
    if (!route) {
      send(404, { error: 'not_found', error_description: `The emulator has no ${url.pathname}` });
      return;
    }
    const form = route === 'token' && req.method === 'POST' ? new URLSearchParams(await readBody(req)) : undefined;
    const grantType = form?.get('grant_type') ?? '';
    const fault = faults.take(
      (f) => (f.endpoint ?? 'token') === route && (f.grantType === undefined || f.grantType === grantType),
    );
    const record = (status: number, aadsts?: number): void => {
      if (route !== 'token') return;
      const clientId = form?.get('client_id') ?? '';
      const scope = form?.get('scope') ?? '';
      tokenRequests.push({
        grant_type: grantType,
        clientId,
        tenant: tenantSegment,
        scope,
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
    if (fault && 'aadsts' in fault) {
      const clientId = form?.get('client_id') ?? '';
      const tenant = directory.findTenant(tenantSegment);
      const app = tenant?.apps.get(clientId.toLowerCase());
      const known = { clientId, tenant: tenantSegment, tenantName: tenant?.displayName ?? '', appName: app?.displayName ?? '' };
      const body = sendError(fault.aadsts, { ...known, ...fault.params });
      record(res.statusCode, body.error_codes[0]);
      return;
    }
    if (fault && 'status' in fault) {
      const body = fault.body ?? entraError(90033, {}, { now: now(), correlationId, authorityHost }).body;
      send(fault.status, body);
      record(fault.status);
      return;
    }
    if (route === 'token') {
      if (!form) {
        sendError(900561, { method: req.method ?? 'GET' });
        record(400, 900561);
        return;
      }
      const ctx = { directory, grants, settings, now: now(), authorityHost, sign };
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
    tokenRequests,
    requests,
    now,
    authority: (tenant) => `${authorityHost}/${tenant}/`,
    verifyAccessToken: (token) => verifyAccessToken(token, signingKey, now()),
    signToken: sign,
    issueAppToken({ tenant, clientId, resource = EXCHANGE_APP_RESOURCE }) {
      const t = findTenantOrThrow(tenant);
      const app = directory.getApp(t.id, clientId);
      return sign(appTokenClaims({ tenant: t, app, resource, now: now(), lifetimeSeconds: settings.tokenLifetimeSeconds }));
    },
    issueDelegatedToken({ tenant, clientId, user, resource = EXCHANGE_DELEGATED_RESOURCE }) {
      const t = findTenantOrThrow(tenant);
      const claims = delegatedTokenClaims({
        tenant: t,
        app: directory.getApp(t.id, clientId),
        user: directory.getMailbox(user, t.id),
        resource,
        scopes: ['SMTP.Send'],
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

function routeOf(path: string): IdentityEndpoint | undefined {
  if (path === 'v2.0/.well-known/openid-configuration') return 'openid-configuration';
  if (path === 'discovery/v2.0/keys') return 'keys';
  if (path === 'oauth2/v2.0/token') return 'token';
  return undefined;
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
