// The Graph emulator's sendMail, users and errors, over real HTTPS with fetch and tokens from the identity emulator.
import { describe, expect, it } from 'vitest';
import { SEED } from './index.js';
import { graphAppToken, graphRequest, graphUserToken, mimeMessage, sendMime } from './graph-client.js';
import { emulatorPerTest } from './test-context.js';

const ctx = emulatorPerTest();
const FOUR_MB = 4 * 1024 * 1024;

const app = (): ReturnType<typeof ctx.emu.directory.getApp> => ctx.emu.directory.getApp(SEED.tenantId, SEED.clientId);

/** A JSON sendMail body. */
function jsonMail(overrides: Record<string, unknown> = {}, saveToSentItems?: boolean): Record<string, unknown> {
  return {
    message: {
      subject: 'Quarterly report',
      body: { contentType: 'HTML', content: '<p>Attached.</p>' },
      toRecipients: [{ emailAddress: { address: 'Someone@Fabrikam.test', name: 'Someone' } }],
      attachments: [
        {
          '@odata.type': '#microsoft.graph.fileAttachment',
          name: 'report.csv',
          contentType: 'text/csv',
          contentBytes: Buffer.from('a,b\n1,2\n').toString('base64'),
        },
      ],
      ...overrides,
    },
    ...(saveToSentItems !== undefined ? { saveToSentItems } : {}),
  };
}

