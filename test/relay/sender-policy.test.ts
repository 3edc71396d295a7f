import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hintForSmtpReply } from '../../src/auth/hints.js';
import {
  allowedSenders,
  applySenderPolicy,
  headerFromAddresses,
  maySendAs,
  rewriteHeaderBlock,
  rewriteMessage,
  senderRefusal,
  type SenderRewrite,
} from '../../src/relay/sender-policy.js';
import type { EmailServer } from '../../src/store/servers.js';
import { createSigningKey, SEED, type SigningKey } from '../emulator/index.js';
import { startHarness, type Harness } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

const MAILBOX = 'relay@contoso.test';
const REWRITE: SenderRewrite = { mailbox: MAILBOX, allowed: [MAILBOX] };
/** relay365's own trace header, which begins every spool file. */
const RECEIVED =
  'Received: from erp ([127.0.0.1])\r\n\tby relay.local (relay365) with ESMTP id ABC;\r\n\tSun, 1 Mar 2026 10:00:00 +0000\r\n';

const rewrite = (block: string, policy: SenderRewrite = REWRITE): string =>
  rewriteHeaderBlock(Buffer.from(RECEIVED + block, 'utf8'), policy).toString('utf8');

describe('rewriteHeaderBlock', () => {
  it.each([
    [
      'keeps a display name in front of the mailbox',
      'From: "Jane Doe" <jane@fabrikam.test>\r\nSubject: Hi\r\n',
      'From: "Jane Doe" <relay@contoso.test>\r\nReply-To: "Jane Doe" <jane@fabrikam.test>\r\nSubject: Hi\r\n',
    ],
    [
      'writes a bare mailbox for a From without display name',
      'To: alice@fabrikam.test\r\nFrom: jane@fabrikam.test\r\nSubject: Hi\r\n',
      'To: alice@fabrikam.test\r\nFrom: relay@contoso.test\r\nReply-To: jane@fabrikam.test\r\nSubject: Hi\r\n',
    ],
    [
      'unfolds nothing but From, and copies the folded original into Reply-To',
      'DKIM-Signature: v=1; a=rsa-sha256; d=fabrikam.test;\r\n\th=from:to; b=abc\r\nFrom: "Jane Doe"\r\n <jane@fabrikam.test>\r\nTo: a@fabrikam.test\r\n',
      'DKIM-Signature: v=1; a=rsa-sha256; d=fabrikam.test;\r\n\th=from:to; b=abc\r\nFrom: "Jane Doe" <relay@contoso.test>\r\nReply-To: "Jane Doe"\r\n <jane@fabrikam.test>\r\nTo: a@fabrikam.test\r\n',
    ],
    [
      'drops the display names of a From with several authors and keeps them all in Reply-To',
      'From: Jane <jane@fabrikam.test>, Joe <joe@fabrikam.test>\r\nSender: jane@fabrikam.test\r\n',
      'From: relay@contoso.test\r\nReply-To: Jane <jane@fabrikam.test>, Joe <joe@fabrikam.test>\r\nSender: jane@fabrikam.test\r\n',
    ],
    [
      'keeps an encoded-word display name as written',
      'From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@fabrikam.test>\r\n',
      'From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <relay@contoso.test>\r\nReply-To: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@fabrikam.test>\r\n',
    ],
    [
      'drops a display name that is an address',
      'From: "ceo@contoso.test" <x@fabrikam.test>\r\n',
      'From: relay@contoso.test\r\nReply-To: "ceo@contoso.test" <x@fabrikam.test>\r\n',
    ],
    [
      'drops an encoded-word display name that decodes to an address',
      'From: =?utf-8?Q?ceo=40contoso=2Etest?= <x@fabrikam.test>\r\n',
      'From: relay@contoso.test\r\nReply-To: =?utf-8?Q?ceo=40contoso=2Etest?= <x@fabrikam.test>\r\n',
    ],
    [
      'drops a display name with a full-width at sign',
      'From: ceo＠contoso.test <x@fabrikam.test>\r\n',
      'From: relay@contoso.test\r\nReply-To: ceo＠contoso.test <x@fabrikam.test>\r\n',
    ],
    [
      'keeps an 8-bit display name byte for byte, quoted',
      'From: Jürgen Müller <juergen@fabrikam.test>\r\n',
      'From: "Jürgen Müller" <relay@contoso.test>\r\nReply-To: Jürgen Müller <juergen@fabrikam.test>\r\n',
    ],
    [
      'reads an old-style comment as the display name, as mail programs show it',
      'From: jane@fabrikam.test (Jane Doe)\r\n',
      'From: "Jane Doe" <relay@contoso.test>\r\nReply-To: jane@fabrikam.test (Jane Doe)\r\n',
    ],
    [
      'adds From: mailbox to a message without From, so Exchange can check it',
      'To: alice@fabrikam.test\r\nSubject: Hi\r\n',
      'To: alice@fabrikam.test\r\nSubject: Hi\r\nFrom: relay@contoso.test\r\n',
    ],
    [
      'keeps an existing Reply-To',
      'From: Jane <jane@fabrikam.test>\r\nReply-To: orders@fabrikam.test\r\n',
      'From: "Jane" <relay@contoso.test>\r\nReply-To: orders@fabrikam.test\r\n',
    ],
    [
      'matches header names in any case and keeps them as written',
      'FROM: jane@fabrikam.test\r\nreply-TO: orders@fabrikam.test\r\n',
      'FROM: relay@contoso.test\r\nreply-TO: orders@fabrikam.test\r\n',
    ],
    [
      'keeps LF-only line endings',
      'From: Jane <jane@fabrikam.test>\nSubject: Hi\n',
      'From: "Jane" <relay@contoso.test>\nReply-To: Jane <jane@fabrikam.test>\nSubject: Hi\n',
    ],
    [
      'adds no Reply-To for a sender without domain (cron) but keeps its display name',
      'From: Cron Daemon <root>\r\n',
      'From: "Cron Daemon" <relay@contoso.test>\r\n',
    ],
    [
      'drops a second From field',
      'From: jane@fabrikam.test\r\nSubject: Hi\r\nFrom: joe@fabrikam.test\r\n',
      'From: relay@contoso.test\r\nReply-To: jane@fabrikam.test\r\nSubject: Hi\r\n',
    ],
    [
      'ends the last header line before adding From to a block without final line ending',
      'Subject: Hi',
      'Subject: Hi\r\nFrom: relay@contoso.test\r\n',
    ],
    [
      'quotes a display name with special characters',
      'From: "Doe, Jane \\"JD\\"" <jane@fabrikam.test>\r\n',
      'From: "Doe, Jane \\"JD\\"" <relay@contoso.test>\r\nReply-To: "Doe, Jane \\"JD\\"" <jane@fabrikam.test>\r\n',
    ],
    [
      'leaves a From that already names the mailbox unchanged',
      'From: Relay <RELAY@contoso.test>\r\n',
      'From: Relay <RELAY@contoso.test>\r\n',
    ],
  ])('%s', (_behaviour, block, expected) => {
    expect(rewrite(block)).toBe(RECEIVED + expected);
  });

  it('leaves a From the mailbox may send as unchanged', () => {
    const policy = { mailbox: MAILBOX, allowed: [MAILBOX, 'billing@contoso.test'] };
    expect(rewrite('From: Billing <Billing@contoso.test>\r\n', policy)).toBe(`${RECEIVED}From: Billing <Billing@contoso.test>\r\n`);
    expect(rewrite('From: billing@contoso.test, jane@fabrikam.test\r\n', policy)).toBe(
      `${RECEIVED}From: relay@contoso.test\r\nReply-To: billing@contoso.test, jane@fabrikam.test\r\n`,
    );
  });
});

