/**
 * Office 365 Client Certificate end to end, seen from the Microsoft 365
 * emulator: a server whose certificate is registered at the app and that has
 * no client secret delivers with Application sign-in and with Authorize
 * Account, over SMTP and over Microsoft Graph, every token request signed as a
 * client assertion; a certificate the app does not know holds the mail with
 * AADSTS700027 and its fix; and with both credentials set the certificate signs in.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addUser } from '../../src/admin/accounts.js';
import { createAuthorizeFlow } from '../../src/admin/authorize-flow.js';
import { AADSTS_HINTS } from '../../src/auth/hints.js';
import { silentLogger } from '../../src/log.js';
import type { ServerSettings } from '../../src/store/servers.js';
import { createSigningKey, createTestCertificate, SEED, type SigningKey, type TestCertificate } from '../emulator/index.js';
import { startHarness, testMessage, type Harness } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

let signingKey: SigningKey;
let registered: TestCertificate;
let unregistered: TestCertificate;
let h: Harness;

beforeAll(async () => {
  [signingKey, registered, unregistered] = await Promise.all([
    createSigningKey(),
    createTestCertificate({ commonName: 'relay365 registered' }),
    createTestCertificate({ commonName: 'relay365 not registered' }),
  ]);
});
afterEach(() => h.close());

/** The value an admin pastes: the certificate, then its private key. */
const pem = (certificate: TestCertificate): string => `${certificate.certPem}${certificate.keyPem}`;
const status = (id: string) => h.fx.store.sync.queue.get(id)?.status;
const server = () => h.fx.store.sync.servers.get(h.serverId());
/** How each token request authenticated the app, with its grant. */
const tokenAuth = () => h.emu.identity.tokenRequests.map((r) => [r.grant_type, r.clientAuth, r.ok]);

/** A harness whose server signs in with `certificate` (registered at the app unless said otherwise) and no client secret. */
async function setup(overrides: Partial<ServerSettings> = {}, certificate = registered): Promise<void> {
  h = await startHarness({ signingKey, server: { clientSecret: null, clientCertificate: pem(certificate), ...overrides } });
  h.emu.directory.addCertificate(SEED.tenantId, SEED.clientId, registered.certPem);
}

/**
 * Authorize Account as the panel runs it (src/admin/authorize-flow.ts): its MSAL client is built from the
 * stored credentials, so the code is redeemed with the certificate too.
 */
async function authorizeAccountAsPanel(): Promise<void> {
  const user = await addUser(h.fx.store, {
    email: 'admin@contoso.test',
    password: 'correct horse battery staple',
    isSuperAdmin: true,
    canUpdateSettings: true,
  });
  const { session } = h.fx.store.sync.sessions.create(user.id);
  const flow = createAuthorizeFlow({
    store: h.fx.store,
    relay: h.relay,
    log: silentLogger,
    publicUrl: new URL(SEED.redirectUri).origin,
    now: h.now,
  });
  const back = new URL(await h.emu.identity.completeAuthorize(await flow.start(server()!, session), { account: SEED.mailbox }));
  const params = back.searchParams;
  const result = await flow.finish(
    {
      state: params.get('state') ?? undefined,
      code: params.get('code') ?? undefined,
      error: params.get('error') ?? undefined,
      errorDescription: params.get('error_description') ?? undefined,
    },
    session,
  );
  if (result.kind === 'failed') throw result.error;
  expect(result).toMatchObject({ kind: 'authorized', account: SEED.mailbox });
}

