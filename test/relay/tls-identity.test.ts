import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { GENERATED_CERT_FILE, GENERATED_KEY_FILE } from '../../src/data-folder.js';
import { loadTlsIdentity } from '../../src/relay/tls-identity.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { startTestListener, type TestListener } from '../helpers/listener.js';
import { connectRaw } from '../helpers/smtp-client.js';

describe('the listener certificate', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is generated into the data folder on first start (RSA, mode 0600) and reused afterwards', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'relay365-tls-'));
    const first = await loadTlsIdentity({ dataDir: dir, tlsCertFile: null, tlsKeyFile: null });
    expect(first.generated).toBe(true);
    expect(first.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(new X509Certificate(first.cert).publicKey.asymmetricKeyType).toBe('rsa');
    for (const file of [GENERATED_CERT_FILE, GENERATED_KEY_FILE]) expect(statSync(path.join(dir, file)).mode & 0o777).toBe(0o600);
    const again = await loadTlsIdentity({ dataDir: dir, tlsCertFile: null, tlsKeyFile: null });
    expect(again.fingerprint256).toBe(first.fingerprint256);
  });

  it('uses the configured certificate when one is set', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'relay365-tls-'));
    const certs = path.resolve('test/emulator/certs');
    const identity = await loadTlsIdentity({
      dataDir: dir,
      tlsCertFile: path.join(certs, 'localhost.pem'),
      tlsKeyFile: path.join(certs, 'localhost-key.pem'),
    });
    expect(identity).toMatchObject({ generated: false, subject: expect.stringContaining('localhost') });
  });
});

describe('the lowest TLS version', () => {
  let fx: Fixture;
  let listener: TestListener;
  afterEach(async () => {
    await listener.close();
    fx.cleanup();
  });

  /** Runs STARTTLS with a client that speaks at most `version`; resolves with the negotiated protocol or the error. */
  async function startTls(version: tls.SecureVersion): Promise<string> {
    const c = await connectRaw(listener.port);
    await c.command('EHLO old-printer.test');
    expect(await c.command('STARTTLS')).toMatch(/^220 /);
    c.detach();
    return new Promise((resolve) => {
      const secure = tls.connect({
        socket: c.socket,
        servername: 'localhost',
        minVersion: 'TLSv1',
        maxVersion: version,
        ciphers: 'DEFAULT@SECLEVEL=0',
      });
      secure.once('secureConnect', () => {
        resolve(secure.getProtocol() ?? 'unknown');
        secure.destroy();
      });
      secure.once('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
    });
  }

  it('refuses TLS 1.1 by default and accepts it with RELAY365_TLS_MIN_VERSION=TLSv1', async () => {
    fx = createFixture();
    fx.store.sync.servers.add(plainServer());
    listener = await startTestListener(fx);
    expect(await startTls('TLSv1.1')).toMatch(/^error /);
    expect(await startTls('TLSv1.3')).toBe('TLSv1.3');
    await listener.close();
    fx.cleanup();

    fx = createFixture({ RELAY365_TLS_MIN_VERSION: 'TLSv1' });
    fx.store.sync.servers.add(plainServer());
    listener = await startTestListener(fx);
    expect(await startTls('TLSv1.1')).toBe('TLSv1.1');
  });
});
