import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { latestEventId } from '../../src/admin/event-cursor.js';
import type { NewMessage } from '../../src/store/queue.js';
import { plainServer, queuedMessage } from '../helpers/fixture.js';
import { createPanel, signedIn, visibleText, type Panel } from './panel.js';

let panel: Panel;
afterEach(() => panel?.cleanup());

const T0 = Date.parse('2030-05-01T10:00:00Z');
/** Exchange Online's answer for a From the mailbox may not send as, with its unbreakable diagnostics. */
const SEND_AS_DENIED =
  '554 5.2.252 SendAsDenied; relay@contoso.com not allowed to send as erp@contoso.com; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message.[EndDiagnosticData] [Hostname=AM0PR01MB1234.eurprd01.prod.exchangelabs.com]';

function message(id: string, serverId: number, minutes: number, from: string, to: string[], subject: string): NewMessage {
  return queuedMessage(id, serverId, {
    mailFrom: from,
    recipients: to,
    size: 2048,
    subject,
    clientAddress: '10.0.0.5',
    receivedAt: T0 + minutes * 60_000,
    expiresAt: T0 + 1e9,
  });
}

function seed(p: Panel): void {
  const { servers, queue } = p.fx.store.sync;
  servers.add(plainServer({ name: 'o365', method: 'office365' }));
  servers.add(plainServer({ name: 'smarthost' }));
  queue.insert([
    message('OLD1', 1, 0, 'erp@contoso.com', ['alice@fabrikam.com'], 'Invoice 1'),
    message('MID2', 2, 1, 'printer@contoso.com', ['bob@fabrikam.com', 'carol@fabrikam.com'], 'Scan'),
    message('NEW3', 1, 2, 'erp@contoso.com', ['dave@fabrikam.com'], 'Invoice 2'),
  ]);
  queue.recordAttempt(
    'OLD1',
    { kind: 'done', delivered: [{ address: 'alice@fabrikam.com', reply: '250 2.0.0 OK <x> [Hostname=EXCH]' }], failed: [] },
    T0 + 30_000,
  );
  queue.recordAttempt(
    'NEW3',
    { kind: 'hold', reply: '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.' },
    T0 + 150_000,
  );
}

