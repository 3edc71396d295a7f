/**
 * The listener's TLS certificate. With RELAY365_TLS_CERT_FILE and
 * RELAY365_TLS_KEY_FILE set, those are used; otherwise relay365 generates a
 * self-signed certificate into the data folder on first start, so STARTTLS
 * and AUTH are always available. Devices that verify certificates need a
 * real one; the panel says so and shows the fingerprint.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import { dataFolder } from '../data-folder.js';

export interface TlsIdentity {
  cert: Buffer;
  key: Buffer;
  /** True when relay365 made the certificate itself. */
  generated: boolean;
  /** SHA-256 fingerprint, `AB:CD:…`, to compare with what a device shows. */
  fingerprint256: string;
  subject: string;
  validTo: string;
}

const VALID_YEARS = 10;

function describe(cert: Buffer, key: Buffer, generated: boolean): TlsIdentity {
  const x509 = new X509Certificate(cert);
  return { cert, key, generated, fingerprint256: x509.fingerprint256, subject: x509.subject.replace(/\n/g, ', '), validTo: x509.validTo };
}

/** Loads the configured certificate, or the generated one (creating it on first use). */
export async function loadTlsIdentity(config: Pick<Config, 'dataDir' | 'tlsCertFile' | 'tlsKeyFile'>): Promise<TlsIdentity> {
  if (config.tlsCertFile && config.tlsKeyFile) {
    return describe(readFileSync(config.tlsCertFile), readFileSync(config.tlsKeyFile), false);
  }
  const { generatedCert: certFile, generatedKey: keyFile } = dataFolder(config.dataDir);
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    const name = hostname();
    const now = new Date();
    const notAfter = new Date(now);
    notAfter.setUTCFullYear(now.getUTCFullYear() + VALID_YEARS);
    // Loaded only for the first start: the X.509 library is large and needed once.
    const { generate } = await import('selfsigned');
    // RSA 2048: the one key type that every old printer's TLS stack speaks.
    const pems = await generate([{ name: 'commonName', value: name }], {
      keyType: 'rsa',
      keySize: 2048,
      algorithm: 'sha256',
      notBeforeDate: now,
      notAfterDate: notAfter,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: name },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    writeFileSync(keyFile, pems.private, { mode: 0o600 });
    writeFileSync(certFile, pems.cert, { mode: 0o600 });
  }
  return describe(readFileSync(certFile), readFileSync(keyFile), true);
}
