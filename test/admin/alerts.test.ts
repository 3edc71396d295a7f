/**
 * The Alerts page through app.request(): saving the settings, validation
 * messages next to the fields, the webhook URL never shown back, channels set
 * in the environment read-only, read-only users refused, Send test alert
 * reporting per channel, and the alerts that fire now.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAdminApp } from '../../src/admin/app.js';
import { createAlerts } from '../../src/alerts/engine.js';
import { createRelay } from '../../src/relay/index.js';
import { createLogger, silentLogger, type Logger } from '../../src/log.js';
import { ALERT_ROUTE } from '../../src/store/alerts.js';
import { plainServer } from '../helpers/fixture.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { Agent, createPanel, createUser, visibleText, type Panel } from './panel.js';

const SECRET_PATH = '/hooks/T000/B000/very-secret-token';

let panel: Panel;
let receiver: WebhookReceiver | null = null;

afterEach(async () => {
  await receiver?.close();
  receiver = null;
  panel.cleanup();
});

/** The panel with a real alerts engine over a relay that is built but not started (alert mail is queued, not sent). */
function alertsPanel(env: Record<string, string> = {}, log: Logger = silentLogger) {
  panel = createPanel({ env });
  const { fx, clock, relay } = panel;
  fx.store.sync.servers.add(plainServer({ name: 'upstream' }));
  const alerts = createAlerts({
    config: fx.config,
    store: fx.store,
    relay: createRelay({ config: fx.config, store: fx.store, log }),
    log,
    now: () => clock.now,
  });
  const app = createAdminApp({ config: fx.config, store: fx.store, relay, log, now: () => clock.now, alerts });
  return { app, alerts };
}

async function agentFor(app: ReturnType<typeof createAdminApp>, email: string, perms: { superAdmin?: boolean; updateSettings?: boolean }) {
  await createUser(panel, email, perms);
  const agent = new Agent(app);
  await agent.signIn(email);
  await agent.get('/alerts');
  return agent;
}

const FORM = { webhookUrl: '', emails: '', emailServerId: '', oldestMinutes: '30', failuresPerHour: '10', repeatMinutes: '240' };