describe('Office 365 Client Certificate', () => {
  it('delivers over SMTP with Application sign-in, the token asked for with a client assertion', async () => {
    await setup();
    expect(server()).toMatchObject({
      hasClientSecret: false,
      hasClientCertificate: true,
      clientCertificateThumbprint: registered.thumbprintSha256,
    });
    const id = await h.submit(testMessage('certificate over SMTP'));
    const [message] = await h.emu.exchange.waitForMessages(1, 10_000);
    expect(message).toMatchObject({ user: SEED.mailbox, tokenKind: 'app' });
    await waitFor(() => status(id) === 'delivered', 'delivered');
    expect(tokenAuth()).toEqual([['client_credentials', 'assertion', true]]);
  });

  it('delivers through Microsoft Graph with Application sign-in, the token asked for with a client assertion', async () => {
    await setup({ sendVia: 'graph' });
    const id = await h.submit(testMessage('certificate over Graph'));
    const [message] = await h.emu.graph.waitForMessages(1, 10_000);
    expect(message).toMatchObject({ via: 'mime', mailbox: SEED.mailbox, tokenKind: 'app', principal: SEED.clientId });
    await waitFor(() => status(id) === 'delivered', 'delivered');
    expect(tokenAuth()).toEqual([['client_credentials', 'assertion', true]]);
    expect(h.emu.identity.tokenRequests[0]?.scope).toBe(`${h.emu.graphUrl}/.default`);
  });

  it.each(['smtp', 'graph'] as const)(
    'authorizes an account and delivers via %s with it, code and refresh both redeemed with a client assertion',
    async (sendVia) => {
      // Delegated SMTP.Send belongs to https://outlook.office.com (MICROSOFT.md).
      await setup({ signInMode: 'authorize', smtpResource: 'https://outlook.office.com', mailbox: null, sendVia });
      // Shorter than MSAL's five-minute renewal offset: the relay's first token is a refresh, not the cached one.
      h.emu.identity.settings.tokenLifetimeSeconds = 120;
      await authorizeAccountAsPanel();
      const id = await h.submit(testMessage(`Authorize Account via ${sendVia}`));
      if (sendVia === 'smtp') {
        const [message] = await h.emu.exchange.waitForMessages(1, 10_000);
        expect(message).toMatchObject({ user: SEED.mailbox, tokenKind: 'delegated' });
      } else {
        const [message] = await h.emu.graph.waitForMessages(1, 10_000);
        expect(message).toMatchObject({ mailbox: SEED.mailbox, tokenKind: 'delegated' });
      }
      await waitFor(() => status(id) === 'delivered', 'delivered');
      expect(tokenAuth()).toEqual([
        ['authorization_code', 'assertion', true],
        ['refresh_token', 'assertion', true],
      ]);
    },
  );

  it('holds the mail with AADSTS700027 and its fix while the certificate is not registered at the app', async () => {
    await setup({}, unregistered);
    const id = await h.submit(testMessage('unknown certificate'));
    await waitFor(() => status(id) === 'held', 'held');
    const hint = AADSTS_HINTS['700027']!;
    expect(server()).toMatchObject({ status: 'error', statusCode: 'AADSTS700027' });
    expect(server()?.statusMessage).toContain(
      'The certificate with identifier used to sign the client assertion is not registered on application.',
    );
    expect(server()?.statusHint).toContain(hint.fix);
    expect(tokenAuth()).toEqual([['client_credentials', 'assertion', false]]);
    expect(h.emu.exchange.messages).toHaveLength(0);

    // Uploading the certificate to the app registration is the fix: the held mail goes once the admin retries.
    h.emu.directory.addCertificate(SEED.tenantId, SEED.clientId, unregistered.certPem);
    h.relay.settingsChanged();
    await h.emu.exchange.waitForMessages(1, 10_000);
    await waitFor(() => status(id) === 'delivered', 'delivered after the upload');
  });

  it('signs in with the certificate when a client secret is set too', async () => {
    // The secret is wrong: a token with it would be refused with AADSTS7000215.
    await setup({ clientSecret: 'not-the-secret-value' });
    expect(server()).toMatchObject({ hasClientSecret: true, hasClientCertificate: true });
    const id = await h.submit(testMessage('both credentials'));
    await h.emu.exchange.waitForMessages(1, 10_000);
    await waitFor(() => status(id) === 'delivered', 'delivered');
    expect(tokenAuth()).toEqual([['client_credentials', 'assertion', true]]);
  });
});
