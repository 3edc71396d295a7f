/**
 * SMTP AUTH under load, through the real listener: logins that arrive at once
 * from one address, and a device that logs in for every message.
 */
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';
import { startTestListener, type TestListener } from '../helpers/listener.js';
import { fillPasswordQueue } from '../helpers/password-queue.js';

const PASSWORD = 'correct-horse-battery';

let fx: Fixture;
let listener: TestListener;

afterEach(async () => {
  await listener.close();
  fx.cleanup();
});

/** A listener with one relay user, `scanner`, and no allowed networks; AUTH is offered without TLS. */
async function start(): Promise<void> {
  fx = createFixture({ RELAY365_RELAY_NETWORKS: '', RELAY365_ALLOW_PLAINTEXT_AUTH: 'true' });
  const server = fx.store.sync.servers.add(plainServer());
  fx.store.sync.relayUsers.add({ name: 'scanner', passwordHash: await hashPassword(PASSWORD), serverId: server.id, allowFrom: [] });
  listener = await startTestListener(fx);
}

/** One login from `localAddress`: 'ok' or the server's reply. */
const login = (localAddress: string, pass: string): Promise<string> =>
  nodemailer
    .createTransport({ host: '127.0.0.1', port: listener.port, localAddress, ignoreTLS: true, auth: { user: 'scanner', pass } })
    .verify()
    .then(
      () => 'ok',
      (err: { response?: string }) => err.response ?? String(err),
    );

describe('SMTP AUTH at once from one address', () => {
  it('checks at most 5 passwords when 20 wrong logins arrive at once, and locks the address out', async () => {
    await start();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => login('127.0.0.9', `wrong-password-${i}`)));
    const checked = answers.filter((a) => a.startsWith('535 5.7.8 ')).length;
    const notChecked = answers.filter((a) => a.startsWith('454 4.7.0 ')).length;
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(5);
    expect(checked + notChecked).toBe(20);
    expect(await login('127.0.0.9', PASSWORD)).toMatch(/^454 4\.7\.0 Too many failed logins/);
    expect(await login('127.0.0.10', PASSWORD)).toBe('ok');
  });

  it('keeps letting a device in that logs in again and again with its right password, many at once', async () => {
    await start();
    expect(await login('127.0.0.9', PASSWORD)).toBe('ok');
    const answers = await Promise.all(Array.from({ length: 12 }, () => login('127.0.0.9', PASSWORD)));
    expect(answers).toEqual(Array(12).fill('ok'));
  });

  it('answers 454 4.7.0 while too many passwords are being checked, without counting a failure', async () => {
    await start();
    const filled = fillPasswordQueue();
    const answer = await login('127.0.0.9', 'wrong-password-0');
    await filled;
    expect(answer).toMatch(/^454 4\.7\.0 Too many logins are being checked; try again later/);
    for (let i = 1; i <= 4; i++) expect(await login('127.0.0.9', `wrong-password-${i}`)).toMatch(/^535 /);
    expect(await login('127.0.0.9', PASSWORD)).toBe('ok');
  });
});
