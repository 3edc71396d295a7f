/**
 * Client authentication with a certificate (Entra's certificate credentials, RFC
 * 7523 client assertions): the `client_assertion` JWT must name a certificate
 * registered on the app by `x5t#S256` or `x5t`, be signed with its key (RS256, or
 * PS256 as MSAL signs when given a SHA-256 thumbprint), carry `iss` = `sub` = the
 * client id, `aud` = the tenant's token endpoint, a `jti`, and `nbf`/`exp` around
 * now. Failures are Entra's AADSTS50027, 700027, 700021, 700023 and 700024.
 */
import { constants, verify } from 'node:crypto';
import type { CertificateCredential } from './certificates.js';
import type { AppRegistration, Tenant } from './directory.js';
import type { ErrorParams } from './entra-errors.js';

/** The only `client_assertion_type` Entra accepts. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Where and when an assertion is checked. */
export interface AssertionContext {
  now: number;
  /** `https://localhost:PORT`: the host of the token endpoint the assertion must name. */
  authorityHost: string;
  /** Leeway on `nbf` and `exp`, in seconds. */
  clockSkewSeconds: number;
}

/** The verdict on an assertion. */
export type AssertionCheck = { ok: true; certificate: CertificateCredential } | { ok: false; aadsts: number; params: ErrorParams };

interface DecodedAssertion {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

const failure = (aadsts: number, params: ErrorParams = {}): AssertionCheck => ({ ok: false, aadsts, params });

/** The client id an assertion claims to come from (`iss`), for requests that send no `client_id`. */
export function assertionClientId(assertion: string): string | undefined {
  const issuer = decode(assertion)?.claims['iss'];
  return typeof issuer === 'string' ? issuer : undefined;
}

/** Checks `assertion` as Entra does for `app` of `tenant`. */
export function verifyClientAssertion(tenant: Tenant, app: AppRegistration, assertion: string, ctx: AssertionContext): AssertionCheck {
  const decoded = decode(assertion);
  if (!decoded) return failure(50027, { detail: 'Token format not valid.' });
  const { header, claims } = decoded;
  const sha256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
  const sha1 = typeof header['x5t'] === 'string' ? header['x5t'] : undefined;
  if (sha256 === undefined && sha1 === undefined) return failure(50027, { detail: 'No certificate thumbprint specified in token header.' });
  const thumbprint = Buffer.from(sha256 ?? sha1 ?? '', 'base64url')
    .toString('hex')
    .toUpperCase();
  const certificate = app.certificates.find((c) => (sha256 !== undefined ? c.thumbprintSha256 : c.thumbprint) === thumbprint);
  const keyParams = { clientId: app.clientId, thumbprint };
  if (!certificate) {
    const headline = 'The certificate with identifier used to sign the client assertion is not registered on application.';
    return failure(700027, { ...keyParams, headline, reason: 'The key was not found.' });
  }
  const foundKey = `Start=${usDate(certificate.startsAt)}, End=${usDate(certificate.expiresAt)}`;
  if (certificate.expiresAt.getTime() <= ctx.now) return failure(700027, { ...keyParams, foundKey, reason: 'The key used is expired.' });
  if (!signatureValid(decoded, certificate)) {
    return failure(700027, { ...keyParams, foundKey, reason: 'Key was found, but use of the key to verify the signature failed.' });
  }
  if (claims['iss'] !== app.clientId || claims['sub'] !== app.clientId) return failure(700021);
  const audiences = [tenant.id, ...tenant.domains].flatMap((ref) =>
    ['oauth2/v2.0/token', 'oauth2/token', 'v2.0'].map((tail) => `${ctx.authorityHost}/${ref}/${tail}`.toLowerCase()),
  );
  if (typeof claims['aud'] !== 'string' || !audiences.includes(claims['aud'].toLowerCase())) return failure(700023);
  const { exp, nbf, jti } = claims;
  if (typeof exp !== 'number' || (nbf !== undefined && typeof nbf !== 'number') || typeof jti !== 'string' || jti === '') {
    return failure(50027, { detail: 'The client assertion must carry exp, jti and a numeric nbf when it has one.' });
  }
  const skewMs = ctx.clockSkewSeconds * 1000;
  if (exp * 1000 + skewMs <= ctx.now || (typeof nbf === 'number' && nbf * 1000 - skewMs > ctx.now)) {
    return failure(700024, {
      now: entraInstant(ctx.now),
      validFrom: entraInstant(typeof nbf === 'number' ? nbf * 1000 : 0),
      expiresAt: entraInstant(exp * 1000),
    });
  }
  return { ok: true, certificate };
}

function decode(assertion: string): DecodedAssertion | undefined {
  const [headerPart, payloadPart, signaturePart, ...rest] = assertion.split('.');
  if (headerPart === undefined || payloadPart === undefined || signaturePart === undefined || rest.length > 0) return undefined;
  const header = jsonSegment(headerPart);
  const claims = jsonSegment(payloadPart);
  if (!header || !claims) return undefined;
  return { header, claims, signingInput: `${headerPart}.${payloadPart}`, signature: Buffer.from(signaturePart, 'base64url') };
}

function jsonSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function signatureValid(decoded: DecodedAssertion, certificate: CertificateCredential): boolean {
  const data = Buffer.from(decoded.signingInput);
  const alg = decoded.header['alg'];
  if (alg === 'RS256') return verify('sha256', data, certificate.publicKey, decoded.signature);
  if (alg === 'PS256') {
    const key = { key: certificate.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO };
    return verify('sha256', data, key, decoded.signature);
  }
  return false;
}

/** Entra's key dates: `MM/dd/yyyy HH:mm:ss` (UTC). */
function usDate(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const day = `${pad(date.getUTCMonth() + 1)}/${pad(date.getUTCDate())}/${date.getUTCFullYear()}`;
  return `${day} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
}

/** Entra's instants in AADSTS700024: seven fractional digits. */
function entraInstant(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '0000Z');
}