describe('sendMail', () => {
  it('starts with the emulator on its own port and takes its URL as the token resource', () => {
    expect(ctx.emu.graphUrl).toMatch(/^https:\/\/localhost:\d+$/);
    expect(ctx.emu.graph.port).not.toBe(ctx.emu.identity.port);
    expect(ctx.emu.identity.graphResources).toEqual([ctx.emu.graphUrl]);
  });

  it('accepts a base64 MIME message with 202 and an empty body, delivering to To, Cc and Bcc once each', async () => {
    const mime = mimeMessage([
      `From: "Scanner" <${SEED.mailbox}>`,
      'To: A <a@fabrikam.test>, b@fabrikam.test',
      'Cc: =?utf-8?Q?J=C3=BCrgen?= <juergen@fabrikam.test>, a@fabrikam.test',
      'Bcc: hidden@fabrikam.test',
    ]);
    const reply = await sendMime(ctx.emu, mime);
    expect([reply.status, reply.json]).toEqual([202, undefined]);
    expect(reply.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const [message] = await ctx.emu.graph.waitForMessages(1, 2000);
    expect(message).toMatchObject({
      via: 'mime',
      mailbox: SEED.mailbox,
      tokenKind: 'app',
      principal: SEED.clientId,
      from: SEED.mailbox,
      recipients: ['a@fabrikam.test', 'b@fabrikam.test', 'juergen@fabrikam.test', 'hidden@fabrikam.test'],
      bcc: ['hidden@fabrikam.test'],
      subject: 'Scan fertig',
      body: { contentType: 'text', content: 'Hello from the printer\r\n' },
      savedToSentItems: true,
    });
    expect(message?.raw?.equals(Buffer.from(mime))).toBe(true);
    expect(ctx.emu.graph.sentItems(SEED.mailbox)).toHaveLength(1);
  });

  it('reads a multipart MIME message into body and attachments', async () => {
    const pdf = Buffer.from('%PDF-1.4 emulator test bytes \x00\x01\x02', 'latin1');
    const mime = [
      `From: ${SEED.mailbox}`,
      'To: someone@fabrikam.test',
      'Subject: Scan',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'plain',
      '--inner',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '<p>Gr=C3=BC=C3=9Fe</p>',
      '--inner--',
      '--outer',
      'Content-Type: application/pdf',
      "Content-Disposition: attachment; filename*=utf-8''Scan%20%C3%A4.pdf",
      'Content-Transfer-Encoding: base64',
      '',
      pdf.toString('base64'),
      '--outer--',
      '',
    ].join('\r\n');
    expect((await sendMime(ctx.emu, mime)).status).toBe(202);
    const [message] = ctx.emu.graph.messages;
    expect(message?.body).toEqual({ contentType: 'html', content: '<p>Grüße</p>' });
    expect(message?.attachments).toEqual([{ name: 'Scan ä.pdf', contentType: 'application/pdf', bytes: pdf, isInline: false }]);
  });

  it('accepts a JSON message and keeps no Sent Items copy when saveToSentItems is false', async () => {
    const reply = await graphRequest(ctx.emu, `/v1.0/users/${SEED.mailbox}/sendMail`, {
      token: graphAppToken(ctx.emu),
      json: jsonMail({}, false),
    });
    expect(reply.status).toBe(202);
    expect(ctx.emu.graph.messages[0]).toMatchObject({
      via: 'json',
      recipients: ['someone@fabrikam.test'],
      subject: 'Quarterly report',
      body: { contentType: 'html', content: '<p>Attached.</p>' },
      attachments: [{ name: 'report.csv', contentType: 'text/csv', bytes: Buffer.from('a,b\n1,2\n') }],
      savedToSentItems: false,
    });
    expect(ctx.emu.graph.sentItems(SEED.mailbox)).toEqual([]);
  });

  it('takes the mailbox by object id too', async () => {
    expect((await sendMime(ctx.emu, mimeMessage(), graphAppToken(ctx.emu), SEED.mailboxOid)).status).toBe(202);
    expect(ctx.emu.graph.messages[0]?.mailbox).toBe(SEED.mailbox);
  });

  it('sends as the signed-in user on /me/sendMail with a delegated Mail.Send token', async () => {
    const reply = await graphRequest(ctx.emu, '/v1.0/me/sendMail', { token: graphUserToken(ctx.emu), json: jsonMail() });
    expect(reply.status).toBe(202);
    expect(ctx.emu.graph.messages[0]).toMatchObject({ tokenKind: 'delegated', principal: SEED.mailbox, mailbox: SEED.mailbox });
  });

  it('refuses a Bcc-only MIME message with ErrorInvalidRecipients, and delivers it when set to', async () => {
    const bccOnly = mimeMessage([`From: ${SEED.mailbox}`, 'Bcc: hidden@fabrikam.test']);
    const refused = await sendMime(ctx.emu, bccOnly);
    expect([refused.status, refused.code]).toEqual([400, 'ErrorInvalidRecipients']);
    expect(refused.json).toMatchObject({
      error: { innerError: { 'request-id': expect.any(String), date: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:]{8}$/) } },
    });
    ctx.emu.graph.settings.bccOnlyMime = 'deliver';
    expect((await sendMime(ctx.emu, bccOnly)).status).toBe(202);
    expect(ctx.emu.graph.messages[0]?.recipients).toEqual(['hidden@fabrikam.test']);
  });

  it('refuses a message without recipients, or with an unresolvable one, with ErrorInvalidRecipients', async () => {
    const none = await sendMime(ctx.emu, mimeMessage([`From: ${SEED.mailbox}`]));
    expect([none.status, none.code, none.message]).toEqual([
      400,
      'ErrorInvalidRecipients',
      "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
    ]);
    const bad = await graphRequest(ctx.emu, `/v1.0/users/${SEED.mailbox}/sendMail`, {
      token: graphAppToken(ctx.emu),
      json: jsonMail({ toRecipients: [{ emailAddress: { address: 'not-an-address' } }] }),
    });
    expect([bad.status, bad.code]).toEqual([400, 'ErrorInvalidRecipients']);
    expect(bad.message).toContain("Recipient 'not-an-address' is not resolved.");
    expect(ctx.emu.graph.messages).toEqual([]);
  });

  it('refuses MIME that is not base64 and JSON that does not parse', async () => {
    const mime = await graphRequest(ctx.emu, `/v1.0/users/${SEED.mailbox}/sendMail`, {
      token: graphAppToken(ctx.emu),
      body: 'From: relay@contoso.test\r\n\r\nnot base64',
      contentType: 'text/plain',
    });
    expect([mime.status, mime.code]).toEqual([400, 'ErrorMimeContentInvalidBase64String']);
    const json = await graphRequest(ctx.emu, `/v1.0/users/${SEED.mailbox}/sendMail`, {
      token: graphAppToken(ctx.emu),
      body: '{"message": ',
      contentType: 'application/json',
    });
    expect([json.status, json.code]).toEqual([400, 'BadRequest']);
  });
});

describe('the 4 MB request limit', () => {
  // A MIME message whose base64 body is exactly `size` bytes (a multiple of 4).
  const mimeOfBase64Size = (size: number): string => {
    const head = mimeMessage();
    return head + 'x'.repeat((size / 4) * 3 - Buffer.byteLength(head));
  };

  it('accepts a request body of exactly 4,194,304 bytes', async () => {
    const reply = await sendMime(ctx.emu, mimeOfBase64Size(FOUR_MB));
    expect(reply.status).toBe(202);
    expect(ctx.emu.graph.requests.at(-1)?.bytes).toBe(FOUR_MB);
  });

  it('answers one byte more with 413 RequestBodyTooLarge, or ErrorMessageSizeExceeded when set', async () => {
    const body = `${Buffer.from(mimeOfBase64Size(FOUR_MB)).toString('base64')}\n`;
    const send = (): ReturnType<typeof graphRequest> =>
      graphRequest(ctx.emu, `/v1.0/users/${SEED.mailbox}/sendMail`, { token: graphAppToken(ctx.emu), body, contentType: 'text/plain' });
    const refused = await send();
    expect([refused.status, refused.code, refused.message]).toEqual([
      413,
      'RequestBodyTooLarge',
      'The maximum request length supported is 4MB.',
    ]);
    ctx.emu.graph.settings.requestTooLargeCode = 'ErrorMessageSizeExceeded';
    expect((await send()).code).toBe('ErrorMessageSizeExceeded');
    expect(ctx.emu.graph.messages).toEqual([]);
  });

  it("refuses a message over the mailbox's maximum size with 413 ErrorMessageSizeExceeded", async () => {
    ctx.emu.graph.settings.maxMessageSize = 1000;
    const reply = await sendMime(ctx.emu, mimeMessage(undefined, 'y'.repeat(1000)));
    expect([reply.status, reply.code]).toEqual([413, 'ErrorMessageSizeExceeded']);
  });
});