describe('headerFromAddresses', () => {
  it.each([
    ['"Jane" <jane@fabrikam.test>', 'jane@fabrikam.test'],
    ['jane@fabrikam.test', 'jane@fabrikam.test'],
    ['  jane@fabrikam.test (Jane Doe)', 'jane@fabrikam.test'],
    ['"Doe, Jane" <jane@fabrikam.test>', 'jane@fabrikam.test'],
    ['Jane (the <boss>, really) <jane@fabrikam.test>', 'jane@fabrikam.test'],
    ['Jane <Jane@Fabrikam.test>', 'Jane@Fabrikam.test'],
    ['Jane <jane@fabrikam.test (work)>', 'jane@fabrikam.test'],
    ['<@relay.fabrikam.test:jane@fabrikam.test>', 'jane@fabrikam.test'],
    ['"jane doe"@fabrikam.test', '"jane doe"@fabrikam.test'],
    ['Sales: jane@fabrikam.test, joe@fabrikam.test;', 'jane@fabrikam.test'],
    ['"Jane"\r\n <jane@fabrikam.test>', 'jane@fabrikam.test'],
    ['Undisclosed recipients:;', null],
    ['<>', null],
    ['', null],
  ])('reads %j as %j', (value, address) => {
    expect(headerFromAddresses(value)[0] ?? null).toBe(address);
  });

  it('lists every author of a From with several', () => {
    expect(headerFromAddresses('Jane <jane@fabrikam.test>, joe@fabrikam.test, Team: ann@fabrikam.test;')).toEqual([
      'jane@fabrikam.test',
      'joe@fabrikam.test',
      'ann@fabrikam.test',
    ]);
  });
});

