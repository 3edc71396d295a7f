/**
 * Check Configuration on an email server's page: the same steps as
 * `relay365 doctor`, run against the Microsoft 365 emulator, shown with their
 * marks and fixes, an authorization error it finds shown in the server's
 * status at once; only for users who may update settings, and only with the
 * form's CSRF token. The page never shows the secret or a token.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SEED, createSigningKey, startEmulator, type Emulator, type SigningKey } from '../emulator/index.js';
import { emulatorServer } from '../helpers/office365.js';
import { createPanel, signedIn, visibleText, type Panel } from './panel.js';

let key: SigningKey;
let panel: Panel | undefined;
let emu: Emulator | undefined;
beforeAll(async () => {
  key = await createSigningKey();
});
afterEach(async () => {
  panel?.cleanup();
  await emu?.close();
  panel = undefined;
  emu = undefined;
});

const start = async (perms: { updateSettings?: boolean } = { updateSettings: true }) => {
  const started = await startEmulator({ signingKey: key });
  emu = started;
  panel = createPanel();
  panel.fx.store.sync.servers.add(emulatorServer(started));
  return { agent: await signedIn(panel, 'admin@example.com', perms), emu: started };
};

describe('Check Configuration', () => {
  it('shows every step passed with a tick for a good setup, without the secret or a token', async () => {
    const { agent, emu } = await start();
    const page = await agent.get('/servers/1');
    expect(page.text).toContain('<button type="submit">Check Configuration</button>');
    const res = await agent.post('/servers/1/check');
    expect(res.status).toBe(200);
    const text = visibleText(res.text);
    expect(text).toContain('All checks passed.');
    for (const title of ['Configuration and data folder', 'Clock', 'Network and TLS', 'Token', 'SMTP session']) {
      expect(text).toContain(`✓ ${title} (passed)`);
    }
    expect(text).toContain('✓ roles: SMTP.SendAsApp');
    expect(res.text).not.toContain(SEED.clientSecret);
    expect(res.text).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(emu.exchange.messages).toHaveLength(0);
  });

  it('marks the failed step with its fix and the steps it kept from running as skipped', async () => {
    const { agent, emu } = await start();
    emu.directory.getApp(SEED.tenantId, SEED.clientId).smtpSendAsAppConsented = false;
    const res = await agent.post('/servers/1/check');
    const text = visibleText(res.text);
    expect(res.text).toMatch(/class="flash flash-error" role="alert" id="check-result"/);
    expect(text).toContain('1 step failed.');
    expect(text).toContain('✗ Token (failed): got a token for the application, but its roles is (none), not SMTP.SendAsApp');
    expect(text).toContain('✗ roles: (none) (needs SMTP.SendAsApp)');
    expect(text).toContain('What it means: The app has no SMTP.SendAsApp permission');
    expect(text).toMatch(
      /How to fix it: In the app registration add the application permission Office 365 Exchange Online → SMTP\.SendAsApp/,
    );
    expect(text).toContain('– SMTP session (skipped): not run: there is no usable token (step 4)');
  });

  it('turns the server status into the authorization error it found, with its fix', async () => {
    const { agent, emu } = await start();
    // Working until now, as a delivery left it; then the secret is replaced in the app registration.
    panel?.fx.store.sync.servers.setStatus(1, { status: 'authorized', account: SEED.mailbox });
    const [secret] = emu.directory.getApp(SEED.tenantId, SEED.clientId).secrets;
    if (secret) secret.value = 'Xyz8Q~a-new-secret-the-relay-does-not-have';
    expect(visibleText((await agent.get('/servers/1')).text)).toContain(`Authorized as ${SEED.mailbox}`);

    const checked = visibleText((await agent.post('/servers/1/check')).text);
    expect(checked).toContain('✗ Token (failed): Microsoft refused the token request: AADSTS7000215');
    const shown = visibleText((await agent.get('/servers/1')).text);
    expect(shown).toMatch(/Error: AADSTS7000215 .*Fix: Invalid client secret\. Paste the client secret Value \(not the Secret ID\)/);
    expect(shown).not.toContain(`Authorized as ${SEED.mailbox}`);
    expect(checked).toContain('Error: AADSTS7000215');
  });

  it('shows the server as Authorized again once a check gets a token after a token error', async () => {
    const { agent } = await start();
    panel?.fx.store.sync.servers.setStatus(1, {
      status: 'error',
      code: 'AADSTS7000215',
      message: 'AADSTS7000215: Invalid client secret provided.',
      hint: 'Invalid client secret. Paste the client secret Value.',
    });
    const checked = visibleText((await agent.post('/servers/1/check')).text);
    expect(checked).toContain('All checks passed.');
    expect(checked).not.toContain('AADSTS7000215');
    expect(panel?.fx.store.sync.servers.get(1)).toMatchObject({ status: 'authorized', statusCode: null });
  });

  it('is refused to users without Settings: Update Settings, who do not see the button', async () => {
    const { agent, emu } = await start({ updateSettings: false });
    const page = await agent.get('/servers/1');
    expect(page.text).not.toContain('Check Configuration');
    const res = await agent.post('/servers/1/check');
    expect(res.status).toBe(403);
    expect(emu.identity.tokenRequests).toHaveLength(0);
  });

  it('refuses a check without the form token', async () => {
    const { agent, emu } = await start();
    const res = await agent.post('/servers/1/check', {}, { csrf: false });
    expect(res.status).toBe(403);
    expect(emu.identity.tokenRequests).toHaveLength(0);
  });
});
