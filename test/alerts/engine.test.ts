/**
 * Alerts reach a person: against the Microsoft 365 emulator, a revoked
 * authorization fires one notice on each channel (a webhook receiver on
 * loopback, and an email that reaches the emulator's mailbox through a
 * second, working email server), repeats after the set interval and resolves
 * once the account is authorized again; a client secret about to expire
 * warns once per threshold, the nearer threshold replacing the wider one; a
 * restart does not repeat a notice; a test alert without a channel says so.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAlerts, type Alerts } from '../../src/alerts/engine.js';
import { createLogger, silentLogger } from '../../src/log.js';
import { KEEPALIVE_MS } from '../../src/relay/scheduler.js';
import { ALERT_ROUTE } from '../../src/store/alerts.js';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { startHarness, testMessage, type Harness } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const ADMIN = 'admin@contoso.test';
const MIN = 60_000;

let signingKey: SigningKey;
let h: Harness;
let receiver: WebhookReceiver;

beforeAll(async () => {
  signingKey = await createSigningKey();
});
afterEach(async () => {
  await receiver.close();
  await h.close();
});

const newAlerts = (): Alerts =>
  createAlerts({
    config: h.fx.config,
    store: h.fx.store,
    relay: { enqueueAlert: (id, mail) => h.relay.enqueueAlert(id, mail) },
    log: silentLogger,
    now: () => h.now(),
  });

/** Alert emails that reached the emulator, by subject. */
const alertMails = (): string[] =>
  h.emu.exchange.messages.filter((m) => m.rcptTo.includes(ADMIN)).map((m) => /^Subject: (.*)$/m.exec(m.raw.toString('utf8'))?.[1] ?? '');

/** Alert emails in the queue that are not delivered yet. */
const alertMailsWaiting = (): number =>
  h.fx.store.sync.queue.list({ limit: 100 }).filter((m) => m.route === ALERT_ROUTE && m.status !== 'delivered').length;

