/**
 * Reading a pasted Office 365 Client Certificate: the certificate and key in
 * any order, a chain, PKCS#1 keys and Windows line ends are read; a missing,
 * foreign, password-protected, non-RSA or unreadable key and text that is no
 * PEM are refused with a message an admin can act on that never quotes the key.
 */
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMsalClient } from '../src/auth/msal-client.js';
import { clientCertificateProblem, MAX_CERTIFICATE_TEXT, readClientCertificate } from '../src/client-certificate.js';
import { silentLogger } from '../src/log.js';
import type { EmailServer } from '../src/store/servers.js';
import { validateServerFields } from '../src/store/server-validation.js';
import { createTestCertificate, type TestCertificate } from './emulator/index.js';

let mine: TestCertificate;
let other: TestCertificate;

beforeAll(async () => {
  [mine, other] = await Promise.all([createTestCertificate({ commonName: 'mine' }), createTestCertificate({ commonName: 'other' })]);
});

/** The base64 lines of a PEM block: none may appear in any message. */
const keyLines = (pem: string): string[] => pem.split(/\r?\n/).filter((line) => line.length > 20 && !line.startsWith('-----'));

/** The problem with `text`, checked to quote none of the private keys involved. */
function problemWith(text: string, ...keys: string[]): string {
  const reading = readClientCertificate(text);
  expect(reading.ok).toBe(false);
  const problem = reading.ok ? '' : reading.problem;
  for (const line of keys.flatMap(keyLines)) expect(problem).not.toContain(line);
  expect(problem).not.toContain('PRIVATE KEY-----\n');
  return problem;
}