describe('the Alerts page', () => {
  it('saves the settings and never shows the webhook URL again', async () => {
    const { app } = alertsPanel();
    const agent = await agentFor(app, 'admin@contoso.test', { superAdmin: true });
    const url = `https://hooks.example.test${SECRET_PATH}`;
    const serverId = String(panel.fx.store.sync.servers.list()[0]?.id);
    const saved = await agent.post('/alerts', {
      ...FORM,
      webhookUrl: url,
      emails: 'ops@contoso.test, it@contoso.test',
      emailServerId: serverId,
      oldestMinutes: '45',
      failuresPerHour: '5',
      repeatMinutes: '60',
    });
    expect(saved).toMatchObject({ status: 303, location: '/alerts' });
    const page = await agent.get('/alerts');
    expect(visibleText(page.text)).toContain('Saved the alert settings.');
    expect(page.text).not.toContain('very-secret-token');
    expect(visibleText(page.text)).toMatch(/Webhook URL Set\./);
    expect(page.text).toContain('ops@contoso.test, it@contoso.test');
    expect(page.text).toMatch(/<option value="\d+" selected="">upstream<\/option>/);
    expect(panel.fx.store.sync.alerts.settings()).toMatchObject({
      hasWebhook: true,
      emails: ['ops@contoso.test', 'it@contoso.test'],
      emailServerId: Number(serverId),
      oldestMinutes: 45,
      failuresPerHour: 5,
      repeatMinutes: 60,
    });
    expect(panel.fx.store.sync.alerts.webhookUrl()).toBe(url);
    expect(panel.logLines.join('\n')).not.toContain('very-secret-token');

    // An empty field keeps the URL; the box removes it.
    await agent.post('/alerts', { ...FORM, emails: 'ops@contoso.test' });
    expect(panel.fx.store.sync.alerts.webhookUrl()).toBe(url);
    await agent.post('/alerts', { ...FORM, clearWebhook: '1' });
    expect(panel.fx.store.sync.alerts.settings()).toMatchObject({ hasWebhook: false, emails: [], emailServerId: null });
  });

  it('re-renders a failed form with each message next to its field, without the typed URL', async () => {
    const { app } = alertsPanel();
    const agent = await agentFor(app, 'admin@contoso.test', { updateSettings: true });
    const res = await agent.post('/alerts', {
      webhookUrl: 'ftp://files.example.test/very-secret-token',
      emails: 'ops@contoso.test, not-an-address',
      emailServerId: '999',
      oldestMinutes: 'soon',
      failuresPerHour: '0',
      repeatMinutes: '1',
    });
    expect(res.status).toBe(422);
    const errorOf = (id: string): string =>
      visibleText(new RegExp(`<p class="field-error" id="${id}-error"[^>]*>([^<]*)</p>`).exec(res.text)?.[1] ?? '');
    expect(errorOf('alert-webhook')).toMatch(/http:\/\/ or https:\/\//);
    expect(errorOf('alert-emails')).toBe('"not-an-address" is not an email address.');
    expect(errorOf('alert-server')).toBe('Choose one of the email servers.');
    expect(errorOf('alert-oldest')).toBe('The waiting time is a whole number.');
    expect(errorOf('alert-failures')).toBe('The number of failures is at least 1.');
    expect(errorOf('alert-repeat')).toBe('The repeat interval is at least 5.');
    expect(res.text).toContain('ops@contoso.test, not-an-address');
    expect(res.text).not.toContain('very-secret-token');
    expect(panel.fx.store.sync.alerts.settings()).toMatchObject({ hasWebhook: false, emails: [], oldestMinutes: 30, repeatMinutes: 240 });
  });

  it('shows channels set in the environment read-only, never the URL', async () => {
    const { app } = alertsPanel({
      RELAY365_ALERT_WEBHOOK_URL: `https://hooks.example.test${SECRET_PATH}`,
      RELAY365_ALERT_EMAIL: 'noc@contoso.test',
    });
    const agent = await agentFor(app, 'admin@contoso.test', { superAdmin: true });
    const page = await agent.get('/alerts');
    expect(visibleText(page.text)).toContain('Set by RELAY365_ALERT_WEBHOOK_URL.');
    expect(visibleText(page.text)).toContain('Set by RELAY365_ALERT_EMAIL: noc@contoso.test');
    expect(page.text).not.toContain('very-secret-token');
    expect(page.text).not.toContain('name="webhookUrl"');
    await agent.post('/alerts', { ...FORM, webhookUrl: 'https://other.example.test/x', emails: 'ops@contoso.test' });
    expect(panel.fx.store.sync.alerts.settings()).toMatchObject({ hasWebhook: false, emails: [] });
  });

  it('refuses changes and test alerts to users without Settings: Update Settings', async () => {
    const { app } = alertsPanel();
    const agent = await agentFor(app, 'viewer@contoso.test', {});
    const page = await agent.get('/alerts');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('Save alert settings');
    expect(page.text).not.toContain('action="/alerts/test"');
    expect((await agent.post('/alerts', { ...FORM, emails: 'ops@contoso.test' })).status).toBe(403);
    expect((await agent.post('/alerts/test')).status).toBe(403);
    expect(panel.fx.store.sync.alerts.settings().emails).toEqual([]);
  });

  it('sends a test alert on every channel and reports each one', async () => {
    const { app } = alertsPanel();
    receiver = await startWebhookReceiver(SECRET_PATH);
    panel.fx.store.sync.alerts.saveSettings({ webhookUrl: receiver.url, emails: ['ops@contoso.test'] }, panel.clock.now);
    const agent = await agentFor(app, 'admin@contoso.test', { superAdmin: true });
    const sent = await agent.post('/alerts/test');
    expect(sent.status).toBe(303);
    const page = visibleText((await agent.get(sent.location as string)).text);
    expect(page).toContain('Webhook: sent. The webhook accepted the test notice.');
    expect(page).toMatch(/Email: sent\. Queued as [0-9A-Z]+ through upstream to ops@contoso\.test/);
    expect(receiver.posts).toMatchObject([{ status: 'test', title: 'Test alert from relay365' }]);
    const queued = panel.fx.store.sync.queue.list({ limit: 10 }).filter((m) => m.route === ALERT_ROUTE);
    expect(queued).toMatchObject([{ subject: '[relay365] TEST: Test alert from relay365', status: 'queued' }]);

    // A failing webhook is reported with its reason, never its URL.
    await receiver.close();
    receiver = await startWebhookReceiver(SECRET_PATH, 500);
    panel.fx.store.sync.alerts.saveSettings({ webhookUrl: receiver.url, emails: [] }, panel.clock.now);
    const again = await agent.post('/alerts/test');
    const failed = visibleText((await agent.get(again.location as string)).text);
    expect(failed).toContain('Webhook: failed. Not delivered: webhook answered HTTP 500.');
    expect(failed).toContain('Email: not set. No admin email address is set.');
    expect(failed).not.toContain('very-secret-token');
  });

  it('says that no channel is set when Send test alert has nowhere to send, on the page and in the log', async () => {
    const lines: string[] = [];
    const { app } = alertsPanel(
      {},
      createLogger('debug', (line) => lines.push(line)),
    );
    const agent = await agentFor(app, 'admin@contoso.test', { superAdmin: true });
    const sent = await agent.post('/alerts/test');
    const page = visibleText((await agent.get(sent.location as string)).text);
    expect(page).toContain('No test alert was sent: no alert channel is set. Enter a webhook URL or admin email addresses');
    const log = lines.join('');
    expect(log).toContain('test alert not sent: no alert channel is set');
    expect(log).not.toContain('"msg":"test alert sent"');
  });

  it('lists the alerts that fire now and the recent ones', async () => {
    const { app, alerts } = alertsPanel();
    const server = panel.fx.store.sync.servers.list()[0]!;
    panel.fx.store.sync.servers.setStatus(server.id, {
      status: 'error',
      code: '5.7.3',
      message: '535 5.7.3 Authentication unsuccessful',
    });
    await alerts.evaluateNow();
    const agent = await agentFor(app, 'viewer@contoso.test', {});
    const page = visibleText((await agent.get('/alerts')).text);
    expect(page).toContain('Email server upstream cannot authenticate');
    expect(page).toContain('Microsoft code: 5.7.3');
    expect(page).toMatch(/How to fix it: Check that Mailbox is the signed-in account/);
    expect(page).toMatch(/Recent alerts .*Email server upstream cannot authenticate \(5\.7\.3\) fired .* firing/);
  });
});
