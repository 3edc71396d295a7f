// The sign-in pages in a real Chromium (playwright-core), clicked the way the admin guide describes:
// pick the account, tick "Consent on behalf of your organization", Accept; MSAL then redeems the code.
import { ConfidentialClientApplication, CryptoProvider } from '@azure/msal-node';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  assertEmulatorTrusted,
  createSigningKey,
  msalAuthorityMetadata,
  SEED,
  startEmulator,
  type Emulator,
  type SigningKey,
} from '../emulator/index.js';
import { chromiumAvailable, launchChromium, type Chromium } from './chromium.js';

const SCOPES = ['https://outlook.office.com/SMTP.Send', 'offline_access'];

describe.skipIf(!chromiumAvailable())('sign-in pages in Chromium', () => {
  let browser: Chromium;
  let signingKey: SigningKey;
  let emu: Emulator;
  let page: Page;

  beforeAll(async () => {
    assertEmulatorTrusted();
    signingKey = await createSigningKey();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    emu = await startEmulator({ signingKey });
    page = await browser.context.newPage();
    // Nothing listens on the redirect URI: the tests read the request the browser makes to it.
    await page.route(`${SEED.redirectUri}**`, (route) => route.abort());
  });
  afterEach(async () => {
    await page?.close();
    await emu.close();
  });

  /** Clicks `button` and returns the URL the browser is then sent to on the redirect URI. */
  async function clickToCallback(button: string): Promise<URL> {
    const request = page.waitForRequest((r) => r.url().startsWith(SEED.redirectUri));
    await page.getByRole('button', { name: button, exact: true }).click();
    return new URL((await request).url());
  }

  async function openAuthorize(): Promise<{ cca: ConfidentialClientApplication; verifier: string; state: string }> {
    const cca = new ConfidentialClientApplication({
      auth: {
        clientId: SEED.clientId,
        clientSecret: SEED.clientSecret,
        authority: emu.identity.authority(SEED.tenantId),
        knownAuthorities: [emu.knownAuthority],
        authorityMetadata: msalAuthorityMetadata(emu.authorityHost),
      },
    });
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const state = 'browser-state';
    const url = await cca.getAuthCodeUrl({
      scopes: SCOPES,
      redirectUri: SEED.redirectUri,
      state,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      prompt: 'select_account',
    });
    await page.goto(url);
    return { cca, verifier, state };
  }

  it('picks the account, consents for the organization, accepts, and MSAL redeems the code', async () => {
    emu.identity.revokeConsent();
    const { cca, verifier, state } = await openAuthorize();
    await page.getByRole('heading', { name: 'Pick an account' }).waitFor();
    await page.getByRole('button', { name: SEED.mailbox, exact: true }).click();
    await page.getByRole('heading', { name: 'Permissions requested' }).waitFor();
    await page.getByRole('checkbox', { name: 'Consent on behalf of your organization' }).check();
    const answer = Object.fromEntries((await clickToCallback('Accept')).searchParams);
    expect(answer['state']).toBe(state);
    const code = answer['code'] ?? '';
    const result = await cca.acquireTokenByCode(
      { code, scopes: SCOPES, redirectUri: SEED.redirectUri, codeVerifier: verifier, state },
      { code, state: answer['state'], client_info: answer['client_info'] },
    );
    expect(result.account?.username).toBe(SEED.mailbox);
    expect(emu.identity.consents).toEqual([expect.objectContaining({ consentType: 'AllPrincipals' })]);
  });

  it('sends Cancel back to the app as access_denied', async () => {
    emu.identity.revokeConsent();
    await openAuthorize();
    await page.getByRole('button', { name: SEED.mailbox, exact: true }).click();
    const answer = await clickToCallback('Cancel');
    expect(answer.searchParams.get('error')).toBe('access_denied');
    expect(answer.searchParams.get('error_description')).toMatch(/^AADSTS65004: User declined to consent to access the app\./);
  });
});