describe('permissions', () => {
  it('answers 403 ErrorAccessDenied when the app token has no Mail.Send role', async () => {
    app().graphApplicationPermissions = ['Mail.ReadWrite'];
    const reply = await sendMime(ctx.emu, mimeMessage());
    expect([reply.status, reply.code, reply.message]).toEqual([
      403,
      'ErrorAccessDenied',
      'Access is denied. Check credentials and try again.',
    ]);
  });

  it('lets RBAC for Applications grant Mail.Send on the mailboxes in its scope only', async () => {
    app().graphApplicationPermissions = [];
    ctx.emu.directory.addUser(SEED.tenantId, { address: 'printers@contoso.test', shared: true, sendAs: [SEED.clientId] });
    ctx.emu.directory.addManagementScope(SEED.tenantId, 'Printers', ['printers@contoso.test']);
    ctx.emu.directory.assignAppRole(SEED.tenantId, SEED.clientId, 'Application Mail.Send', 'Printers');
    const outside = await sendMime(ctx.emu, mimeMessage());
    expect([outside.status, outside.code]).toEqual([403, 'ErrorAccessDenied']);
    const inside = await sendMime(
      ctx.emu,
      mimeMessage(['From: printers@contoso.test', 'To: someone@fabrikam.test']),
      undefined,
      'printers@contoso.test',
    );
    expect(inside.status).toBe(202);
    expect(ctx.emu.directory.testServicePrincipalAuthorization(SEED.tenantId, SEED.clientId, SEED.mailbox)).toEqual([
      {
        roleName: 'Application Mail.Send',
        grantedPermissions: 'Mail.Send',
        allowedResourceScope: 'Printers',
        scopeType: 'CustomRecipientScope',
        inScope: false,
      },
    ]);
  });

  it('answers ErrorSendAsDenied for a From that is neither the mailbox nor granted Send As', async () => {
    ctx.emu.directory.addUser(SEED.tenantId, { address: 'boss@contoso.test' });
    const mime = mimeMessage(['From: boss@contoso.test', 'To: someone@fabrikam.test']);
    const denied = await sendMime(ctx.emu, mime);
    expect([denied.status, denied.code]).toEqual([403, 'ErrorSendAsDenied']);
    ctx.emu.directory.grantSendAs('boss@contoso.test', SEED.clientId);
    expect((await sendMime(ctx.emu, mime)).status).toBe(202);
    expect(ctx.emu.graph.messages[0]?.from).toBe('boss@contoso.test');
  });

  it('answers MailboxNotEnabledForRESTAPI for a mailbox Graph cannot reach', async () => {
    ctx.emu.directory.getMailbox(SEED.mailbox).restApiEnabled = false;
    const reply = await sendMime(ctx.emu, mimeMessage());
    expect([reply.status, reply.code]).toEqual([404, 'MailboxNotEnabledForRESTAPI']);
  });

  it('answers an unknown mailbox with ErrorInvalidUser, or ResourceNotFound when set', async () => {
    const unknown = await sendMime(ctx.emu, mimeMessage(), undefined, 'nobody@contoso.test');
    expect([unknown.status, unknown.code, unknown.message]).toEqual([
      404,
      'ErrorInvalidUser',
      "The requested user 'nobody@contoso.test' is invalid.",
    ]);
    ctx.emu.graph.settings.unknownUserError = 'ResourceNotFound';
    expect((await sendMime(ctx.emu, mimeMessage(), undefined, 'nobody@contoso.test')).code).toBe('ResourceNotFound');
  });

  it('refuses /me with an app token and a delegated token without Mail.Send', async () => {
    const me = await graphRequest(ctx.emu, '/v1.0/me/sendMail', { token: graphAppToken(ctx.emu), json: jsonMail() });
    expect([me.status, me.message]).toEqual([400, '/me request is only valid with delegated authentication flow.']);
    const noScope = await graphRequest(ctx.emu, '/v1.0/me/sendMail', { token: graphUserToken(ctx.emu, ['User.Read']), json: jsonMail() });
    expect([noScope.status, noScope.code]).toEqual([403, 'ErrorAccessDenied']);
  });
});

