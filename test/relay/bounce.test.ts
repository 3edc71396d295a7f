import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/commands.js';
import { buildNotice, isAutomatic, NOTICE_ROUTE, statusCode } from '../../src/relay/bounce.js';
import type { ServerSettings } from '../../src/store/servers.js';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import type { ReceivedMessage } from '../emulator/exchange-types.js';
import { startHarness, testMessage, type Harness } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

const SENDER = 'erp@fabrikam.test';
const HOUR = 60 * 60_000;

let signingKey: SigningKey;
let h: Harness | undefined;

beforeAll(async () => {
  signingKey = await createSigningKey();
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const setup = async (server: Partial<ServerSettings> = {}): Promise<Harness> => {
  h = await startHarness({ signingKey, server });
  return h;
};

/** A message whose From the mailbox may not send as: Exchange answers 554 5.2.252 SendAsDenied after DATA. */
const notAllowed = (subject: string, extraHeaders = ''): string =>
  `From: Jane <jane@fabrikam.test>\r\nTo: alice@fabrikam.test\r\nSubject: ${subject}\r\n${extraHeaders}MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nbody\r\n`;

interface Part {
  headers: string;
  body: string;
}

/** Unfolded header block and body of a MIME entity; quoted-printable and base64 bodies decoded. */
function entity(text: string): Part {
  const end = text.indexOf('\r\n\r\n');
  const headers = text.slice(0, end).replace(/\r\n(?=[ \t])/g, '');
  const raw = text.slice(end + 4);
  const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(headers)?.[1]?.toLowerCase();
  const body =
    encoding === 'base64'
      ? Buffer.from(raw, 'base64').toString('utf8')
      : encoding === 'quoted-printable'
        ? Buffer.from(
            raw.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
            'latin1',
          ).toString('utf8')
        : raw;
  return { headers, body };
}

/** The notice's top-level headers and its parts, in order. */
function parseReport(raw: Buffer): { headers: string; parts: Part[] } {
  const top = entity(raw.toString('latin1'));
  const boundary = /boundary="?([^";\s]+)"?/i.exec(top.headers)?.[1] as string;
  const sections = top.body.split(`--${boundary}`).slice(1, -1);
  return { headers: top.headers, parts: sections.map((s) => entity(s.replace(/^\r\n/, '').replace(/\r\n$/, ''))) };
}

/** The per-recipient blocks of a `message/delivery-status` body, each as field → value. */
function recipientBlocks(body: string): Record<string, string>[] {
  const blocks = body
    .replace(/\r\n(?=[ \t])/g, '')
    .trim()
    .split(/\r\n\r\n/);
  return blocks.slice(1).map((block) =>
    Object.fromEntries(
      block.split('\r\n').map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon), line.slice(colon + 1).trim()];
      }),
    ),
  );
}

const noticesTo = (harness: Harness, address: string): ReceivedMessage[] =>
  harness.emu.exchange.messages.filter((m) => m.rcptTo.includes(address) && /multipart\/report/i.test(m.raw.toString('latin1')));

const statusOf = (harness: Harness, id: string) => harness.fx.store.sync.queue.get(id)?.status;