describe('reading a client certificate', () => {
  it('reads the certificate and its key: SHA-256 thumbprint as Entra shows it, notAfter, PKCS#8 key, the certificate as x5c', () => {
    const reading = readClientCertificate(`${mine.certPem}${mine.keyPem}`);
    expect(reading).toEqual({
      ok: true,
      certificate: {
        thumbprintSha256: mine.thumbprintSha256,
        expiresAt: mine.notAfter.getTime(),
        privateKey: expect.stringMatching(/^-----BEGIN PRIVATE KEY-----\n/),
        x5c: new X509Certificate(mine.certPem).toString(),
      },
    });
    expect(reading.ok && reading.certificate.thumbprintSha256).toMatch(/^[0-9A-F]{64}$/);
  });

  it('reads the key before the certificate, a PKCS#1 RSA key and Windows line ends', () => {
    const pkcs1 = createPrivateKey(mine.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(pkcs1).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    const text = `${pkcs1}\n${mine.certPem}`.replace(/\n/g, '\r\n');
    const reading = readClientCertificate(text);
    expect(reading.ok && reading.certificate.thumbprintSha256).toBe(mine.thumbprintSha256);
    expect(reading.ok && reading.certificate.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('reads what openssl pkcs12 -nodes prints from a .pfx: Bag Attributes and subject lines around the PEM blocks', () => {
    const text = [
      'Bag Attributes',
      '    localKeyID: 01 00 00 00',
      '    friendlyName: relay365',
      'subject=CN = mine',
      'issuer=CN = mine',
      mine.certPem.trim(),
      'Bag Attributes',
      '    localKeyID: 01 00 00 00',
      'Key Attributes: <No Attributes>',
      mine.keyPem.trim(),
      '',
    ].join('\n');
    const reading = readClientCertificate(text);
    expect(reading.ok && reading.certificate.thumbprintSha256).toBe(mine.thumbprintSha256);
  });

  it('picks the certificate the key belongs to and sends the others after it as its chain', () => {
    const reading = readClientCertificate(`${other.certPem}${mine.certPem}${mine.keyPem}`);
    expect(reading.ok && reading.certificate.thumbprintSha256).toBe(mine.thumbprintSha256);
    expect(reading.ok && reading.certificate.x5c).toBe(
      new X509Certificate(mine.certPem).toString() + new X509Certificate(other.certPem).toString(),
    );
  });

  it('asks for the private key when only the certificate is pasted', () => {
    expect(problemWith(mine.certPem)).toBe(
      'No private key found: the key the certificate was made with goes with it. Paste the certificate (-----BEGIN CERTIFICATE-----) and its private key (-----BEGIN PRIVATE KEY-----), both in PEM, one after the other.',
    );
  });

  it('asks for the certificate when only the key is pasted', () => {
    expect(problemWith(mine.keyPem, mine.keyPem)).toMatch(/^No certificate found\. Paste the certificate/);
  });

  it("names the certificate's thumbprint when the key belongs to another certificate", () => {
    expect(problemWith(`${mine.certPem}${other.keyPem}`, other.keyPem)).toBe(
      `The private key does not belong to the certificate (SHA-256 thumbprint ${mine.thumbprintSha256}). Paste the key it was made with.`,
    );
  });

  it('asks for one key when two are pasted', () => {
    expect(problemWith(`${mine.certPem}${mine.keyPem}${other.keyPem}`, mine.keyPem, other.keyPem)).toBe(
      'Paste one private key: the one the certificate was made with.',
    );
  });

  it.each([
    ['PKCS#8 (BEGIN ENCRYPTED PRIVATE KEY)', 'pkcs8'],
    ['PKCS#1 (Proc-Type: 4,ENCRYPTED)', 'pkcs1'],
  ] as const)('says how to remove the password of an encrypted key, %s', (_name, type) => {
    const encrypted = createPrivateKey(mine.keyPem)
      .export({ type, format: 'pem', cipher: 'aes-256-cbc', passphrase: 'a password' })
      .toString();
    expect(problemWith(`${mine.certPem}${encrypted}`, encrypted, mine.keyPem)).toBe(
      'The private key is protected with a password. Export it without one (for example openssl pkey -in key.pem -out plain-key.pem) and paste that.',
    );
  });

  it('refuses a key that is not RSA, which Entra does not take', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(problemWith(`${mine.certPem}${ec}`, ec)).toBe('The private key is EC: Microsoft Entra needs an RSA certificate.');
  });

  it('says a damaged key or certificate could not be read, quoting neither', () => {
    const lines = mine.keyPem.trim().split('\n');
    const damaged = [lines[0], ...lines.slice(1, -1).map((l) => l.replace(/[A-M]/g, '*')), lines.at(-1)].join('\n');
    expect(problemWith(`${mine.certPem}${damaged}\n`, mine.keyPem, damaged)).toBe(
      'The private key could not be read. Paste it in PEM, as -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----.',
    );
    const badCertificate = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
    expect(problemWith(`${badCertificate}${mine.keyPem}`, mine.keyPem)).toMatch(/^A certificate could not be read\. Paste the certificate/);
  });

  it.each([
    ['garbage', 'hello, this is not a certificate'],
    ['a client secret', 'Rly8Q~emulator.Secret.Value.0123456789abcdef'],
  ])('refuses %s as no certificate', (_name, text) => {
    expect(problemWith(text)).toMatch(/^No certificate found\. Paste the certificate/);
  });

  it('refuses a binary (DER) certificate file read as text as no certificate', () => {
    const der = new X509Certificate(mine.certPem).raw.toString('latin1');
    expect(problemWith(der)).toMatch(/^No certificate found\. Paste the certificate/);
  });

  it(`refuses more than ${MAX_CERTIFICATE_TEXT / 1024} KiB without reading it`, () => {
    const text = `${mine.certPem}${mine.keyPem}`.padEnd(MAX_CERTIFICATE_TEXT + 1, '\n');
    expect(problemWith(text, mine.keyPem)).toMatch(/^That is more than 64 KiB\./);
  });

  it('gives the settings schema the same message, and MSAL is never handed an unusable certificate', () => {
    const text = `${mine.certPem}${other.keyPem}`;
    const expected = clientCertificateProblem(text);
    expect(expected).toMatch(/does not belong to the certificate/);
    expect(validateServerFields({ clientCertificate: text })).toEqual({ clientCertificate: expected });
    expect(validateServerFields({ clientCertificate: `${mine.certPem}${mine.keyPem}` })).toEqual({});

    const server = { id: 1, name: 'o365', clientId: 'c', tenantId: 't', cloud: 'global' } as EmailServer;
    const cache = { load: () => null, save: () => undefined } as unknown as Parameters<typeof createMsalClient>[0]['cache'];
    let thrown: unknown;
    try {
      createMsalClient({ server, clientSecret: 'a-secret', clientCertificate: text, cache, log: silentLogger });
    } catch (err) {
      thrown = err;
    }
    expect((thrown as Error).message).toBe(`Office 365 Client Certificate cannot be used: ${expected}`);
    for (const line of keyLines(other.keyPem)) expect((thrown as Error).message).not.toContain(line);
  });
});
