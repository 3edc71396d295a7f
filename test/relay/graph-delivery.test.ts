/**
 * Sending through Microsoft Graph, seen from the Microsoft 365 emulator: MIME
 * sendMail as the mailbox (or /me for Authorize Account) with To, Cc and Bcc
 * naming exactly the envelope's recipients, both sides of the one-request
 * size limit, a draft with a 10 MB attachment, Send Test Email's transcript,
 * and switching a server back to SMTP.
 */
import { randomBytes } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MIME_REQUEST_LIMIT } from '../../src/relay/graph/graph-upstream.js';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { startHarness, testMessage, type Harness } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

let signingKey: SigningKey;
let h: Harness;

beforeAll(async () => {
  signingKey = await createSigningKey();
});
afterEach(() => h.close());

const graph = { sendVia: 'graph' as const };
const status = (id: string) => h.fx.store.sync.queue.get(id)?.status;

/** A message with these header lines over a short text body. */
const withHeaders = (lines: string[], body = 'Report attached.'): string =>
  [`From: Relay <${SEED.mailbox}>`, ...lines, 'Subject: Nightly report', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body, ''].join(
    '\r\n',
  );

/** A message of exactly `size` bytes (padding in the text body). */
function messageOfSize(size: number): string {
  const head = withHeaders(['To: alice@fabrikam.test'], '');
  const line = `${'x'.repeat(76)}\r\n`;
  let body = line.repeat(Math.floor((size - head.length) / line.length));
  body += 'y'.repeat(size - head.length - body.length);
  return head + body;
}