describe('alerts', () => {
  it('fires once on each channel when the authorization is revoked, repeats after the interval and resolves after authorizing again', async () => {
    receiver = await startWebhookReceiver('/hooks/T000/B000/secret-token');
    h = await startHarness({
      signingKey,
      server: { signInMode: 'authorize', smtpResource: 'https://outlook.office.com', mailbox: SEED.mailbox },
    });
    await h.authorizeAccount();
    // A second email server (application sign-in) that works: alert mail goes through it while the first is broken.
    const backup = h.addServer({ name: 'backup' });
    const warmUp = await h.enqueue(backup, testMessage('warm up'));
    await waitFor(() => h.fx.store.sync.queue.get(warmUp)?.status === 'delivered', 'the backup server working');
    h.fx.store.sync.alerts.saveSettings({ webhookUrl: receiver.url, emails: [ADMIN], repeatMinutes: 60 }, h.now());
    const alerts = newAlerts();
    await alerts.evaluateNow();
    expect(receiver.posts).toEqual([]);

    h.emu.identity.revokeRefreshTokens(SEED.mailbox);
    await h.advance(KEEPALIVE_MS + 1_000);
    await waitFor(() => h.fx.store.sync.servers.get(h.serverId())?.status === 'not_authorized', 'Not Authorized');
    const held = await h.submit(testMessage('after revocation'));
    await waitFor(() => h.fx.store.sync.queue.get(held)?.status === 'held', 'held');

    await alerts.evaluateNow();
    const key = `server:${h.serverId()}:authorization`;
    expect(receiver.posts).toHaveLength(1);
    expect(receiver.posts[0]).toMatchObject({
      status: 'firing',
      repeat: false,
      key,
      severity: 'critical',
      title: 'Email server o365 lost its authorization',
      server: 'o365',
      code: 'AADSTS50173',
      fix: 'Click Authorize Account again and sign in with the mailbox account.',
      since: new Date(h.now()).toISOString(),
    });
    expect(receiver.posts[0]?.['text']).toMatch(/AADSTS50173[\s\S]*How to fix it: Click Authorize Account again/);
    await waitFor(() => alertMails().length === 1 && alertMailsWaiting() === 0, 'the alert email at the emulator');
    expect(alertMails()).toEqual(['[relay365] ALERT: Email server o365 lost its authorization']);
    const [mail] = h.emu.exchange.messages.filter((m) => m.rcptTo.includes(ADMIN));
    expect(mail?.raw.toString('utf8')).toMatch(/Auto-Submitted: auto-generated/);
    expect(mail?.raw.toString('utf8')).toMatch(/Microsoft code: AADSTS50173/);
    // It went through the working server (application sign-in), not the broken one.
    expect(mail?.tokenKind).toBe('app');
    expect(await alerts.active()).toMatchObject([{ key, server: 'o365', code: 'AADSTS50173' }]);

    // Later evaluations while it lasts say nothing new, also after a restart of the engine.
    await h.advance(MIN);
    await alerts.evaluateNow();
    await h.advance(MIN);
    await newAlerts().evaluateNow();
    expect(receiver.posts).toHaveLength(1);
    expect(h.fx.store.sync.queue.list({ limit: 100 }).filter((m) => m.route === ALERT_ROUTE)).toHaveLength(1);

    // After the repeat interval: one repeat on each channel.
    await h.advance(60 * MIN);
    await alerts.evaluateNow();
    expect(receiver.posts).toHaveLength(2);
    expect(receiver.posts[1]).toMatchObject({ status: 'firing', repeat: true, key });
    await waitFor(() => alertMails().length === 2 && alertMailsWaiting() === 0, 'the repeated alert email');
    expect(alertMails()[1]).toBe('[relay365] STILL FIRING: Email server o365 lost its authorization');

    // Authorized again: the held mail goes out and one resolved notice follows on each channel.
    await h.authorizeAccount();
    await waitFor(() => h.fx.store.sync.queue.get(held)?.status === 'delivered', 'the held mail delivered');
    await h.advance(MIN);
    await alerts.evaluateNow();
    expect(receiver.posts).toHaveLength(3);
    expect(receiver.posts[2]).toMatchObject({ status: 'resolved', key, resolvedAt: new Date(h.now()).toISOString() });
    await waitFor(() => alertMails().length === 3 && alertMailsWaiting() === 0, 'the resolved email');
    expect(alertMails()[2]).toBe('[relay365] RESOLVED: Email server o365 lost its authorization');
    expect(await alerts.active()).toEqual([]);

    await h.advance(2 * 60 * MIN);
    await alerts.evaluateNow();
    expect(receiver.posts).toHaveLength(3);
    expect(h.fx.store.sync.alerts.recent(10)).toMatchObject([{ key, resolvedAt: expect.any(Number) }]);
  });

  it('warns once per threshold about an expiring client secret, the nearer threshold replacing the wider one', async () => {
    receiver = await startWebhookReceiver('/hooks/T000/B000/secret-token');
    h = await startHarness({ signingKey });
    const DAY = 24 * 60 * MIN;
    const inEightDays = new Date(h.now() + 8 * DAY).toISOString().slice(0, 10);
    h.fx.store.sync.servers.update(h.serverId(), { clientSecretExpires: inEightDays });
    h.fx.store.sync.alerts.saveSettings({ webhookUrl: receiver.url, emails: [ADMIN], repeatMinutes: 60 }, h.now());
    const alerts = newAlerts();
    await alerts.evaluateNow();
    const posted = (from: number) => receiver.posts.slice(from).map((p) => [p['key'], p['status'], p['severity']]);
    expect(posted(0)).toEqual([[`server:${h.serverId()}:secret-expiry:30`, 'firing', 'warning']]);
    await waitFor(() => alertMails().length === 1, 'the warning by email');
    // The subject is folded after the first line.
    expect(alertMails()).toEqual(['[relay365] ALERT: The client secret of o365 expires in 8 days']);

    // Within 7 days: the critical alert takes the warning's place, and the warning does not read as resolved.
    await h.advance(2 * DAY);
    await alerts.evaluateNow();
    expect(posted(1)).toEqual([[`server:${h.serverId()}:secret-expiry:7`, 'firing', 'critical']]);
    expect(receiver.posts[1]?.['title']).toBe(`The client secret of o365 expires in 6 days (${inEightDays})`);
    expect(await alerts.active()).toMatchObject([{ key: `server:${h.serverId()}:secret-expiry:7` }]);

    for (let i = 0; i < 3; i++) {
      await h.advance(2 * 60 * MIN);
      await alerts.evaluateNow();
    }
    expect(receiver.posts).toHaveLength(2);

    // A new secret ends it with one resolved notice.
    h.fx.store.sync.servers.update(h.serverId(), { clientSecretExpires: '2099-01-01' });
    await alerts.evaluateNow();
    expect(posted(2)).toEqual([[`server:${h.serverId()}:secret-expiry:7`, 'resolved', 'critical']]);
    expect(await alerts.active()).toEqual([]);
  });

  it('retries a webhook that failed at the next evaluation, without the URL in the log', async () => {
    receiver = await startWebhookReceiver('/hooks/T000/B000/secret-token');
    h = await startHarness({ signingKey, captureLog: true });
    const down = 'http://127.0.0.1:9/hooks/secret-path-token';
    h.fx.store.sync.alerts.saveSettings({ webhookUrl: down }, h.now());
    for (let i = 0; i < 5; i++) h.fx.store.sync.lockouts.recordFailure('203.0.113.9', 'scanner', h.now());
    const alerts = createAlerts({
      config: h.fx.config,
      store: h.fx.store,
      relay: h.relay,
      log: createLogger('debug', (line) => h.logLines.push(line)),
      now: () => h.now(),
    });
    await alerts.evaluateNow();
    expect(h.logLines.some((l) => l.includes('alert notice not delivered'))).toBe(true);
    expect(h.logLines.some((l) => l.includes('"alert":true') && l.includes('lockout:203.0.113.9'))).toBe(true);
    expect(h.logLines.join('\n')).not.toContain('secret-path-token');

    h.fx.store.sync.alerts.saveSettings({ webhookUrl: receiver.url }, h.now());
    await h.advance(MIN);
    await alerts.evaluateNow();
    expect(receiver.posts).toMatchObject([{ key: 'lockout:203.0.113.9', status: 'firing' }]);
  });
});
