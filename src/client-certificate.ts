/**
 * An app registration's certificate credential as an admin pastes it: the
 * certificate (PEM, optionally followed by its chain) and its private key in
 * one value. Read and checked here once, for the settings schema (one message
 * an admin can act on, never quoting the key), the store's thumbprint and
 * expiry, and MSAL's `clientCertificate` (MICROSOFT.md, Other Microsoft ways to send).
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

/** More than this is no certificate and key, however long the chain. */
export const MAX_CERTIFICATE_TEXT = 64 * 1024;

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/g;

/** What relay365 uses of a certificate credential. */
export interface ClientCertificate {
  /** SHA-256 thumbprint, upper-case hex without separators, as Entra shows it (MSAL's `thumbprintSha256`). */
  thumbprintSha256: string;
  /** When the certificate stops being valid (its notAfter), in milliseconds. */
  expiresAt: number;
  /** The private key as PKCS#8 PEM, the form MSAL signs with. */
  privateKey: string;
  /** The certificate first, then the rest of the chain as given (MSAL's `x5c`). */
  x5c: string;
}

export type CertificateReading = { ok: true; certificate: ClientCertificate } | { ok: false; problem: string };

const PASTE_BOTH =
  'Paste the certificate (-----BEGIN CERTIFICATE-----) and its private key (-----BEGIN PRIVATE KEY-----), both in PEM, one after the other.';

/** Upper-case hex without colons, as the Entra admin center shows thumbprints. */
function thumbprintOf(certificate: X509Certificate): string {
  return certificate.fingerprint256.replace(/:/g, '').toUpperCase();
}

function readKey(block: string): KeyObject | string {
  // PKCS#8 says so in its label; OpenSSL's older PKCS#1 form (openssl genrsa -aes256) in a Proc-Type header (RFC 1421).
  if (block.startsWith('-----BEGIN ENCRYPTED') || /^Proc-Type: *4, *ENCRYPTED/m.test(block)) {
    return 'The private key is protected with a password. Export it without one (for example openssl pkey -in key.pem -out plain-key.pem) and paste that.';
  }
  try {
    return createPrivateKey(block);
  } catch {
    return 'The private key could not be read. Paste it in PEM, as -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----.';
  }
}

/**
 * Reads a pasted certificate credential: one private key and the certificate it belongs to (any
 * other certificates are its chain). A problem is said without quoting the text.
 */
export function readClientCertificate(text: string): CertificateReading {
  const fail = (problem: string): CertificateReading => ({ ok: false, problem });
  if (text.length > MAX_CERTIFICATE_TEXT) return fail(`That is more than ${MAX_CERTIFICATE_TEXT / 1024} KiB. ${PASTE_BOTH}`);
  const certificateBlocks = text.match(CERTIFICATE_BLOCK) ?? [];
  const keyBlocks = text.match(KEY_BLOCK) ?? [];
  if (certificateBlocks.length === 0) return fail(`No certificate found. ${PASTE_BOTH}`);
  if (keyBlocks.length === 0) return fail(`No private key found: the key the certificate was made with goes with it. ${PASTE_BOTH}`);
  if (keyBlocks.length > 1) return fail('Paste one private key: the one the certificate was made with.');

  const certificates: X509Certificate[] = [];
  for (const block of certificateBlocks) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      return fail(`A certificate could not be read. ${PASTE_BOTH}`);
    }
  }
  const key = readKey(keyBlocks[0] as string);
  if (typeof key === 'string') return fail(key);
  // Entra and MSAL sign client assertions with RSA (RS256, PS256) only.
  if (key.asymmetricKeyType !== 'rsa') {
    return fail(`The private key is ${key.asymmetricKeyType?.toUpperCase() ?? 'not RSA'}: Microsoft Entra needs an RSA certificate.`);
  }
  const leaf = certificates.find((c) => c.checkPrivateKey(key));
  if (!leaf) {
    const named = certificates.map(thumbprintOf).join(', ');
    return fail(`The private key does not belong to the certificate (SHA-256 thumbprint ${named}). Paste the key it was made with.`);
  }
  const chain = [leaf, ...certificates.filter((c) => c !== leaf)];
  return {
    ok: true,
    certificate: {
      thumbprintSha256: thumbprintOf(leaf),
      expiresAt: Date.parse(leaf.validTo),
      privateKey: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
      x5c: chain.map((c) => c.toString()).join(''),
    },
  };
}

/** The problem with a pasted certificate credential, or null when it is usable. */
export function clientCertificateProblem(text: string): string | null {
  const reading = readClientCertificate(text);
  return reading.ok ? null : reading.problem;
}
