/**
 * Certificate credentials of app registrations ("Certificates & secrets" →
 * Certificates, Entra's keyCredentials): a registered certificate with its SHA-1
 * and SHA-256 thumbprints and validity, and a generator of test certificates with
 * their private keys, for clients that sign client assertions (MSAL's
 * `clientCertificate: { thumbprintSha256, privateKey, x5c }`).
 */
import { X509Certificate, type KeyObject } from 'node:crypto';

/** A certificate uploaded to an app registration. */
export interface CertificateCredential {
  /** The certificate as uploaded (PEM). */
  pem: string;
  /** SHA-1 thumbprint, upper-case hex (what the portal shows; `x5t` in an assertion). */
  thumbprint: string;
  /** SHA-256 thumbprint, upper-case hex (`x5t#S256` in an assertion). */
  thumbprintSha256: string;
  /** Entra's key start date (the certificate's notBefore unless overridden). */
  startsAt: Date;
  /** Entra's key end date (the certificate's notAfter unless overridden). */
  expiresAt: Date;
  publicKey: KeyObject;
}

/** Dates to register instead of the certificate's own validity. */
export interface CertificateDates {
  startsAt?: Date;
  expiresAt?: Date;
}

/** Reads a PEM certificate into the credential Entra would store for it. */
export function certificateCredential(pem: string, dates: CertificateDates = {}): CertificateCredential {
  const x509 = new X509Certificate(pem);
  const hex = (fingerprint: string): string => fingerprint.replace(/:/g, '').toUpperCase();
  return {
    pem: x509.toString(),
    thumbprint: hex(x509.fingerprint),
    thumbprintSha256: hex(x509.fingerprint256),
    startsAt: dates.startsAt ?? new Date(x509.validFrom),
    expiresAt: dates.expiresAt ?? new Date(x509.validTo),
    publicKey: x509.publicKey,
  };
}

/** A certificate and its key, as an admin creates them for an app. */
export interface TestCertificate {
  /** The certificate (PEM): what is uploaded to the app and sent as `x5c`. */
  certPem: string;
  /** Its private key (PKCS#8 PEM). */
  keyPem: string;
  /** SHA-1 thumbprint, upper-case hex. */
  thumbprint: string;
  /** SHA-256 thumbprint, upper-case hex (MSAL's `thumbprintSha256`). */
  thumbprintSha256: string;
  notBefore: Date;
  notAfter: Date;
}

/** Options of {@link createTestCertificate}. */
export interface TestCertificateOptions {
  /** Subject common name; default `relay365 emulator test`. */
  commonName?: string;
  /** Default: one day before now. */
  notBefore?: Date;
  /** Default: one year after notBefore. */
  notAfter?: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A self-signed RSA 2048 certificate for certificate credentials. Key generation
 * takes 0.1–0.5 s: make one per test file and register it where needed.
 */
export async function createTestCertificate(options: TestCertificateOptions = {}): Promise<TestCertificate> {
  const notBefore = options.notBefore ?? new Date(Date.now() - DAY_MS);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 365 * DAY_MS);
  // Loaded on use: the X.509 library is large and most tests never need it.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: options.commonName ?? 'relay365 emulator test' }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true },
    ],
  });
  const credential = certificateCredential(pems.cert);
  return {
    certPem: pems.cert,
    keyPem: pems.private,
    thumbprint: credential.thumbprint,
    thumbprintSha256: credential.thumbprintSha256,
    notBefore: credential.startsAt,
    notAfter: credential.expiresAt,
  };
}