describe('tokens', () => {
  it('answers 401 InvalidAuthenticationToken for no token, an Exchange token, an expired one and a forged one', async () => {
    const send = (token?: string): ReturnType<typeof graphRequest> =>
      graphRequest(ctx.emu, `/v1.0/users/${SEED.mailbox}/sendMail`, { ...(token ? { token } : {}), json: jsonMail() });
    const none = await send();
    expect([none.status, none.code, none.message]).toEqual([401, 'InvalidAuthenticationToken', 'Access token is empty.']);
    expect(none.headers.get('www-authenticate')).toContain('client_id="00000003-0000-0000-c000-000000000000"');
    const exchange = await send(ctx.emu.identity.issueAppToken({ tenant: SEED.tenantId, clientId: SEED.clientId }));
    expect(exchange.message).toBe('Access token validation failure. Invalid audience.');
    const token = graphAppToken(ctx.emu);
    const [head, payload] = token.split('.');
    const forged = await send(`${head}.${payload}.${Buffer.from('forged').toString('base64url')}`);
    expect(forged.message).toBe('Access token validation failure.');
    ctx.clock += 3600 * 1000;
    const expired = await send(token);
    expect([expired.status, expired.message]).toEqual([401, 'Lifetime validation failed, the token is expired.']);
  });

  it('accepts a token issued for its own URL as the resource', async () => {
    expect((await sendMime(ctx.emu, mimeMessage(), graphAppToken(ctx.emu, ctx.emu.graphUrl))).status).toBe(202);
  });
});

describe('users', () => {
  it('resolves a mailbox with User.Read.All, and refuses without it', async () => {
    const path = `/v1.0/users/${SEED.mailbox}`;
    const refused = await graphRequest(ctx.emu, path, { token: graphAppToken(ctx.emu) });
    expect([refused.status, refused.code]).toEqual([403, 'Authorization_RequestDenied']);
    app().graphApplicationPermissions.push('User.Read.All');
    const user = await graphRequest(ctx.emu, path, { token: graphAppToken(ctx.emu) });
    expect(user.status).toBe(200);
    expect(user.json).toMatchObject({ id: SEED.mailboxOid, userPrincipalName: SEED.mailbox, mail: SEED.mailbox, displayName: 'Relay' });
    const missing = await graphRequest(ctx.emu, '/v1.0/users/nobody@contoso.test', { token: graphAppToken(ctx.emu) });
    expect([missing.status, missing.code]).toEqual([404, 'Request_ResourceNotFound']);
  });

  it('answers /me for a delegated token with User.Read', async () => {
    const me = await graphRequest(ctx.emu, '/v1.0/me', { token: graphUserToken(ctx.emu) });
    expect([me.status, me.json?.['userPrincipalName']]).toEqual([200, SEED.mailbox]);
  });

  it('answers an unknown path with 400 BadRequest naming the segment', async () => {
    const reply = await graphRequest(ctx.emu, `/v1.0/users/${SEED.mailbox}/mailFolders`, { token: graphAppToken(ctx.emu) });
    expect([reply.status, reply.message]).toEqual([400, "Resource not found for the segment 'mailFolders'."]);
  });
});

describe('faults', () => {
  it('answers a queued 503 with Retry-After once, then works again', async () => {
    ctx.emu.graph.failNext({ route: 'sendMail', status: 503, retryAfterSeconds: 7 });
    const failed = await sendMime(ctx.emu, mimeMessage());
    expect([failed.status, failed.code, failed.headers.get('retry-after')]).toEqual([503, 'ServiceUnavailable', '7']);
    expect(ctx.emu.graph.requests.at(-1)).toMatchObject({ status: 503, retryAfterSeconds: 7, route: 'sendMail' });
    expect((await sendMime(ctx.emu, mimeMessage())).status).toBe(202);
  });

  it('answers a queued 401 as InvalidAuthenticationToken, and drops a connection when asked', async () => {
    ctx.emu.graph.failNext({ status: 401 });
    expect((await sendMime(ctx.emu, mimeMessage())).code).toBe('InvalidAuthenticationToken');
    ctx.emu.graph.failNext({ drop: true });
    await expect(sendMime(ctx.emu, mimeMessage())).rejects.toThrow();
    expect(ctx.emu.graph.requests.at(-1)?.status).toBe(0);
    expect(ctx.emu.graph.messages).toEqual([]);
  });
});
