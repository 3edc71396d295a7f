/**
 * RS256 JSON Web Tokens for the identity emulator, with node:crypto only:
 * a signing key pair generated at start, signing, signature verification and
 * the JWKS entry published at `/{tenant}/discovery/v2.0/keys`.
 */
import { createHash, generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

/** JWT claims: a JSON object. */
export type JwtClaims = Record<string, unknown>;

/** An RSA key pair with its key id (`kid`, also used as `x5t` like Entra does). */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A JWKS entry in the shape Entra publishes (without `x5c`). */
export interface PublishedJwk {
  kty: string;
  use: 'sig';
  kid: string;
  x5t: string;
  n: string;
  e: string;
}

const generateKeyPairAsync = promisify(generateKeyPair);

/** Generates a 2048-bit RSA signing key. */
export async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const kid = createHash('sha1').update(spki).digest('base64url');
  return { kid, privateKey, publicKey };
}

/** Signs `claims` with RS256; the header carries `typ`, `alg`, `kid` and `x5t`. */
export function signJwt(key: SigningKey, claims: JwtClaims): string {
  const header = { typ: 'JWT', alg: 'RS256', x5t: key.kid, kid: key.kid };
  const input = `${encodeSegment(header)}.${encodeSegment(claims)}`;
  const signature = sign('sha256', Buffer.from(input), key.privateKey).toString('base64url');
  return `${input}.${signature}`;
}

/** Result of {@link verifyJwt}. */
export type JwtCheck = { ok: true; claims: JwtClaims } | { ok: false; reason: string };

/** Checks the shape, algorithm, key id and RS256 signature of `token` (not its claims). */
export function verifyJwt(token: string, keys: readonly SigningKey[]): JwtCheck {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'not a JWS compact token' };
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  const header = decodeSegment(headerPart);
  const claims = decodeSegment(payloadPart);
  if (!header || !claims) return { ok: false, reason: 'token segments are not base64url JSON' };
  if (header['alg'] !== 'RS256') return { ok: false, reason: `unsupported alg ${String(header['alg'])}` };
  const key = keys.find((k) => k.kid === header['kid']);
  if (!key) return { ok: false, reason: `unknown signing key ${String(header['kid'])}` };
  const valid = verify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), key.publicKey, Buffer.from(signaturePart, 'base64url'));
  return valid ? { ok: true, claims } : { ok: false, reason: 'bad signature' };
}

/** Decodes the claims of a JWT without verifying it (what MSAL does with ID tokens). */
export function decodeJwtClaims(token: string): JwtClaims | undefined {
  return decodeSegment(token.split('.')[1] ?? '');
}

/** The public half of `key` as a JWKS entry. */
export function toPublishedJwk(key: SigningKey): PublishedJwk {
  const jwk = key.publicKey.export({ format: 'jwk' });
  return { kty: jwk.kty ?? 'RSA', use: 'sig', kid: key.kid, x5t: key.kid, n: jwk.n ?? '', e: jwk.e ?? '' };
}

function encodeSegment(value: JwtClaims): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeSegment(segment: string): JwtClaims | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JwtClaims) : undefined;
  } catch {
    return undefined;
  }
}