describe('delivery status notifications', () => {
  it('sends the envelope sender one RFC 3464 report for a SendAsDenied message, through the same mailbox', async () => {
    const harness = await setup();
    const id = await harness.submit(notAllowed('Invoice 42'), ['alice@fabrikam.test'], SENDER);
    const [notice] = await harness.emu.exchange.waitForMessages(1, 10_000);
    expect(notice).toMatchObject({ mailFrom: SEED.mailbox, rcptTo: [SENDER], mailbox: SEED.mailbox });
    expect(statusOf(harness, id)).toBe('failed');

    const report = parseReport(notice!.raw);
    expect(report.headers).toMatch(/^Content-Type: multipart\/report; report-type=delivery-status;/m);
    expect(report.headers).toMatch(/^Auto-Submitted: auto-replied$/m);
    expect(report.headers).toMatch(/^From: relay@contoso\.test$/m);
    expect(report.headers).toMatch(/^To: erp@fabrikam\.test$/m);
    expect(report.headers).toMatch(/^Subject: Undeliverable: Invoice 42$/m);
    const [text, status, original] = report.parts;
    expect(report.parts.map((p) => /^Content-Type: ([^;\r\n]+)/m.exec(p.headers)?.[1])).toEqual([
      'text/plain',
      'message/delivery-status',
      'text/rfc822-headers',
    ]);
    expect(text!.body).toContain('alice@fabrikam.test');
    expect(text!.body).toMatch(/Reply: 554 5\.2\.252 SendAsDenied/);
    expect(text!.body).toContain('Set From Address Handling to rewrite');
    expect(status!.body).toMatch(/^Reporting-MTA: dns; \S+\r\n/);
    expect(status!.body).toMatch(/^Arrival-Date: \w{3}, \d{2} \w{3} \d{4} /m);
    const [recipient, ...others] = recipientBlocks(status!.body);
    expect(others).toEqual([]);
    expect(recipient).toMatchObject({
      'Final-Recipient': 'rfc822; alice@fabrikam.test',
      Action: 'failed',
      Status: '5.2.252',
      'Remote-MTA': 'dns; localhost',
      'Diagnostic-Code': expect.stringMatching(
        /^smtp; 554 5\.2\.252 SendAsDenied; relay@contoso\.test not allowed to send as jane@fabrikam\.test/,
      ),
    });
    expect(original!.body).toMatch(/^Received: from /);
    expect(original!.body).toContain('Subject: Invoice 42\r\n');
    expect(original!.body).not.toContain('body');

    // The log: an event on the original naming the notice and its recipient; the notice is a message of its own.
    const [noticeMessage] = harness.fx.store.sync.queue.list().filter((m) => m.route === NOTICE_ROUTE);
    expect(noticeMessage).toMatchObject({ mailFrom: SEED.mailbox, subject: 'Undeliverable: Invoice 42' });
    await waitFor(() => statusOf(harness, noticeMessage!.id) === 'delivered', 'notice delivered');
    const events = harness.fx.store.sync.queue.events(id);
    expect(events.filter((e) => e.kind === 'notice').map((e) => e.detail)).toEqual([
      `delivery status notification ${noticeMessage!.id} to ${SENDER}`,
    ]);
    const shown: string[] = [];
    await runCommand(harness.fx.store, 'queue', ['show', id], (line) => shown.push(line));
    expect(shown.join('\n')).toContain(`notice: delivery status notification ${noticeMessage!.id} to ${SENDER}`);
  });

  it('names only the recipients that failed when Microsoft refuses some of them', async () => {
    const harness = await setup();
    harness.emu.exchange.rejectRecipient('ghost@fabrikam.test');
    const id = await harness.submit(testMessage('partly'), ['alice@fabrikam.test', 'ghost@fabrikam.test'], SENDER);
    await waitFor(() => noticesTo(harness, SENDER)[0], 'notice', 10_000);
    expect(statusOf(harness, id)).toBe('delivered');
    const report = parseReport(noticesTo(harness, SENDER)[0]!.raw);
    expect(recipientBlocks(report.parts[1]!.body)).toEqual([
      expect.objectContaining({ 'Final-Recipient': 'rfc822; ghost@fabrikam.test', Action: 'failed', Status: '5.1.10' }),
    ]);
    expect(report.parts[0]!.body).not.toContain('alice@fabrikam.test');
  });

  it.each([
    ['a null envelope sender', notAllowed('no sender'), ''],
    ['Auto-Submitted mail', notAllowed('out of office', 'Auto-Submitted: auto-replied\r\n'), SENDER],
    ['Auto-Submitted with odd spacing', notAllowed('generated', 'auto-submitted :  auto-generated (cron)\r\n'), SENDER],
    [
      'a report',
      `From: Jane <jane@fabrikam.test>\r\nTo: alice@fabrikam.test\r\nSubject: report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n`,
      SENDER,
    ],
  ])('sends no notice for %s', async (_what, raw, from) => {
    const harness = await setup();
    const id = await harness.submit(raw, ['alice@fabrikam.test'], from);
    await waitFor(() => statusOf(harness, id) === 'failed', 'failed');
    expect(harness.fx.store.sync.queue.get(id)?.mailFrom).toBe(from);
    // A notice is owed in the transaction that fails the message: none now means none ever.
    expect(harness.fx.store.sync.queue.notices.has(id, 'failed')).toBe(false);
    expect(harness.fx.store.sync.queue.list().map((m) => m.id)).toEqual([id]);
  });

  it('sends none when the server has Bounce Notices off', async () => {
    const harness = await setup({ bounceNotices: 'off' });
    const id = await harness.submit(notAllowed('quiet'), ['alice@fabrikam.test'], SENDER);
    await waitFor(() => statusOf(harness, id) === 'failed', 'failed');
    expect(harness.fx.store.sync.queue.notices.has(id, 'failed')).toBe(false);
    expect(harness.fx.store.sync.queue.list().map((m) => m.id)).toEqual([id]);
  });

  it("sends none for relay365's own alert and test emails", async () => {
    const harness = await setup();
    harness.emu.exchange.rejectRecipient('admin@fabrikam.test');
    const alert = await harness.relay.enqueueAlert(harness.serverId(), { to: ['admin@fabrikam.test'], subject: 'alert', text: 'x' });
    const test = await harness.relay.sendTest(harness.serverId(), { to: 'admin@fabrikam.test', subject: 'test', body: 'x' });
    expect(test.ok).toBe(false);
    await waitFor(() => statusOf(harness, alert) === 'failed' && statusOf(harness, test.messageId!) === 'failed', 'both failed');
    expect(harness.fx.store.sync.queue.list()).toHaveLength(2);
    expect(harness.fx.store.sync.queue.notices.owed()).toEqual([]);
  });

  it('does not answer a notice that fails with another one', async () => {
    const harness = await setup();
    harness.emu.exchange.rejectRecipient(SENDER);
    const id = await harness.submit(notAllowed('loop'), ['alice@fabrikam.test'], SENDER);
    const notice = await waitFor(() => harness.fx.store.sync.queue.list().find((m) => m.route === NOTICE_ROUTE), 'notice queued');
    await waitFor(() => statusOf(harness, notice.id) === 'failed', 'notice failed');
    await harness.relay.scheduler.idle();
    expect(harness.fx.store.sync.queue.notices.has(notice.id, 'failed')).toBe(false);
    expect(
      harness.fx.store.sync.queue
        .list()
        .map((m) => m.id)
        .sort(),
    ).toEqual([id, notice.id].sort());
    expect(harness.emu.exchange.messages).toEqual([]);
  });

  it('queues a notice left owed by a crash at the next start, and never sends one twice across restarts', async () => {
    const harness = await setup({ bounceNotices: 'off' });
    const id = await harness.submit(notAllowed('crash'), ['alice@fabrikam.test'], SENDER);
    await waitFor(() => statusOf(harness, id) === 'failed', 'failed');
    // The state a crash leaves between recording the failure and queueing its notice.
    harness.fx.store.sync.queue.notices.owe({
      messageId: id,
      kind: 'failed',
      noticeId: 'NOTICE1',
      headers: Buffer.from('Subject: crash\r\n'),
      owedAt: harness.now(),
    });
    await harness.restart();
    await waitFor(() => statusOf(harness, 'NOTICE1') === 'delivered', 'notice delivered after the restart');
    expect(noticesTo(harness, SENDER)).toHaveLength(1);

    // A crash after the notice was queued, before it was marked: the next start finds it queued.
    harness.fx.store.db.prepare(`UPDATE notices SET done_at = NULL`).run();
    harness.fx.store.db.prepare(`DELETE FROM events WHERE kind = 'notice'`).run();
    await harness.restart();
    await waitFor(() => harness.fx.store.sync.queue.notices.owed().length === 0, 'nothing owed');
    await harness.restart();
    await harness.relay.scheduler.idle();
    expect(harness.fx.store.sync.queue.events(id).filter((e) => e.kind === 'notice')).toHaveLength(1);
    expect(harness.fx.store.sync.queue.list().filter((m) => m.route === NOTICE_ROUTE)).toHaveLength(1);
    expect(noticesTo(harness, SENDER)).toHaveLength(1);
  });

  it('sends exactly one delay notice with Delay Notices on, once mail has waited more than 4 hours', async () => {
    const harness = await setup({ delayNotices: 'on' });
    harness.emu.exchange.rejectRecipient('alice@fabrikam.test', '451 4.2.1 Mailbox busy, try again later');
    const id = await harness.submit(testMessage('slow'), ['alice@fabrikam.test'], SENDER);
    // Retries after 1, 5, 15, 30, 60, 120 and 240 minutes: the eighth attempt comes after 7 h 51 min, the ninth 4 h later.
    for (let attempt = 1; attempt <= 9; attempt++) {
      await waitFor(
        () => harness.fx.store.sync.queue.get(id)?.attempts === attempt && statusOf(harness, id) === 'deferred',
        `attempt ${attempt}`,
      );
      const waited = harness.now() - harness.fx.store.sync.queue.get(id)!.receivedAt;
      expect(harness.fx.store.sync.queue.notices.has(id, 'delayed')).toBe(waited >= 4 * HOUR);
      await waitFor(() => harness.fx.store.sync.queue.notices.owed().length === 0, 'owed notices queued');
      await harness.advance(harness.fx.store.sync.queue.get(id)!.nextAttemptAt - harness.now());
    }
    expect(harness.fx.store.sync.queue.events(id).filter((e) => e.kind === 'notice')).toHaveLength(1);
    expect(harness.fx.store.sync.queue.list().filter((m) => m.route === NOTICE_ROUTE)).toHaveLength(1);
    await waitFor(() => noticesTo(harness, SENDER).length === 1, 'delay notice');
    const report = parseReport(noticesTo(harness, SENDER)[0]!.raw);
    expect(report.headers).toMatch(/^Subject: Delivery delayed: slow$/m);
    expect(recipientBlocks(report.parts[1]!.body)).toEqual([
      expect.objectContaining({
        'Final-Recipient': 'rfc822; alice@fabrikam.test',
        Action: 'delayed',
        Status: '4.2.1',
        'Will-Retry-Until': expect.stringMatching(/\+0000$/),
      }),
    ]);
    expect(report.parts[0]!.body).toContain('you do not need to send it again');
  });

  it('sends no delay notice with Delay Notices off (the default)', async () => {
    const harness = await setup();
    harness.emu.exchange.rejectRecipient('alice@fabrikam.test', '451 4.2.1 Mailbox busy, try again later');
    const id = await harness.submit(testMessage('slow'), ['alice@fabrikam.test'], SENDER);
    for (let attempt = 1; attempt <= 8; attempt++) {
      await waitFor(
        () => harness.fx.store.sync.queue.get(id)?.attempts === attempt && statusOf(harness, id) === 'deferred',
        `attempt ${attempt}`,
      );
      await harness.advance(harness.fx.store.sync.queue.get(id)!.nextAttemptAt - harness.now());
    }
    await waitFor(() => harness.fx.store.sync.queue.get(id)?.attempts === 9, 'ninth attempt');
    expect(harness.fx.store.sync.queue.notices.has(id, 'delayed')).toBe(false);
  });
});