describe('reject helpers', () => {
  const server = {
    name: 'Office 365',
    mailbox: 'Relay@Contoso.com',
    authorizedAccount: null,
    sendAs: ['sales@contoso.com', 'relay@contoso.com'],
  };

  it('allows the mailbox and the Send As Addresses, lower-cased', () => {
    expect(allowedSenders(server)).toEqual(['relay@contoso.com', 'sales@contoso.com']);
    expect(allowedSenders({ mailbox: null, authorizedAccount: 'Jane@Contoso.com', sendAs: [] })).toEqual(['jane@contoso.com']);
    expect(maySendAs(server, 'SALES@contoso.com')).toBe(true);
    expect(maySendAs(server, 'jane@fabrikam.test')).toBe(false);
  });

  it('names whom to send as in the refusal', () => {
    expect(senderRefusal({ ...server, sendAs: [] }, 'x@fabrikam.test')).toBe(
      'Sender <x@fabrikam.test> is not allowed through Office 365: send as relay@contoso.com',
    );
    expect(senderRefusal({ ...server, sendAs: ['a@contoso.com', 'b@contoso.com'] }, 'x@fabrikam.test')).toBe(
      'Sender <x@fabrikam.test> is not allowed through Office 365: send as relay@contoso.com, a@contoso.com or b@contoso.com',
    );
    expect(senderRefusal({ ...server, mailbox: null, sendAs: [] }, 'x@fabrikam.test\r\n')).toBe(
      'Sender <x@fabrikam.test> is not allowed through Office 365: no sender is allowed until Mailbox or Send As Addresses are set',
    );
  });
});

/** A message with a body long enough to span many chunks, mentioning From: where only headers count. */
function longMessage(bodyBytes: number): { input: Buffer; expected: Buffer } {
  const body = `\r\nFrom: body line that is no header\r\n\r\n${'Grüße, 0123456789 abcdefghij\r\n'.repeat(Math.ceil(bodyBytes / 32))}`;
  const head = `${RECEIVED}Message-ID: <long@fabrikam.test>\r\nFrom: Jane <jane@fabrikam.test>\r\nSubject: long\r\n`;
  const rewritten = `${RECEIVED}Message-ID: <long@fabrikam.test>\r\nFrom: "Jane" <relay@contoso.test>\r\nReply-To: Jane <jane@fabrikam.test>\r\nSubject: long\r\n`;
  return { input: Buffer.from(head + body), expected: Buffer.from(rewritten + body) };
}

/** Where two byte strings first differ (-1: identical); cheaper than a deep compare of megabytes. */
function firstDifference(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  const end = Math.min(a.length, b.length);
  for (let i = 0; i < end; i++) if (a[i] !== b[i]) return i;
  return end;
}

