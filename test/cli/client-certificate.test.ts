/**
 * `relay365 server set NAME --client-certificate-file F`: the certificate and
 * key read from the file, sealed in the database, listed by thumbprint and
 * expiry; a bad file refused with the reason and never the key; and neither
 * `server list` nor its JSON ever prints the PEM or the key.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/usage-error.js';
import { formatTime } from '../../src/time-format.js';
import { createTestCertificate, SEED, type TestCertificate } from '../emulator/index.js';
import { createFixture, type Fixture } from '../helpers/fixture.js';
import { runInProcess } from '../helpers/cli.js';

let fx: Fixture;
let mine: TestCertificate;
let other: TestCertificate;

beforeAll(async () => {
  [mine, other] = await Promise.all([createTestCertificate({ commonName: 'cli' }), createTestCertificate({ commonName: 'cli other' })]);
});
beforeEach(() => {
  fx = createFixture();
});
afterEach(() => fx.cleanup());

const run = async (command: string, ...args: string[]): Promise<string> => (await runInProcess(fx, command, ...args)).join('\n');

/** Writes `text` to a file in the test's data folder; returns its path. */
function file(name: string, text: string): string {
  const where = path.join(fx.dir, name);
  writeFileSync(where, text);
  return where;
}

/** The base64 lines of a PEM text. */
const keyLines = (pem: string): string[] => pem.split(/\r?\n/).filter((l) => l.length > 20 && !l.startsWith('-----'));
/** Those of both certificates and keys: none may be printed. */
const pemLines = (): string[] => [mine, other].flatMap((c) => keyLines(`${c.certPem}\n${c.keyPem}`));

async function addServer(): Promise<void> {
  const secret = file('secret', `${SEED.clientSecret}\n`);
  await run(
    'server',
    'add',
    '--name',
    'office365',
    '--method',
    'office365',
    '--mode',
    'application',
    '--tenant-id',
    SEED.tenantId,
    '--client-id',
    SEED.clientId,
    '--client-secret-file',
    secret,
    '--mailbox',
    SEED.mailbox,
  );
}

describe('relay365 server set --client-certificate-file', () => {
  it('reads the certificate and key from the file, seals them, and lists only the thumbprint and expiry', async () => {
    await addServer();
    const pemFile = file('relay365.pem', `${mine.certPem}${mine.keyPem}`);
    expect(await run('server', 'set', 'office365', '--client-certificate-file', pemFile)).toBe('updated email server office365');
    const server = fx.store.sync.servers.findByName('office365')!;
    expect(server).toMatchObject({ hasClientCertificate: true, clientCertificateThumbprint: mine.thumbprintSha256 });
    expect(fx.store.sync.servers.clientCertificate(server.id)).toBe(`${mine.certPem}${mine.keyPem}`.replace(/\r?\n$/, ''));

    const list = await run('server', 'list');
    expect(list).toContain(
      `certificate SHA-256 ${mine.thumbprintSha256}, expires ${formatTime(mine.notAfter.getTime())} (signs in instead of the secret)`,
    );
    const json = await run('server', 'list', '--json');
    const [listed] = JSON.parse(json) as Record<string, unknown>[];
    expect(listed).toMatchObject({
      hasClientCertificate: true,
      clientCertificateThumbprint: mine.thumbprintSha256,
      clientCertificateExpiresAt: mine.notAfter.getTime(),
    });
    expect(listed).not.toHaveProperty('clientCertificate');
    for (const line of pemLines()) {
      expect(list + json).not.toContain(line);
    }

    // Sealed at rest: neither the database nor its write-ahead log holds a line of the key in the clear.
    for (const name of ['relay365.db', 'relay365.db-wal']) {
      let bytes: string;
      try {
        bytes = readFileSync(path.join(fx.dir, name), 'latin1');
      } catch {
        continue;
      }
      for (const line of keyLines(mine.keyPem)) expect(bytes.includes(line), name).toBe(false);
    }
  });

  it('refuses a file whose key belongs to another certificate, names the reason, and never prints the key', async () => {
    await addServer();
    const bad = file('mixed.pem', `${mine.certPem}${other.keyPem}`);
    const err = await run('server', 'set', 'office365', '--client-certificate-file', bad).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(
      `--client-certificate-file (hidden) is not valid: The private key does not belong to the certificate (SHA-256 thumbprint ${mine.thumbprintSha256}). Paste the key it was made with.`,
    );
    for (const line of pemLines()) expect((err as Error).message).not.toContain(line);
    expect(fx.store.sync.servers.findByName('office365')?.hasClientCertificate).toBe(false);
  });

  it('refuses an empty file and one with only the certificate', async () => {
    await addServer();
    const empty = file('empty.pem', '');
    await expect(run('server', 'set', 'office365', '--client-certificate-file', empty)).rejects.toThrow(
      `--client-certificate-file ${JSON.stringify(empty)}: the file is empty`,
    );
    const certOnly = file('cert.pem', mine.certPem);
    await expect(run('server', 'set', 'office365', '--client-certificate-file', certOnly)).rejects.toThrow(
      /^--client-certificate-file \(hidden\) is not valid: No private key found/,
    );
  });
});
