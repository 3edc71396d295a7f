// The authorize endpoint and its pages over plain HTTP: validation, "Pick an account",
// "Permissions requested" with organization consent, Cancel, and the error page.
import { beforeEach, describe, expect, it } from 'vitest';
import { AuthorizePageError, SEED, type AuthorizeUrlInput } from './index.js';
import { emulatorPerTest } from './test-context.js';

const MINUTE_MS = 60_000;

const ctx = emulatorPerTest();
beforeEach(() => {
  ctx.emu.directory.addUser(SEED.tenantId, { address: 'printer@contoso.test', displayName: 'Printer Room' });
  ctx.emu.directory.addUser(SEED.tenantId, { address: 'info@contoso.test', shared: true });
});

function authorizeUrl(input: Partial<AuthorizeUrlInput> = {}): string {
  return ctx.emu.identity.authorizeUrl({
    tenant: SEED.tenantId,
    clientId: SEED.clientId,
    redirectUri: SEED.redirectUri,
    state: 'st-1',
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    prompt: 'select_account',
    ...input,
  });
}

async function get(url: string): Promise<{ status: number; location: string | null; html: string }> {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

async function post(path: string, form: Record<string, string>): Promise<{ status: number; location: string | null; html: string }> {
  const res = await fetch(`${ctx.emu.authorityHost}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

const flowToken = (html: string): string => /name="flowToken" value="([^"]*)"/.exec(html)?.[1] ?? '';
const query = (location: string): Record<string, string> => Object.fromEntries(new URL(location).searchParams);

describe('Pick an account', () => {
  it('lists the users who can sign in, one button each, and no shared mailbox', async () => {
    const page = await get(authorizeUrl());
    expect(page.status).toBe(200);
    expect(page.html).toContain('<title>Sign in to your account</title>');
    expect(page.html).toContain('<h1>Pick an account</h1>');
    const accounts = [...page.html.matchAll(/name="account" value="([^"]*)"/g)].map((m) => m[1]);
    expect(accounts).toEqual(['printer@contoso.test', SEED.mailbox]);
    expect(page.html).toMatch(
      /<button type="submit" class="tile" name="account" value="relay@contoso.test" aria-labelledby="account-1-upn"/,
    );
    expect(page.html).toContain('<span class="upn" id="account-1-upn">relay@contoso.test</span>');
  });

  it('skips the picker for a login_hint user unless prompt=select_account', async () => {
    const direct = await get(authorizeUrl({ prompt: undefined, loginHint: SEED.mailbox }));
    expect(direct.status).toBe(302);
    expect(query(direct.location ?? '')).toMatchObject({ state: 'st-1', code: expect.stringMatching(/^1\.A/) });
    const picker = await get(authorizeUrl({ loginHint: SEED.mailbox }));
    expect(picker.html).toContain('<h1>Pick an account</h1>');
  });

  it('answers an account outside the directory with AADSTS50034 and an old page with AADSTS50089', async () => {
    const first = await get(authorizeUrl());
    const unknown = await post(`/${SEED.tenantId}/login`, { flowToken: flowToken(first.html), account: 'nobody@contoso.test' });
    expect(unknown.html).toContain('AADSTS50034: The user account nobody@contoso.test does not exist');
    const second = await get(authorizeUrl());
    ctx.clock += 31 * MINUTE_MS;
    const late = await post(`/${SEED.tenantId}/login`, { flowToken: flowToken(second.html), account: SEED.mailbox });
    expect([late.status, late.location]).toEqual([400, null]);
    expect(late.html).toContain('AADSTS50089: Authentication failed due to flow token expired.');
  });
});

describe('Permissions requested', () => {
  it('asks an admin, offers the organization checkbox, and consents for the organization', async () => {
    ctx.emu.identity.revokeConsent();
    const picker = await get(authorizeUrl());
    const page = await post(`/${SEED.tenantId}/login`, { flowToken: flowToken(picker.html), account: SEED.mailbox });
    expect(page.status).toBe(200);
    expect(page.html).toContain('<h1>Permissions requested</h1>');
    expect(page.html).toContain('<li>Send emails from mailboxes using SMTP AUTH</li>');
    expect(page.html).toContain('<li>Maintain access to data you have given it access to</li>');
    expect(page.html).toContain('<label for="consent-for-organization">Consent on behalf of your organization</label>');
    expect(page.html).toContain('value="accept">Accept</button>');
    expect(page.html).toContain('value="cancel">Cancel</button>');
    const accepted = await post(`/${SEED.tenantId}/Consent/Set`, {
      flowToken: flowToken(page.html),
      ConsentForOrganization: 'true',
      action: 'accept',
    });
    expect(accepted.status).toBe(302);
    const answer = query(accepted.location ?? '');
    expect(Object.keys(answer)).toEqual(['code', 'client_info', 'state', 'session_state']);
    expect(ctx.emu.identity.consents).toEqual([expect.objectContaining({ consentType: 'AllPrincipals', clientId: SEED.clientId })]);
    expect(ctx.emu.identity.authorizeRequests[0]).toMatchObject({ pages: ['pick-account', 'consent'], consent: 'organization' });
  });

  it('lets a user who is not an admin consent only for themselves', async () => {
    ctx.emu.identity.revokeConsent();
    await expect(
      ctx.emu.identity.completeAuthorize(authorizeUrl(), { account: 'printer@contoso.test', consentForOrganization: true }),
    ).rejects.toThrow(/no organization checkbox/);
    const answer = query(await ctx.emu.identity.completeAuthorize(authorizeUrl(), { account: 'printer@contoso.test' }));
    expect(answer['code']).toBeTruthy();
    expect(ctx.emu.identity.consents).toEqual([expect.objectContaining({ consentType: 'Principal', principal: 'printer@contoso.test' })]);
    // The printer user is not asked again; the admin still is, for nobody consented for the organization.
    await ctx.emu.identity.completeAuthorize(authorizeUrl(), { account: 'printer@contoso.test' });
    await ctx.emu.identity.completeAuthorize(authorizeUrl(), { account: SEED.mailbox });
    expect(ctx.emu.identity.authorizeRequests.slice(-2).map((r) => r.pages)).toEqual([['pick-account'], ['pick-account', 'consent']]);
  });

  it('shows the page despite existing consent when prompt=consent', async () => {
    await ctx.emu.identity.completeAuthorize(authorizeUrl({ prompt: 'consent' }), { account: SEED.mailbox });
    expect(ctx.emu.identity.authorizeRequests[0]).toMatchObject({ pages: ['pick-account', 'consent'], consent: 'user' });
  });

  it('sends Cancel back as access_denied with AADSTS65004 and records no consent', async () => {
    ctx.emu.identity.revokeConsent();
    const answer = query(await ctx.emu.identity.completeAuthorize(authorizeUrl(), { account: SEED.mailbox, decline: true }));
    expect(answer).toMatchObject({ error: 'access_denied', error_subcode: 'cancel', state: 'st-1' });
    expect(answer['error_description']).toMatch(/^AADSTS65004: User declined to consent to access the app\.\r\nTrace ID: /);
    expect(ctx.emu.identity.consents).toEqual([]);
    expect(ctx.emu.identity.authorizeRequests[0]).toMatchObject({ outcome: 'error', aadsts: 65004, consent: 'declined' });
  });
});

describe('authorize request validation', () => {
  it('shows AADSTS50011 on an error page, without redirecting, for an unregistered redirect URI', async () => {
    const redirectUri = `${SEED.redirectUri}/`;
    const page = await get(authorizeUrl({ redirectUri }));
    expect([page.status, page.location]).toEqual([400, null]);
    expect(page.html).toContain('Sorry, but we’re having trouble signing you in.');
    expect(page.html).toContain(
      `AADSTS50011: The redirect URI &#39;${redirectUri}&#39; specified in the request does not match the redirect URIs configured for the application &#39;${SEED.clientId}&#39;.`,
    );
    const err = await ctx.emu.identity.completeAuthorize(authorizeUrl({ redirectUri })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthorizePageError);
    expect(err).toMatchObject({ aadsts: 50011, status: 400 });
    expect((err as Error).message).toMatch(
      /^AADSTS50011: The redirect URI 'http:\/\/localhost:8025\/oauth\/office365\/callback\/' specified/,
    );
    expect(ctx.emu.identity.authorizeRequests.at(-1)).toMatchObject({ outcome: 'error', aadsts: 50011, redirectUri });
  });

  it('shows AADSTS90002 for an unknown tenant and AADSTS700016 for an unknown app', async () => {
    const tenant = await get(authorizeUrl({ tenant: '00000000-1111-4222-8333-444444444444' }));
    expect(tenant.html).toContain('AADSTS90002: Tenant &#39;00000000-1111-4222-8333-444444444444&#39; not found.');
    const app = await get(authorizeUrl({ clientId: '11111111-2222-4333-8444-555555555555' }));
    expect(app.html).toContain('AADSTS700016: Application with identifier &#39;11111111-2222-4333-8444-555555555555&#39; was not found');
  });

  it('redirects scope and PKCE errors back to the app once the redirect URI is known', async () => {
    const mixed = await get(authorizeUrl({ scopes: ['https://outlook.office.com/SMTP.Send', 'https://graph.microsoft.com/User.Read'] }));
    expect(query(mixed.location ?? '')).toMatchObject({ error: 'invalid_scope', state: 'st-1' });
    expect(query(mixed.location ?? '')['error_description']).toMatch(/^AADSTS700022: /);
    const short = await get(authorizeUrl({ codeChallenge: 'too-short' }));
    expect(query(short.location ?? '')['error_description']).toMatch(/^AADSTS501491: Invalid size of Code_Challenge parameter\./);
    const silent = await get(authorizeUrl({ prompt: 'none' }));
    expect(query(silent.location ?? '')).toMatchObject({ error: 'login_required' });
  });

  it('answers an injected authorize fault by redirect', async () => {
    ctx.emu.identity.failNext({ endpoint: 'authorize', aadsts: 53003 });
    const answer = query((await get(authorizeUrl())).location ?? '');
    expect(answer['error_description']).toMatch(/^AADSTS53003: Access has been blocked by Conditional Access policies/);
    expect((await get(authorizeUrl())).status).toBe(200);
  });

  it('returns the code in a fragment or a self-posting form when asked', async () => {
    const fragment = await get(authorizeUrl({ responseMode: 'fragment', loginHint: SEED.mailbox, prompt: undefined }));
    expect(fragment.location).toMatch(/^http:\/\/localhost:8025\/oauth\/office365\/callback#code=1\.A[^&]+&client_info=/);
    const posted = await ctx.emu.identity.completeAuthorize(authorizeUrl({ responseMode: 'form_post' }), { account: SEED.mailbox });
    expect(query(posted)).toMatchObject({ code: expect.stringMatching(/^1\.A/), state: 'st-1' });
  });
});