describe('sending through Microsoft Graph', () => {
  it('sends the MIME as the mailbox with sendMail, relay365 Received: line included, one token for many messages', async () => {
    h = await startHarness({ signingKey, server: graph });
    const ids = [await h.submit(testMessage('one')), await h.submit(testMessage('two')), await h.submit(testMessage('three'))];
    const messages = await h.emu.graph.waitForMessages(3, 10_000);
    for (const m of messages) {
      expect(m).toMatchObject({ via: 'mime', mailbox: SEED.mailbox, tokenKind: 'app', principal: SEED.clientId, to: ['alice@fabrikam.test'] });
      expect(m.raw?.toString('utf8')).toMatch(/^Received: from [^]+?\(relay365\) with ESMTP id /);
    }
    expect(h.emu.graph.requests.map((r) => `${r.method} ${r.path}`)).toEqual(
      Array(3).fill(`POST /v1.0/users/${SEED.mailbox}/sendMail`),
    );
    expect(h.emu.graph.requests.every((r) => r.status === 202)).toBe(true);
    const tokens = h.emu.identity.tokenRequests.filter((r) => r.grant_type === 'client_credentials');
    expect(tokens.map((r) => r.scope)).toEqual([`${h.emu.graphUrl}/.default`]);
    expect(h.emu.exchange.messages).toHaveLength(0);
    await waitFor(() => ids.every((id) => status(id) === 'delivered'), 'all delivered');
    expect(h.fx.store.sync.queue.get(ids[0] as string)?.lastReply).toMatch(/^202 Accepted by Microsoft Graph \(request-id [0-9a-f-]+\)$/);
  });

  it('writes envelope recipients that To and Cc do not name into Bcc, each delivered once', async () => {
    h = await startHarness({ signingKey, server: graph });
    await h.submit(withHeaders(['To: Alice <alice@fabrikam.test>', 'Cc: carol@fabrikam.test']), [
      'alice@fabrikam.test',
      'carol@fabrikam.test',
      'bob@fabrikam.test',
      'Dave@Fabrikam.test',
    ]);
    const [m] = await h.emu.graph.waitForMessages(1, 10_000);
    expect(m).toMatchObject({ via: 'mime', to: ['alice@fabrikam.test'], cc: ['carol@fabrikam.test'] });
    expect([...m!.bcc].sort()).toEqual(['bob@fabrikam.test', 'dave@fabrikam.test']);
    expect([...m!.recipients].sort()).toEqual(['alice@fabrikam.test', 'bob@fabrikam.test', 'carol@fabrikam.test', 'dave@fabrikam.test']);
    const text = m!.raw!.toString('utf8');
    expect(text).toContain('\r\nTo: Alice <alice@fabrikam.test>\r\nCc: carol@fabrikam.test\r\n');
    expect(text).toMatch(/\r\nBcc: (bob@fabrikam\.test, dave@fabrikam\.test|dave@fabrikam\.test, bob@fabrikam\.test)\r\n/i);
    expect(text.slice(text.indexOf('\r\n\r\n'))).toBe('\r\n\r\nReport attached.\r\n');
  });

  it('removes a header recipient the envelope does not name, so it does not get the message', async () => {
    h = await startHarness({ signingKey, server: graph });
    const id = await h.submit(
      withHeaders(['To: alice@fabrikam.test, "Mallory, M." <mallory@fabrikam.test>', 'Cc: mallory@fabrikam.test', 'Bcc: eve@fabrikam.test']),
      ['alice@fabrikam.test'],
    );
    const [m] = await h.emu.graph.waitForMessages(1, 10_000);
    expect(m).toMatchObject({ to: ['alice@fabrikam.test'], cc: [], bcc: [], recipients: ['alice@fabrikam.test'] });
    expect(m!.raw!.toString('utf8')).not.toMatch(/mallory|eve|^Cc:|^Bcc:/im);
    await waitFor(() => status(id) === 'delivered', 'delivered');
  });

  it('sends a message whose recipients are all Bcc as JSON with only bccRecipients, keeping them private', async () => {
    h = await startHarness({ signingKey, server: graph });
    const id = await h.submit(withHeaders(['To: undisclosed-recipients:;']), ['bob@fabrikam.test', 'dave@fabrikam.test']);
    const [m] = await h.emu.graph.waitForMessages(1, 10_000);
    expect(m).toMatchObject({
      via: 'json',
      to: [],
      cc: [],
      bcc: ['bob@fabrikam.test', 'dave@fabrikam.test'],
      subject: 'Nightly report',
      body: { contentType: 'text', content: 'Report attached.\r\n' },
      from: SEED.mailbox,
      savedToSentItems: true,
    });
    await waitFor(() => status(id) === 'delivered', 'delivered');
  });

  it(`sends ${MIME_REQUEST_LIMIT} bytes of MIME in one request and one byte more through a draft`, async () => {
    h = await startHarness({ signingKey, server: graph });
    // enqueue spools the bytes as they are (no Received: line), so the sizes are exact.
    await h.enqueue(h.serverId(), messageOfSize(MIME_REQUEST_LIMIT));
    const [fits] = await h.emu.graph.waitForMessages(1, 10_000);
    expect(fits).toMatchObject({ via: 'mime' });
    expect(fits!.raw).toHaveLength(MIME_REQUEST_LIMIT);
    const over = messageOfSize(MIME_REQUEST_LIMIT + 1);
    await h.enqueue(h.serverId(), over);
    const [, drafted] = await h.emu.graph.waitForMessages(2, 10_000);
    expect(drafted).toMatchObject({ via: 'draft', to: ['alice@fabrikam.test'], subject: 'Nightly report', attachments: [] });
    expect(drafted!.body.content).toBe(over.slice(over.indexOf('\r\n\r\n') + 4));
    expect(h.emu.graph.requests.map((r) => `${r.method} ${r.route} ${r.status}`)).toEqual([
      'POST sendMail 202',
      'POST createDraft 201',
      'POST sendDraft 202',
    ]);
    expect(Math.max(...h.emu.graph.requests.map((r) => r.bytes))).toBeLessThan(4_000_000);
    expect(h.emu.graph.drafts).toHaveLength(0);
  });

  it('sends a 10 MB attachment through a draft and an upload session: same subject, body, files and recipients', async () => {
    h = await startHarness({ signingKey, server: graph });
    const big = randomBytes(10 * 1024 * 1024);
    const small = randomBytes(200_000);
    const raw = await new MailComposer({
      from: `Scanner <${SEED.mailbox}>`,
      to: 'alice@fabrikam.test',
      cc: 'carol@fabrikam.test',
      replyTo: 'helpdesk@contoso.test',
      subject: 'Scan fertig – Lieferschein',
      text: 'Plain version',
      html: '<p>Scan <b>fertig</b> <img src="cid:logo@contoso"></p>',
      headers: { 'X-Scanner-Job': '4711' },
      attachments: [
        { filename: 'Lieferschein März.pdf', content: big, contentType: 'application/pdf' },
        { filename: 'scan.csv', content: small, contentType: 'text/csv' },
        { filename: 'logo.png', content: Buffer.from('89504e47', 'hex'), contentType: 'image/png', cid: 'logo@contoso' },
      ],
    })
      .compile()
      .build();
    const id = await h.submit(raw.toString('latin1'), ['alice@fabrikam.test', 'carol@fabrikam.test', 'bob@fabrikam.test']);
    const [m] = await h.emu.graph.waitForMessages(1, 30_000);
    expect(m).toMatchObject({
      via: 'draft',
      from: SEED.mailbox,
      to: ['alice@fabrikam.test'],
      cc: ['carol@fabrikam.test'],
      bcc: ['bob@fabrikam.test'],
      subject: 'Scan fertig – Lieferschein',
      body: { contentType: 'html', content: '<p>Scan <b>fertig</b> <img src="cid:logo@contoso"></p>' },
    });
    const files = Object.fromEntries(m!.attachments.map((a) => [a.name, a]));
    expect(Object.keys(files).sort()).toEqual(['Lieferschein März.pdf', 'logo.png', 'scan.csv']);
    expect(files['Lieferschein März.pdf']).toMatchObject({ contentType: 'application/pdf', isInline: false });
    expect(files['Lieferschein März.pdf']!.bytes.equals(big)).toBe(true);
    expect(files['scan.csv']!.bytes.equals(small)).toBe(true);
    expect(files['logo.png']).toMatchObject({ contentType: 'image/png', isInline: true, contentId: 'logo@contoso' });
    const uploads = h.emu.graph.requests.filter((r) => r.route === 'upload');
    expect(uploads.length).toBeGreaterThan(3);
    expect(uploads.every((r) => !r.authorization && r.bytes <= 4 * 1024 * 1024)).toBe(true);
    expect(h.emu.graph.requests.filter((r) => r.route !== 'upload').every((r) => r.authorization)).toBe(true);
    expect(h.emu.graph.drafts).toHaveLength(0);
    await waitFor(() => status(id) === 'delivered', 'delivered');
  });

  it('sends with /me/sendMail and a delegated Graph token for Authorize Account', async () => {
    h = await startHarness({ signingKey, server: { ...graph, signInMode: 'authorize', mailbox: null } });
    await h.authorizeAccount();
    const id = await h.submit(testMessage('delegated'));
    const [m] = await h.emu.graph.waitForMessages(1, 10_000);
    expect(m).toMatchObject({ via: 'mime', tokenKind: 'delegated', principal: SEED.mailbox, mailbox: SEED.mailbox });
    expect(h.emu.graph.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1.0/me/sendMail']);
    await waitFor(() => status(id) === 'delivered', 'delivered');
  });

  it('shows the requests and Microsoft’s answers in Send Test Email, never a token', async () => {
    h = await startHarness({ signingKey, server: graph });
    const result = await h.relay.sendTest(h.serverId(), { to: 'alice@fabrikam.test', subject: 'Graph test', body: 'Testing.' });
    expect(result.ok).toBe(true);
    const requestId = h.emu.graph.requests[0] && (await h.emu.graph.waitForMessages(1)).length === 1;
    expect(requestId).toBe(true);
    expect(result.transcript[0]).toMatch(new RegExp(`^C: POST /v1\\.0/users/${SEED.mailbox}/sendMail \\(text/plain, \\d+ bytes\\)$`));
    expect(result.transcript[1]).toMatch(/^S: 202 Accepted \(request-id [0-9a-f-]{36}\)$/);
    expect(result.transcript.join('\n')).not.toMatch(/Bearer|eyJ|authorization/i);
    expect(result.reply).toMatch(/^202 Accepted by Microsoft Graph/);
  });

  it('sends via SMTP again once the server is switched back', async () => {
    h = await startHarness({ signingKey, server: graph });
    await h.submit(testMessage('via graph'));
    await h.emu.graph.waitForMessages(1, 10_000);
    h.fx.store.sync.servers.update(h.serverId(), { sendVia: 'smtp' });
    h.relay.settingsChanged();
    await h.submit(testMessage('via smtp'));
    const [m] = await h.emu.exchange.waitForMessages(1, 10_000);
    expect(m!.raw.toString('utf8')).toContain('Subject: via smtp');
    expect(h.emu.graph.messages).toHaveLength(1);
    const scopes = h.emu.identity.tokenRequests.map((r) => r.scope);
    expect(scopes).toEqual([`${h.emu.graphUrl}/.default`, 'https://outlook.office365.com/.default']);
  });
});