describe('relay log', () => {
  it('lists messages newest first with time, status, sender, recipients, subject, size, last reply, server and client', async () => {
    panel = createPanel();
    seed(panel);
    const agent = await signedIn(panel, 'viewer@example.com');
    const text = visibleText((await agent.get('/log')).text);
    expect(text).toContain('Time Status Sender and recipients Subject Last upstream reply Server and client');
    expect(text.indexOf('Invoice 2')).toBeLessThan(text.indexOf('Scan'));
    expect(text.indexOf('Scan')).toBeLessThan(text.indexOf('Invoice 1'));
    expect(text).toContain('2030-05-01 10:02:00 UTC held erp@contoso.com to dave@fabrikam.com Invoice 2 2.0 KB 535 5.7.139');
    expect(text).toContain('queued printer@contoso.com to bob@fabrikam.com, carol@fabrikam.com Scan 2.0 KB smarthost from 10.0.0.5');
    expect(text).toContain('delivered erp@contoso.com to alice@fabrikam.com Invoice 1 2.0 KB 250 2.0.0 OK <x> [Hostname=EXCH] o365');
  });

  it('cuts a long reply short in the list with the whole text one click away, and names at most three recipients', async () => {
    panel = createPanel();
    seed(panel);
    const many = Array.from({ length: 5 }, (_, i) => `person${i}@fabrikam.com`);
    panel.fx.store.sync.queue.insert([message('LONG4', 1, 3, 'erp@contoso.com', many, 'Invoice 4')]);
    panel.fx.store.sync.queue.recordAttempt(
      'LONG4',
      { kind: 'done', delivered: [], failed: many.map((address) => ({ address, reply: SEND_AS_DENIED })) },
      T0,
    );
    const agent = await signedIn(panel, 'viewer@example.com');
    const html = (await agent.get('/log')).text;
    const details = /<details class="whole-reply"><summary><span class="preview">([^<]*)<\/span>.*?<\/summary>([^<]*)<\/details>/.exec(
      html,
    );
    expect(details?.[1]).toBe('554 5.2.252 SendAsDenied; relay@contoso.com not allowed to send as erp@contoso.com;…');
    expect(details?.[2]).toBe(SEND_AS_DENIED);
    expect(visibleText(html)).toContain(
      'erp@contoso.com to person0@fabrikam.com, person1@fabrikam.com, person2@fabrikam.com and 2 more Invoice 4',
    );
  });

  it.each([
    ['server=2', ['Scan'], ['Invoice']],
    ['status=held', ['Invoice 2'], ['Scan', 'Invoice 1']],
    ['sender=printer', ['Scan'], ['Invoice']],
    ['recipient=alice', ['Invoice 1'], ['Scan', 'Invoice 2']],
    ['recipient=ALICE%40', ['Invoice 1'], ['Scan', 'Invoice 2']],
    ['recipient=fabrikam', [], ['Invoice 1', 'Scan', 'Invoice 2']],
    ['server=1&status=delivered', ['Invoice 1'], ['Scan', 'Invoice 2']],
  ])('filters by %s', async (query, shown, hidden) => {
    panel = createPanel();
    seed(panel);
    const agent = await signedIn(panel, 'viewer@example.com');
    const text = visibleText((await agent.get(`/log?${query}`)).text).split('Live events')[0]!;
    for (const s of shown) expect(text).toContain(s);
    for (const s of hidden) expect(text).not.toContain(s);
  });

  it('shows the database size in MB with the number of messages kept and the retention', async () => {
    panel = createPanel();
    seed(panel);
    const agent = await signedIn(panel, 'viewer@example.com');
    const text = visibleText((await agent.get('/log')).text);
    const file = path.join(panel.fx.dir, 'relay365.db');
    const bytes = statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
    expect(bytes).toBeGreaterThan(0);
    expect(text).toContain(
      `Database ${(bytes / 1024 / 1024).toFixed(1)} MB, 3 messages kept; delivered and failed mail is deleted after 30 days (RELAY365_RETENTION_DAYS).`,
    );
    expect(text).toContain('Sender and recipient match addresses that start with the text given, in any case.');
  });

  it('shows the fix for a reply once, however many recipients got it', async () => {
    panel = createPanel();
    seed(panel);
    const to = ['alice@fabrikam.com', 'bob@fabrikam.com'];
    panel.fx.store.sync.queue.insert([message('DENY5', 1, 4, 'erp@contoso.com', to, 'Invoice 5')]);
    panel.fx.store.sync.queue.recordAttempt(
      'DENY5',
      { kind: 'done', delivered: [], failed: to.map((address) => ({ address, reply: SEND_AS_DENIED })) },
      T0,
    );
    const agent = await signedIn(panel, 'viewer@example.com');
    const text = visibleText((await agent.get('/log/DENY5')).text);
    expect(text.split('Set From Address Handling to rewrite')).toHaveLength(2);
    expect(text).toContain(`Last upstream reply ${SEND_AS_DENIED} What to do The mailbox may not send as this From address. Fix: Set From`);
    expect(text).toContain(
      'alice@fabrikam.com failed the last upstream reply, above bob@fabrikam.com failed the last upstream reply, above',
    );
  });

  it('shows a message with its events, replies and the fix for Microsoft replies', async () => {
    panel = createPanel();
    seed(panel);
    const agent = await signedIn(panel, 'admin@example.com', { updateSettings: true });
    const page = await agent.get('/log/NEW3');
    const text = visibleText(page.text);
    expect(text).toContain('received from erp@contoso.com to 1 recipient(s), 2048 bytes');
    expect(text).toContain('held 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.');
    expect(text).toContain('SMTP AUTH is disabled for the mailbox or tenant. Fix: Enable Authenticated SMTP for the mailbox');
    expect(text).toContain('Retry now');
    expect(page.text).toContain('action="/log/NEW3/delete"');
    expect(visibleText((await agent.get('/log/OLD1')).text)).not.toContain('Retry now');
    expect((await agent.get('/log/NOPE')).status).toBe(404);
  });

  it('retries and deletes waiting mail through the relay', async () => {
    panel = createPanel();
    seed(panel);
    const agent = await signedIn(panel, 'admin@example.com', { updateSettings: true });
    await agent.get('/log/NEW3');
    const retry = await agent.post('/log/NEW3/retry');
    expect(retry.location).toBe('/log/NEW3');
    expect(panel.relay.retryNow).toHaveBeenCalledWith('NEW3');
    expect(visibleText((await agent.get('/log/NEW3')).text)).toContain('The message will be retried now.');
    const del = await agent.post('/log/NEW3/delete');
    expect(del.location).toBe('/log');
    expect(panel.relay.deleteMessage).toHaveBeenCalledWith('NEW3');
  });

  it('streams new queue events as server-sent events, starting after the newest', async () => {
    panel = createPanel();
    seed(panel);
    const agent = await signedIn(panel, 'viewer@example.com');
    const latest = await latestEventId(panel.fx.store.queue);
    expect(latest).toBe(panel.fx.store.sync.queue.eventsSince(0, 1000).at(-1)!.id);
    expect((await agent.get('/log')).text).toContain(`data-after="${latest}"`);

    const res = await panel.app.request(`/log/events?after=${latest}`, {
      headers: { cookie: [...agent.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    panel.fx.store.sync.queue.addEvent('MID2', 2, 'deferred', '451 4.7.500 Server busy', Date.now());
    let received = '';
    while (!received.includes('\n\n')) received += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(received).toContain(`id: ${latest + 1}`);
    expect(received).toContain('event: queue');
    const data = JSON.parse(/data: (.*)/.exec(received)![1]!);
    expect(data).toMatchObject({ kind: 'deferred', messageId: 'MID2', server: 'smarthost', detail: '451 4.7.500 Server busy' });
  });
});

describe('send test email', () => {
  it('sends through the relay and shows the reply and the SMTP conversation', async () => {
    panel = createPanel();
    panel.fx.store.sync.servers.add(plainServer({ name: 'o365', method: 'office365', mailbox: 'relay@contoso.com' }));
    const agent = await signedIn(panel, 'admin@example.com', { updateSettings: true });
    const page = await agent.get('/servers/1');
    expect(page.text).toContain('value="relay@contoso.com"');
    const posted = await agent.post('/servers/1/test', { to: 'alice@fabrikam.com', subject: 'Hello', body: 'Testing' });
    expect(posted.status).toBe(303);
    const res = await agent.get(posted.location!);
    expect(res.status).toBe(200);
    expect(panel.relay.sendTest).toHaveBeenCalledWith(
      1,
      { to: 'alice@fabrikam.com', subject: 'Hello', body: 'Testing' },
      expect.any(Function),
    );
    const text = visibleText(res.text);
    expect(text).toContain('Test email sent. 250 2.0.0 OK');
    expect(text).toContain('S: 235 2.7.0 Authentication successful');
  });

  it('shows a failure with what it means and the fix', async () => {
    panel = createPanel();
    panel.relay.sendTest.mockResolvedValue({
      ok: false,
      reply: '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.',
      transcript: ['S: 220 EXCH ready', 'C: AUTH XOAUTH2 (token hidden)', 'S: 535 5.7.139 Authentication unsuccessful'],
      hint: { meaning: 'SMTP AUTH is disabled for the mailbox or tenant', fix: 'Enable Authenticated SMTP for the mailbox.' },
      messageId: 'TEST2',
    });
    panel.fx.store.sync.servers.add(plainServer({ name: 'o365', method: 'office365' }));
    const agent = await signedIn(panel, 'admin@example.com', { updateSettings: true });
    const posted = await agent.post('/servers/1/test', { to: 'alice@fabrikam.com', subject: 'Hello', body: '' });
    const text = visibleText((await agent.get(posted.location!)).text);
    expect(text).toContain('Test email failed. 535 5.7.139');
    expect(text).toContain('What it means: SMTP AUTH is disabled for the mailbox or tenant');
    expect(text).toContain('How to fix it: Enable Authenticated SMTP for the mailbox.');
    expect(text).toContain('C: AUTH XOAUTH2 (token hidden)');
  });

  it('asks for a valid recipient before sending', async () => {
    panel = createPanel();
    panel.fx.store.sync.servers.add(plainServer({ name: 'o365', method: 'office365' }));
    const agent = await signedIn(panel, 'admin@example.com', { updateSettings: true });
    const res = await agent.post('/servers/1/test', { to: 'nobody', subject: 'x' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('id="test-to-error"');
    expect(panel.relay.sendTest).not.toHaveBeenCalled();
  });
});
