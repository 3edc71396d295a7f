/**
 * Every refusal at the SMTP listener leaves a trace with the client's
 * address: a message too big, relaying denied, a failed login, a TLS
 * handshake an old device cannot complete (STARTTLS and implicit TLS).
 */
import tls from 'node:tls';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.js';
import type { StoredRefusal } from '../../src/store/refusals.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { startTestListener, type TestListener } from '../helpers/listener.js';
import { connectRaw } from '../helpers/smtp-client.js';
import { waitFor } from '../helpers/wait.js';

let fx: Fixture;
let listener: TestListener;

afterEach(async () => {
  await listener.close();
  fx.cleanup();
});

async function start(env: Record<string, string> = {}): Promise<void> {
  fx = createFixture({ RELAY365_RELAY_NETWORKS: '127.0.0.1/32', ...env });
  fx.store.sync.servers.add(plainServer());
  listener = await startTestListener(fx);
}

const refusal = (reason: string): Promise<StoredRefusal> =>
  waitFor(() => fx.store.sync.refusals.list({ reason })[0], `a ${reason} refusal`);

/** A TLS 1.0 client, like an old printer; resolves once the handshake failed. */
function oldTlsClient(options: tls.ConnectionOptions & { localAddress?: string }): Promise<Error> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      ...options,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => reject(new Error('the handshake should have failed')));
    socket.once('error', resolve);
  });
}

describe('refusals at the listener', () => {
  it('records a message over the size limit with the client, the reply and how much was sent', async () => {
    await start({ RELAY365_MAX_MESSAGE_SIZE: '2KiB' });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: listener.port, ignoreTLS: true });
    const raw = `Subject: scan\r\n\r\n${'x'.repeat(5000)}\r\n`;
    await expect(transport.sendMail({ envelope: { from: 'scanner@contoso.test', to: ['a@example.test'] }, raw })).rejects.toMatchObject({
      responseCode: 552,
    });
    const row = await refusal('too_big');
    expect(row).toMatchObject({ client: '127.0.0.1' });
    expect(row.detail).toMatch(/^552 5\.3\.4 .*the client sent \d+ bytes from <scanner@contoso\.test>/);
    expect(row.hint).toContain('RELAY365_MAX_MESSAGE_SIZE');
  });

  it('records relaying denied and a failed login with the client and the username, never the password', async () => {
    await start({ RELAY365_ALLOW_PLAINTEXT_AUTH: 'true' });
    const server = fx.store.sync.servers.findByName('upstream');
    fx.store.sync.relayUsers.add({
      name: 'scanner',
      passwordHash: await hashPassword('right-password-123'),
      serverId: server!.id,
      allowFrom: [],
    });
    const outsider = await connectRaw(listener.port, '127.0.0.1', '127.0.0.9');
    await outsider.command('EHLO outside.test');
    expect(await outsider.command('MAIL FROM:<x@example.test>')).toMatch(/^530 /);
    outsider.close();
    const login = nodemailer.createTransport({
      host: '127.0.0.1',
      port: listener.port,
      localAddress: '127.0.0.8',
      ignoreTLS: true,
      auth: { user: 'scanner', pass: 'wrong-password-456' },
    });
    await expect(login.verify()).rejects.toMatchObject({ responseCode: 535 });
    expect(await refusal('relay_denied')).toMatchObject({ client: '127.0.0.9' });
    const failed = await refusal('auth_failed');
    expect(failed).toMatchObject({ client: '127.0.0.8', username: 'scanner' });
    expect(failed.detail).toMatch(/^535 5\.7\.8 .*\(wrong password\)$/);
    expect(JSON.stringify(fx.store.sync.refusals.list())).not.toContain('wrong-password');
  });

  it('records a TLS 1.0 device failing STARTTLS with its address, the versions and the fix', async () => {
    await start();
    const c = await connectRaw(listener.port, '127.0.0.1', '127.0.0.4');
    await c.command('EHLO printer.test');
    expect(await c.command('STARTTLS')).toMatch(/^220 /);
    c.detach();
    await oldTlsClient({ socket: c.socket });
    const row = await refusal('tls_failed');
    // One failed handshake, one refusal (smtp-server reports it twice).
    expect(row).toMatchObject({ client: '127.0.0.4', count: 1 });
    expect(row.detail).toContain('older than TLSv1.2');
    expect(row.hint).toContain('RELAY365_TLS_MIN_VERSION=TLSv1');
  });

  it('records a TLS 1.0 device failing the implicit TLS handshake the same way', async () => {
    await start({ RELAY365_SMTPS_LISTEN: '127.0.0.1:0' });
    await oldTlsClient({ host: '127.0.0.1', port: listener.smtpsPort, localAddress: '127.0.0.6' });
    const row = await refusal('tls_failed');
    expect(row.client).toBe('127.0.0.6');
    expect(row.detail).toContain('older than TLSv1.2');
    expect(row.hint).toContain('RELAY365_TLS_MIN_VERSION');
  });

  it('lets a TLS 1.0 device in when RELAY365_TLS_MIN_VERSION allows it', async () => {
    await start({ RELAY365_SMTPS_LISTEN: '127.0.0.1:0', RELAY365_TLS_MIN_VERSION: 'TLSv1' });
    const socket = tls.connect({
      host: '127.0.0.1',
      port: listener.smtpsPort,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
      rejectUnauthorized: false,
    });
    const greeting = await new Promise<string>((resolve, reject) => {
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
      socket.once('error', reject);
    });
    expect(greeting).toMatch(/^220 /);
    expect(socket.getProtocol()).toBe('TLSv1');
    socket.destroy();
  });
});
