// The Exchange emulator driven by nodemailer (the relay's upstream client) and a line-level probe.
import nodemailer, { type Mail, type SentMessageInfo } from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { SEED } from './index.js';
import { emulatorPerTest } from './test-context.js';
import { SmtpProbe, xoauth2Initial } from './smtp-probe.js';

const ctx = emulatorPerTest();

const appToken = (): string => ctx.emu.identity.issueAppToken({ tenant: SEED.tenantId, clientId: SEED.clientId });

function transport(auth?: { user: string; accessToken: string }, extra: Record<string, unknown> = {}): Mail {
  return nodemailer.createTransport({
    host: 'localhost',
    port: ctx.emu.smtpPort,
    secure: false,
    requireTLS: true,
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 5000,
    ...(auth ? { auth: { type: 'OAuth2', ...auth } } : {}),
    ...extra,
  });
}

function mime(from: string, subject = 'Test'): string {
  return [
    `From: Relay <${from}>`,
    'To: Someone <someone@fabrikam.test>',
    `Subject: ${subject}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Grüße aus dem Emulator',
    '.leading dot',
    '',
  ].join('\r\n');
}

function send(raw: string, accessToken = appToken(), to = ['someone@fabrikam.test']): Promise<SentMessageInfo> {
  return transport({ user: SEED.mailbox, accessToken }).sendMail({ envelope: { from: SEED.mailbox, to }, raw });
}

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; response?: string; responseCode?: number }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the call to fail').toBeInstanceOf(Error);
  return err as Error & { code?: string; response?: string; responseCode?: number };
}

describe('session', () => {
  it('greets and advertises like Exchange Online before and after STARTTLS', async () => {
    const { probe, greeting } = await SmtpProbe.connect(ctx.emu.smtpPort);
    expect(greeting).toMatch(
      /^220 EMULATOR\.outlook\.office365\.com Microsoft ESMTP MAIL Service ready at \w{3}, \d+ \w{3} \d{4} [\d:]{8} \+0000 \[[0-9A-F]{16}\]$/,
    );
    const plain = await probe.command('EHLO client.test');
    expect(plain.split('\n')).toEqual([
      '250-EMULATOR.outlook.office365.com Hello [127.0.0.1]',
      '250-SIZE 157286400',
      '250-PIPELINING',
      '250-DSN',
      '250-ENHANCEDSTATUSCODES',
      '250-STARTTLS',
      '250-8BITMIME',
      '250 SMTPUTF8',
    ]);
    expect(await probe.command('STARTTLS')).toBe('220 2.0.0 SMTP server ready');
    probe.close();
    const { probe: secure } = await SmtpProbe.connect(ctx.emu.smtpPort);
    const ehlo = await secure.startTls();
    expect(ehlo).toContain('250-AUTH LOGIN XOAUTH2');
    expect(ehlo).not.toMatch(/STARTTLS|PLAIN/);
    expect(await secure.command('AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=')).toBe('504 5.7.4 Unrecognized authentication type');
    expect(await secure.command('QUIT')).toBe('221 2.0.0 Service closing transmission channel');
    expect(ctx.emu.exchange.connections).toBe(2);
  });

  it('refuses AUTH before STARTTLS and MAIL without AUTH', async () => {
    const { probe } = await SmtpProbe.connect(ctx.emu.smtpPort);
    await probe.command('EHLO client.test');
    expect(await probe.command(`AUTH XOAUTH2 ${xoauth2Initial(SEED.mailbox, appToken())}`)).toBe(
      '504 5.7.4 Unrecognized authentication type',
    );
    expect(await probe.command('MAIL FROM:<relay@contoso.test>')).toMatch(/^530 5\.7\.57 Client not authenticated to send mail\. \[/);
    probe.close();
    const err = await failure(transport().sendMail({ envelope: { from: SEED.mailbox, to: ['a@fabrikam.test'] }, raw: mime(SEED.mailbox) }));
    expect(err.responseCode).toBe(530);
    expect(err.response).toMatch(/^530 5\.7\.57 Client not authenticated to send mail\./);
  });

  it('rejects basic authentication with 550 5.7.30', async () => {
    const t = transport(undefined, { auth: { user: SEED.mailbox, pass: SEED.mailboxPassword } });
    const err = await failure(t.sendMail({ envelope: { from: SEED.mailbox, to: ['a@fabrikam.test'] }, raw: mime(SEED.mailbox) }));
    expect(err.response).toMatch(/^550 5\.7\.30 Basic authentication is not supported for Client Submission\./);
  });
});

describe('XOAUTH2', () => {
  it('delivers a message with an app token byte for byte', async () => {
    const raw = mime(SEED.mailbox);
    const info = await send(raw);
    expect(info.response).toMatch(/^250 2\.0\.0 OK <[0-9A-F]+@EMULATOR\.prod\.outlook\.com> \[Hostname=EMULATOR\.prod\.outlook\.com\]$/);
    const [message] = await ctx.emu.exchange.waitForMessages(1, 2000);
    expect(message).toMatchObject({
      mailFrom: SEED.mailbox,
      rcptTo: ['someone@fabrikam.test'],
      user: SEED.mailbox,
      tokenKind: 'app',
      principal: SEED.clientId,
    });
    expect(message?.raw.equals(Buffer.from(raw, 'utf8'))).toBe(true);
    expect(info.response).toContain(message?.id);
    expect(ctx.emu.exchange.authAttempts).toEqual([expect.objectContaining({ ok: true, user: SEED.mailbox, tokenKind: 'app' })]);
  });

  it('delivers with a delegated token of the mailbox user', async () => {
    const token = ctx.emu.identity.issueDelegatedToken({ tenant: SEED.tenantId, clientId: SEED.clientId, user: SEED.mailbox });
    await send(mime(SEED.mailbox), token);
    expect(ctx.emu.exchange.messages[0]).toMatchObject({ tokenKind: 'delegated', principal: SEED.mailbox });
  });

  it('answers 535 5.7.3 for a mailbox the app has no FullAccess on', async () => {
    ctx.emu.directory.addUser(SEED.tenantId, { address: 'other@contoso.test' });
    const t = transport({ user: 'other@contoso.test', accessToken: appToken() });
    const err = await failure(
      t.sendMail({ envelope: { from: 'other@contoso.test', to: ['a@fabrikam.test'] }, raw: mime('other@contoso.test') }),
    );
    expect(err.code).toBe('EAUTH');
    expect(err.response).toMatch(/^535 5\.7\.3 Authentication unsuccessful \[EMULATOR\.PROD\.OUTLOOK\.COM \S+Z [0-9A-F]{16}\]$/);
    expect(ctx.emu.exchange.authAttempts.at(-1)).toMatchObject({ ok: false, reason: expect.stringContaining('FullAccess') });
  });

  it.each([
    [
      'an expired token',
      () => {
        const t = appToken();
        ctx.clock += 3600_000;
        return t;
      },
    ],
    [
      'a Microsoft Graph token',
      () => ctx.emu.identity.issueAppToken({ tenant: SEED.tenantId, clientId: SEED.clientId, resource: 'https://graph.microsoft.com' }),
    ],
    ['a token signed by someone else', () => appToken().replace(/\.[^.]+$/, '.c2lnbmF0dXJl')],
  ])('answers 535 5.7.3 for %s', async (_name, makeToken) => {
    const err = await failure(send(mime(SEED.mailbox), makeToken()));
    expect(err.response).toMatch(/^535 5\.7\.3 Authentication unsuccessful/);
  });

  it.each([
    ['SMTP.SendAsApp is not consented', () => (ctx.emu.directory.getApp(SEED.tenantId, SEED.clientId).smtpSendAsAppConsented = false)],
    [
      'the service principal is not registered',
      () => (ctx.emu.directory.getApp(SEED.tenantId, SEED.clientId).servicePrincipalRegistered = false),
    ],
    [
      'New-ServicePrincipal got the app registration object id',
      () => (ctx.emu.directory.getApp(SEED.tenantId, SEED.clientId).registeredObjectId = SEED.appObjectId),
    ],
  ])('answers 535 5.7.3 when %s', async (_name, breakSetup) => {
    breakSetup();
    const err = await failure(send(mime(SEED.mailbox)));
    expect(err.response).toMatch(/^535 5\.7\.3 Authentication unsuccessful/);
  });

  it('answers 535 5.7.139 when SMTP AUTH is disabled for the tenant or the mailbox', async () => {
    ctx.emu.directory.getTenant(SEED.tenantId).smtpAuthEnabled = false;
    const tenant = await failure(send(mime(SEED.mailbox)));
    expect(tenant.response).toMatch(
      /^535 5\.7\.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant\. Visit https:\/\/aka\.ms\/smtp_auth_disabled for more information\. \[/,
    );
    ctx.emu.directory.getTenant(SEED.tenantId).smtpAuthEnabled = true;
    ctx.emu.directory.getMailbox(SEED.mailbox).smtpAuthEnabled = false;
    const mailbox = await failure(send(mime(SEED.mailbox)));
    expect(mailbox.response).toMatch(/^535 5\.7\.139 .*disabled for the Mailbox\./);
  });

  it('can answer a failed XOAUTH2 with a 334 challenge before the 535', async () => {
    ctx.emu.exchange.settings.authFailure = 'challenge';
    const { probe } = await SmtpProbe.connect(ctx.emu.smtpPort);
    const first = await probe.loginXoauth2('nobody@contoso.test', appToken());
    expect(first).toMatch(/^334 \S+$/);
    expect(JSON.parse(Buffer.from(first.slice(4), 'base64').toString())).toMatchObject({ status: '401', schemes: 'bearer' });
    expect(await probe.command('')).toMatch(/^535 5\.7\.3 Authentication unsuccessful \[/);
    probe.close();
    const err = await failure(
      transport({ user: 'nobody@contoso.test', accessToken: appToken() }).sendMail({
        envelope: { from: SEED.mailbox, to: ['a@fabrikam.test'] },
        raw: mime(SEED.mailbox),
      }),
    );
    expect(err.response).toMatch(/^535 5\.7\.3/);
  });
});

describe('submission rules', () => {
  it('answers 554 5.2.252 SendAsDenied for a From the principal may not use, until Send As is granted', async () => {
    ctx.emu.directory.addUser(SEED.tenantId, { address: 'boss@contoso.test' });
    const err = await failure(send(mime('boss@contoso.test')));
    expect(err.response).toMatch(
      /^554 5\.2\.252 SendAsDenied; relay@contoso\.test not allowed to send as boss@contoso\.test; STOREDRV\.Submission\.Exception:SendAsDeniedException/,
    );
    expect(ctx.emu.exchange.messages).toHaveLength(0);
    ctx.emu.directory.grantSendAs('boss@contoso.test', SEED.clientId);
    await send(mime('boss@contoso.test'));
    expect(ctx.emu.exchange.messages).toHaveLength(1);
  });

  it.each([
    ['5.2.0', /^554 5\.2\.0 STOREDRV\.Submission\.Exception:SendAsDeniedException\.MapiExceptionSendAsDenied; /],
    ['5.7.60', /^550 5\.7\.60 SMTP; Client does not have permissions to send as this sender \[/],
  ] as const)('can word a denied Send As the way Exchange did earlier (%s)', async (variant, pattern) => {
    ctx.emu.exchange.settings.sendAsDenied = variant;
    const err = await failure(send(mime('someone.else@contoso.test')));
    expect(err.response).toMatch(pattern);
  });

  it('gives the 4th concurrent session of a mailbox 432 4.3.2 until a slot frees up', async () => {
    const pool = transport({ user: SEED.mailbox, accessToken: appToken() }, { pool: true, maxConnections: 4 });
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map((n) =>
        pool.sendMail({ envelope: { from: SEED.mailbox, to: [`r${n}@fabrikam.test`] }, raw: mime(SEED.mailbox, `n${n}`) }),
      ),
    );
    pool.close();
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0]?.reason as { response?: string }).response).toMatch(
      /^432 4\.3\.2 Concurrent connections limit exceeded\. Visit https:\/\/aka\.ms\/concurrent_sending for more information\. \[Hostname=EMULATOR\.prod\.outlook\.com\]$/,
    );
    expect(ctx.emu.exchange.messages).toHaveLength(3);
    expect(ctx.emu.exchange.peakConcurrentByMailbox.get(SEED.mailbox)).toBe(4);
  });

  it('lets a waiting session submit once an earlier one has closed', async () => {
    const held = await Promise.all([1, 2, 3].map(() => SmtpProbe.connect(ctx.emu.smtpPort)));
    for (const { probe } of held) expect(await probe.loginXoauth2(SEED.mailbox, appToken())).toMatch(/^235 2\.7\.0/);
    expect(ctx.emu.exchange.activeSessions(SEED.mailbox)).toBe(3);
    const err = await failure(send(mime(SEED.mailbox)));
    expect(err.responseCode).toBe(432);
    held[0]?.probe.close();
    await expect.poll(() => ctx.emu.exchange.activeSessions(SEED.mailbox), { timeout: 2000, interval: 10 }).toBe(2);
    await send(mime(SEED.mailbox));
    for (const { probe } of held) probe.close();
  });

  it('rejects a recipient with the configured reply and delivers to the rest', async () => {
    ctx.emu.exchange.rejectRecipient('gone@fabrikam.test');
    const info = await send(mime(SEED.mailbox), appToken(), ['gone@fabrikam.test', 'ok@fabrikam.test']);
    expect(info.rejected).toEqual(['gone@fabrikam.test']);
    expect(info.rejectedErrors?.[0]?.response).toBe(
      '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
    );
    expect(ctx.emu.exchange.messages[0]?.rcptTo).toEqual(['ok@fabrikam.test']);
  });

  it('answers 554 5.2.0 SubmissionQuotaExceeded past the daily recipient limit or when triggered', async () => {
    ctx.emu.exchange.settings.recipientsPerDay = 2;
    await send(mime(SEED.mailbox), appToken(), ['a@fabrikam.test', 'b@fabrikam.test']);
    const over = await failure(send(mime(SEED.mailbox)));
    expect(over.response).toMatch(
      /^554 5\.2\.0 STOREDRV\.Submission\.Exception:SubmissionQuotaExceededException; Failed to process message/,
    );
    ctx.clock += 24 * 3600_000 + 1;
    await send(mime(SEED.mailbox));
    ctx.emu.exchange.exceedQuota(SEED.mailbox);
    expect((await failure(send(mime(SEED.mailbox)))).responseCode).toBe(554);
  });

  it('limits recipients per message and message size', async () => {
    ctx.emu.exchange.settings.maxRecipientsPerMessage = 1;
    const info = await send(mime(SEED.mailbox), appToken(), ['a@fabrikam.test', 'b@fabrikam.test']);
    expect(info.rejectedErrors?.[0]?.response).toBe('452 4.5.3 Too many recipients');
    ctx.emu.exchange.settings.maxMessageSize = 100;
    const err = await failure(send(mime(SEED.mailbox) + 'x'.repeat(200)));
    expect(err.response).toBe('552 5.3.4 Message size exceeds fixed maximum message size');
  });
});

describe('fault injection', () => {
  it('answers an injected 451 once, then works again', async () => {
    ctx.emu.exchange.failNext({ stage: 'mail', reply: '451 4.7.500 Server busy. Please try again later' });
    const err = await failure(send(mime(SEED.mailbox)));
    expect([err.code, err.response]).toEqual(['EENVELOPE', '451 4.7.500 Server busy. Please try again later']);
    await send(mime(SEED.mailbox));
    expect(ctx.emu.exchange.messages).toHaveLength(1);
  });

  it('injects replies at connect, AUTH and RCPT', async () => {
    ctx.emu.exchange.failNext({ stage: 'connect', reply: '421 4.3.2 Service not available' });
    ctx.emu.exchange.failNext({ stage: 'auth', reply: '454 4.7.0 Temporary authentication failure' });
    ctx.emu.exchange.failNext({ stage: 'rcpt', reply: '451 4.4.0 Temporary lookup failure' });
    expect((await failure(send(mime(SEED.mailbox)))).response).toMatch(/^421 4\.3\.2/);
    expect((await failure(send(mime(SEED.mailbox)))).response).toMatch(/^454 4\.7\.0/);
    expect((await failure(send(mime(SEED.mailbox)))).response).toMatch(/^451 4\.4\.0/);
  });

  it('drops the connection at the end of DATA, optionally after accepting the message', async () => {
    ctx.emu.exchange.failNext({ stage: 'data', drop: true });
    const dropped = await failure(send(mime(SEED.mailbox)));
    expect(dropped.code).toBe('ECONNECTION');
    expect(ctx.emu.exchange.messages).toHaveLength(0);
    ctx.emu.exchange.failNext({ stage: 'data', drop: true, keepMessage: true });
    await failure(send(mime(SEED.mailbox)));
    expect(ctx.emu.exchange.messages).toHaveLength(1);
  });

  it('waits for messages without polling and times out cleanly', async () => {
    const waiting = ctx.emu.exchange.waitForMessages(2, 3000);
    await send(mime(SEED.mailbox));
    await send(mime(SEED.mailbox));
    expect(await waiting).toHaveLength(2);
    await expect(ctx.emu.exchange.waitForMessages(3, 50)).rejects.toThrow('expected 3 message(s) within 50 ms, got 2');
  });

  it('closes quickly with sessions still open', async () => {
    const { probe } = await SmtpProbe.connect(ctx.emu.smtpPort);
    await probe.loginXoauth2(SEED.mailbox, appToken());
    const started = Date.now();
    await ctx.emu.exchange.close();
    await probe.waitClosed(1000);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