function chunked(bytes: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

describe('rewriteMessage', () => {
  it('rewrites the header block when the message arrives one byte at a time', async () => {
    const { input, expected } = longMessage(20_000);
    expect(firstDifference(await buffer(rewriteMessage(chunked(input, 1), REWRITE)), expected)).toBe(-1);
  });

  it('passes a large body through unchanged in spool-sized chunks', async () => {
    const { input, expected } = longMessage(5 * 1024 * 1024);
    expect(firstDifference(await buffer(rewriteMessage(chunked(input, 65_536), REWRITE)), expected)).toBe(-1);
    // The empty line split across two chunks, LF-only.
    const lf = Buffer.from('From: jane@fabrikam.test\n\nbody\n');
    const cut = lf.indexOf('\n\n') + 1;
    const source = Readable.from([lf.subarray(0, cut), lf.subarray(cut)]);
    expect((await buffer(rewriteMessage(source, REWRITE))).toString()).toBe(
      'From: relay@contoso.test\nReply-To: jane@fabrikam.test\n\nbody\n',
    );
  });

  it('rewrites a message that is all headers', async () => {
    const input = Buffer.from(`${RECEIVED}From: jane@fabrikam.test\r\n`);
    expect((await buffer(rewriteMessage(chunked(input, 7), REWRITE))).toString()).toBe(
      `${RECEIVED}From: relay@contoso.test\r\nReply-To: jane@fabrikam.test\r\n`,
    );
  });

  it('passes a header block over 64 KiB through unchanged', async () => {
    const input = Buffer.from(
      `${RECEIVED}${'X-Filler: 0123456789012345678901234567890123456789\r\n'.repeat(1500)}From: jane@fabrikam.test\r\n\r\nbody\r\n`,
    );
    expect(firstDifference(await buffer(rewriteMessage(chunked(input, 1000), REWRITE)), input)).toBe(-1);
  });
});

describe('applySenderPolicy', () => {
  const server = (overrides: Partial<EmailServer>): Pick<EmailServer, 'fromHandling' | 'mailbox' | 'authorizedAccount' | 'sendAs'> => ({
    fromHandling: 'rewrite',
    mailbox: MAILBOX,
    authorizedAccount: null,
    sendAs: [],
    ...overrides,
  });
  const original = Buffer.from(`${RECEIVED}From: jane@fabrikam.test\r\n\r\nbody\r\n`);
  let opened = 0;
  const open = (): Readable => {
    opened++;
    return Readable.from([original]);
  };

  it('sends as the mailbox with a fresh rewritten stream on every call', async () => {
    opened = 0;
    const out = applySenderPolicy(server({}), 'jane@fabrikam.test', open);
    expect(out.from).toBe(MAILBOX);
    const first = await buffer(out.raw());
    expect(await buffer(out.raw())).toEqual(first);
    expect(opened).toBe(2);
    expect(first.toString()).toBe(`${RECEIVED}From: relay@contoso.test\r\nReply-To: jane@fabrikam.test\r\n\r\nbody\r\n`);
  });

  it.each([
    ['keep', server({ fromHandling: 'keep' }), 'jane@fabrikam.test'],
    ['reject', server({ fromHandling: 'reject' }), 'jane@fabrikam.test'],
    ['rewrite without a mailbox yet', server({ mailbox: null }), 'jane@fabrikam.test'],
  ])('sends the message as received under %s', async (_what, settings, from) => {
    const out = applySenderPolicy(settings, 'jane@fabrikam.test', open);
    expect(out.from).toBe(from);
    expect(await buffer(out.raw())).toEqual(original);
  });

  it('keeps a null sender null, so a bounce cannot loop', () => {
    expect(applySenderPolicy(server({ mailbox: null, authorizedAccount: MAILBOX }), '', open).from).toBe('');
  });
});

describe('From Address Handling against Microsoft 365', () => {
  let signingKey: SigningKey;
  let h: Harness;
  beforeAll(async () => {
    signingKey = await createSigningKey();
  });
  afterEach(() => h.close());

  const SENDER = 'someone@fabrikam.test';
  const FOREIGN = [
    'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=fabrikam.test; s=s1;\r\n\th=from:to:subject:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==',
    `From: "Someone Else" <${SENDER}>`,
    'To: alice@fabrikam.test',
    'Subject: Quarterly report',
    'Message-ID: <q3-report.42@fabrikam.test>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    'Grüße from the ERP.',
    '.leading dot line',
    'From the body, not a header.',
    '',
  ].join('\r\n');
  const BODY = FOREIGN.slice(FOREIGN.indexOf('\r\n\r\n'));

  /** The bytes after relay365's Received: header. */
  const clientPart = (raw: Buffer): Buffer => raw.subarray(raw.indexOf('\r\nDKIM-Signature: ') + 2);

  it('under keep, a message from another sender fails with 554 5.2.252 SendAsDenied and the fix names rewrite', async () => {
    h = await startHarness({ signingKey });
    const id = await h.submit(FOREIGN, ['alice@fabrikam.test'], SENDER);
    const failed = await waitFor(
      () => (h.fx.store.sync.queue.get(id)?.status === 'failed' ? h.fx.store.sync.queue.get(id) : undefined),
      'failed',
    );
    expect(failed.lastReply).toMatch(/^554 5\.2\.252 SendAsDenied; relay@contoso\.test not allowed to send as someone@fabrikam\.test/);
    expect(hintForSmtpReply(failed.lastReply ?? '')?.fix).toMatch(/From Address Handling to rewrite/);
    expect(h.emu.exchange.messages).toHaveLength(0);
  });

  it('under rewrite, the same message goes out as the mailbox, the sender in Reply-To, every other byte unchanged', async () => {
    h = await startHarness({ signingKey, server: { fromHandling: 'rewrite' } });
    const id = await h.submit(FOREIGN, ['alice@fabrikam.test'], SENDER);
    const [received] = await h.emu.exchange.waitForMessages(1, 10_000);
    expect(received).toMatchObject({ mailFrom: SEED.mailbox, rcptTo: ['alice@fabrikam.test'], user: SEED.mailbox });
    expect(received!.raw.toString('utf8')).toMatch(new RegExp(`^Received: from [^]+\\(relay365\\) with ESMTP id ${id}`));
    const sent = clientPart(received!.raw).toString('utf8');
    expect(sent).toContain(
      `\r\nFrom: "Someone Else" <${SEED.mailbox}>\r\nReply-To: "Someone Else" <${SENDER}>\r\nTo: alice@fabrikam.test\r\n`,
    );
    expect(sent).toContain('\r\nMessage-ID: <q3-report.42@fabrikam.test>\r\n');
    expect(Buffer.from(sent.slice(sent.indexOf('\r\n\r\n')))).toEqual(Buffer.from(BODY));
    expect(clientPart(received!.raw)).toEqual(
      Buffer.from(
        FOREIGN.replace(
          `From: "Someone Else" <${SENDER}>\r\n`,
          `From: "Someone Else" <${SEED.mailbox}>\r\nReply-To: "Someone Else" <${SENDER}>\r\n`,
        ),
      ),
    );
    await waitFor(() => h.fx.store.sync.queue.get(id)?.status === 'delivered', 'delivered');
  });

  it('under rewrite, keeps the stored message as received and rewrites again on the retry', async () => {
    h = await startHarness({ signingKey, server: { fromHandling: 'rewrite' } });
    h.emu.exchange.failNext({ stage: 'data', reply: '451 4.7.500 Server busy. Please try again later.' });
    const id = await h.submit(FOREIGN, ['alice@fabrikam.test'], SENDER);
    await waitFor(() => h.fx.store.sync.queue.get(id)?.status === 'deferred', 'deferred');
    expect(clientPart(await h.relay.spool.head(id, Infinity))).toEqual(Buffer.from(FOREIGN));
    await h.advance(60_000);
    const [received] = await h.emu.exchange.waitForMessages(1, 10_000);
    expect(clientPart(received!.raw).toString('utf8')).toContain(`\r\nReply-To: "Someone Else" <${SENDER}>\r\n`);
    await waitFor(() => !h.fx.store.sync.bodies.has(id), 'body removed');
  });

  it('under rewrite, a From listed in Send As Addresses and granted in Exchange stays as written', async () => {
    h = await startHarness({ signingKey, server: { fromHandling: 'rewrite', sendAs: ['billing@contoso.test'] } });
    h.emu.directory.addUser(SEED.tenantId, { address: 'billing@contoso.test' });
    h.emu.directory.grantSendAs('billing@contoso.test', SEED.clientId);
    const raw = FOREIGN.replace(`From: "Someone Else" <${SENDER}>`, 'From: Billing <billing@contoso.test>');
    await h.submit(raw, ['alice@fabrikam.test'], 'billing@contoso.test');
    const [received] = await h.emu.exchange.waitForMessages(1, 10_000);
    expect(received!.mailFrom).toBe(SEED.mailbox);
    expect(clientPart(received!.raw)).toEqual(Buffer.from(raw));
  });
});
