// The whole emulator as the relay meets it: MSAL gets a token, nodemailer submits with it.
import { ConfidentialClientApplication } from '@azure/msal-node';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { SEED } from './index.js';
import { emulatorPerTest } from './test-context.js';

const ctx = emulatorPerTest();

function msal(): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: SEED.clientId,
      clientSecret: SEED.clientSecret,
      authority: `${ctx.emu.authorityHost}/${SEED.tenantId}/`,
      knownAuthorities: [ctx.emu.knownAuthority],
    },
  });
}

async function submit(accessToken: string, raw: string): Promise<string> {
  const transport = nodemailer.createTransport({
    host: ctx.emu.smtpHost,
    port: ctx.emu.smtpPort,
    secure: false,
    requireTLS: true,
    connectionTimeout: 5000,
    socketTimeout: 5000,
    auth: { type: 'OAuth2', user: SEED.mailbox, accessToken },
  });
  const info = await transport.sendMail({ envelope: { from: SEED.mailbox, to: ['printer-report@fabrikam.test'] }, raw });
  return info.response;
}

const RAW = [
  'Received: from printer.local ([192.0.2.7]) by relay365; Sun, 1 Mar 2026 10:00:00 +0000',
  'From: "Scanner" <relay@contoso.test>',
  'To: printer-report@fabrikam.test',
  'Subject: =?utf-8?q?Scan_fertig?=',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Bitte prüfen.',
  '.',
  '..two dots',
  '',
].join('\r\n');

describe('Microsoft 365 emulator', () => {
  it('starts both servers on localhost with the default tenant', () => {
    expect(ctx.emu.authorityHost).toMatch(/^https:\/\/localhost:\d+$/);
    expect(ctx.emu.knownAuthority).toBe(ctx.emu.authorityHost.replace('https://', ''));
    expect(ctx.emu.smtpHost).toBe('localhost');
    expect(ctx.emu.smtpPort).toBeGreaterThan(0);
    expect(ctx.emu.directory.getMailbox(SEED.mailbox).fullAccess).toContain(SEED.clientId);
  });

  it('delivers with an app token from MSAL client credentials, byte for byte', async () => {
    const result = await msal().acquireTokenByClientCredential({ scopes: ['https://outlook.office365.com/.default'] });
    const response = await submit(result?.accessToken ?? '', RAW);
    expect(response).toMatch(/^250 2\.0\.0 OK </);
    const [message] = await ctx.emu.exchange.waitForMessages(1, 2000);
    expect(message?.raw.equals(Buffer.from(RAW, 'utf8'))).toBe(true);
    expect(message).toMatchObject({ tokenKind: 'app', principal: SEED.clientId, rcptTo: ['printer-report@fabrikam.test'] });
  });

  it('delivers with a delegated token from an MSAL refresh', async () => {
    const refreshToken = ctx.emu.identity.createRefreshToken({ tenant: SEED.tenantId, clientId: SEED.clientId, user: SEED.mailbox });
    const result = await msal().acquireTokenByRefreshToken({ refreshToken, scopes: ['https://outlook.office.com/SMTP.Send'] });
    await submit(result?.accessToken ?? '', RAW);
    expect(ctx.emu.exchange.messages[0]).toMatchObject({ tokenKind: 'delegated', principal: SEED.mailbox });
  });

  it('refuses a token for the wrong resource even though Entra issued it', async () => {
    const result = await msal().acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
    await expect(submit(result?.accessToken ?? '', RAW)).rejects.toMatchObject({ responseCode: 535, code: 'EAUTH' });
  });
});