describe('the notice itself', () => {
  it.each([
    ['Auto-Submitted: no\r\n', false],
    ['Auto-Submitted: No (a person wrote it)\r\n', false],
    ['Auto-Submitted: auto-generated\r\n', true],
    ['Auto-Submitted:\r\n auto-replied\r\n', true],
    ['Content-Type: multipart/report;\r\n report-type=disposition-notification; boundary=x\r\n', true],
    ['Content-Type: multipart/mixed; boundary=x\r\n', false],
  ])('tells automatic mail and reports: %j → %s', (header, automatic) => {
    expect(isAutomatic(Buffer.from(`From: a@b.test\r\n${header}Subject: s\r\n`))).toBe(automatic);
  });

  it.each([
    ['failed', '554 5.2.252 SendAsDenied; …', '5.2.252'],
    ['failed', '550 Mailbox unavailable', '5.0.0'],
    ['failed', 'gave up after 12 attempts: 451 4.7.500 Server busy', '5.4.7'],
    ['failed', 'gave up after 12 attempts: connect ECONNREFUSED 127.0.0.1:587', '5.4.7'],
    ['delayed', '451 4.7.500 Server busy', '4.7.500'],
    ['delayed', 'connect ECONNREFUSED 127.0.0.1:587', '4.0.0'],
  ] as const)('gives a %s recipient with the reply %j the status %s', (kind, reply, status) => {
    expect(statusCode(kind, reply)).toBe(status);
  });

  it('writes a non-ASCII recipient in the utf-8 address form and keeps the report 7-bit', async () => {
    const raw = await buildNotice({
      kind: 'failed',
      from: 'relay@contoso.test',
      to: 'erp@fabrikam.test',
      original: {
        queueId: 'Q1',
        subject: 'Grüße',
        messageId: '<a@b>',
        receivedAt: 0,
        expiresAt: 0,
        headers: Buffer.from('Subject: Grüße\r\n'),
      },
      recipients: [{ address: 'jürgen@fabrikam.test', reply: '550 5.1.10 RecipientNotFound\r\n\tsecond line', hint: null }],
      reportingMta: 'relay.example',
      remoteMta: 'smtp.office365.com',
      date: 0,
    });
    const report = parseReport(raw);
    expect(report.headers).toMatch(/^References: <a@b>$/m);
    expect(recipientBlocks(report.parts[1]!.body)).toEqual([
      expect.objectContaining({
        'Final-Recipient': 'utf-8; j\\x{FC}rgen@fabrikam.test',
        'Diagnostic-Code': 'smtp; 550 5.1.10 RecipientNotFound second line',
      }),
    ]);
    expect(/[^\x00-\x7f]/.test(raw.toString('latin1'))).toBe(false);
    expect(report.parts[2]!.body).toBe('Subject: Grüße\r\n');
  });
});
