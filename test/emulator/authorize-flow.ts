/**
 * The interactive half of the identity emulator: `GET /{tenant}/oauth2/v2.0/authorize`,
 * then "Pick an account" (`POST /{tenant}/login`) and "Permissions requested"
 * (`POST /{tenant}/Consent/Set`), ending in a redirect to the app with a code or
 * an error. The browser keeps no state: each page carries a `flowToken` naming
 * the pending request, which the emulator holds for 30 minutes (AADSTS50089 after).
 * There is no password step and no session: every sign-in starts afresh.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AuthorizationCodeStore } from './authorization-codes.js';
import { consentPage, errorPage, formPostPage, pickAccountPage, type AuthorizePageName } from './authorize-pages.js';
import { checkAuthorizeRequest, type RedirectTarget, type ValidAuthorizeRequest } from './authorize-request.js';
import { grantConsent, hasDelegatedConsent, permissionLines, requestedGraphPermissions } from './consent.js';
import type { Directory, Mailbox } from './directory.js';
import { entraError, type ErrorParams } from './entra-errors.js';
import { clientInfo, parseScopes } from './tokens.js';

/** One authorize request, updated as the user goes through the pages. */
export interface AuthorizeRequestRecord {
  /** The tenant path segment as sent. */
  tenant: string;
  clientId: string;
  redirectUri: string;
  responseType: string;
  responseMode: string;
  scope: string;
  state?: string;
  prompt?: string;
  loginHint?: string;
  nonce?: string;
  /** A `code_challenge` was sent. */
  pkce: boolean;
  /** The `code_challenge_method` as sent. */
  codeChallengeMethod?: string;
  /** PKCE with S256, what relay365 must use. */
  pkceS256: boolean;
  /** Every query parameter as sent (MSAL's `x-client-SKU`, `client-request-id`, …). */
  query: Record<string, string>;
  at: number;
  /** Pages shown, in order. */
  pages: AuthorizePageName[];
  /** `pending` while a page waits for the user. */
  outcome: 'pending' | 'code' | 'error';
  /** The AADSTS number of an error page or error redirect. */
  aadsts?: number;
  /** The account picked (or taken from login_hint). */
  user?: string;
  /** How consent was settled: it existed, the user gave it (for self or organization), or declined. */
  consent?: 'existing' | 'user' | 'organization' | 'declined';
}

/** An HTTP answer for the server to write. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What the flow needs from the identity emulator. */
export interface AuthorizeFlowOptions {
  directory: Directory;
  codes: AuthorizationCodeStore;
  records: AuthorizeRequestRecord[];
  now: () => number;
  authorityHost: () => string;
  /** The emulator's own Graph URLs (see `isGraphResource`). */
  graphResources: readonly string[];
}

interface Pending {
  request: ValidAuthorizeRequest;
  record: AuthorizeRequestRecord;
  segment: string;
  user?: Mailbox;
  expiresAt: number;
}

const FLOW_TOKEN_LIFETIME_MS = 30 * 60 * 1000;
const HTML_HEADERS = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store, no-cache', 'x-frame-options': 'DENY' };
/** Prompts that show the account picker even when login_hint names a user. */
const PICKER_PROMPTS = new Set(['select_account', 'login', 'create']);

/** The authorize endpoint and its pages. */
export class AuthorizeFlow {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly options: AuthorizeFlowOptions) {}

  /** `GET /{segment}/oauth2/v2.0/authorize`; `fault` answers a valid request with that error instead. */
  start(segment: string, query: URLSearchParams, correlationId?: string, fault?: { aadsts: number; params?: ErrorParams }): HttpAnswer {
    const record = this.record(segment, query);
    const check = checkAuthorizeRequest(segment, query, this.options.directory, this.options.graphResources);
    if (check.kind === 'page') return this.errorPage(record, check.aadsts, check.params, correlationId);
    if (check.kind === 'redirect') return this.errorRedirect(record, check.target, check.aadsts, check.params, correlationId);
    const { request } = check;
    if (fault) return this.errorRedirect(record, request.target, fault.aadsts, fault.params ?? {}, correlationId);
    this.prune();
    const flowToken = randomBytes(32).toString('base64url');
    const pending: Pending = { request, record, segment, expiresAt: this.options.now() + FLOW_TOKEN_LIFETIME_MS };
    this.pending.set(flowToken, pending);
    const hinted = request.loginHint ? this.signInUser(request, request.loginHint) : undefined;
    if (hinted && !PICKER_PROMPTS.has(request.prompt ?? '')) return this.afterSignIn(flowToken, pending, hinted);
    return this.pickAccount(flowToken, pending);
  }

  /** `POST /{segment}/login` from "Pick an account". */
  login(form: URLSearchParams, correlationId?: string): HttpAnswer {
    const found = this.takePending(form, correlationId);
    if ('status' in found) return found;
    const [flowToken, pending] = found;
    const account = form.get('account') ?? '';
    const user = this.signInUser(pending.request, account);
    if (!user) {
      this.pending.delete(flowToken);
      const params = { user: account, tenant: pending.request.tenant.id };
      return this.errorPage(pending.record, 50034, params, correlationId);
    }
    return this.afterSignIn(flowToken, pending, user);
  }

  /** `POST /{segment}/Consent/Set` from "Permissions requested": Accept or Cancel. */
  consent(form: URLSearchParams, correlationId?: string): HttpAnswer {
    const found = this.takePending(form, correlationId);
    if ('status' in found) return found;
    const [flowToken, pending] = found;
    const { request, record, user } = pending;
    if (!user) return this.pickAccount(flowToken, pending);
    this.pending.delete(flowToken);
    if (form.get('action') !== 'accept') {
      record.consent = 'declined';
      return this.errorRedirect(record, request.target, 65004, {}, correlationId, { error_subcode: 'cancel' });
    }
    // The checkbox only exists for admins; a forged one from anyone else is ignored.
    const forOrganization = form.get('ConsentForOrganization') === 'true' && user.isAdmin;
    grantConsent(request.app, user.address, forOrganization, this.graphPermissions(request));
    record.consent = forOrganization ? 'organization' : 'user';
    return this.issueCode(pending, user);
  }

  /** The Graph permissions the request asks for, or undefined for Exchange's. */
  private graphPermissions(request: ValidAuthorizeRequest): string[] | undefined {
    return requestedGraphPermissions(parseScopes(request.scopes.join(' ')), this.options.graphResources);
  }

  /** Forgets pages nobody finished in time. */
  private prune(): void {
    const now = this.options.now();
    for (const [token, pending] of this.pending) if (pending.expiresAt <= now) this.pending.delete(token);
  }

  private record(segment: string, query: URLSearchParams): AuthorizeRequestRecord {
    const challenge = query.get('code_challenge');
    const method = query.get('code_challenge_method') ?? undefined;
    const record: AuthorizeRequestRecord = {
      tenant: segment,
      clientId: query.get('client_id') ?? '',
      redirectUri: query.get('redirect_uri') ?? '',
      responseType: query.get('response_type') ?? '',
      responseMode: query.get('response_mode') ?? 'query',
      scope: query.get('scope') ?? '',
      state: query.get('state') ?? undefined,
      prompt: query.get('prompt') ?? undefined,
      loginHint: query.get('login_hint') ?? undefined,
      nonce: query.get('nonce') ?? undefined,
      pkce: challenge !== null,
      codeChallengeMethod: method,
      pkceS256: challenge !== null && method === 'S256',
      query: Object.fromEntries(query),
      at: this.options.now(),
      pages: [],
      outcome: 'pending',
    };
    this.options.records.push(record);
    return record;
  }

  private signInUser(request: ValidAuthorizeRequest, address: string): Mailbox | undefined {
    const user = request.tenant.mailboxes.get(address.trim().toLowerCase());
    return user && !user.shared ? user : undefined;
  }

  private takePending(form: URLSearchParams, correlationId?: string): [string, Pending] | HttpAnswer {
    const flowToken = form.get('flowToken') ?? '';
    const pending = this.pending.get(flowToken);
    if (pending && pending.expiresAt > this.options.now()) return [flowToken, pending];
    this.pending.delete(flowToken);
    return this.errorPage(pending?.record, 50089, {}, correlationId);
  }

  private pickAccount(flowToken: string, pending: Pending): HttpAnswer {
    pending.record.pages.push('pick-account');
    const accounts = [...pending.request.tenant.mailboxes.values()]
      .filter((m) => !m.shared)
      .sort((a, b) => a.address.localeCompare(b.address))
      .map((m) => ({ address: m.address, displayName: m.displayName }));
    const action = `/${encodeURIComponent(pending.segment)}/login`;
    return html(200, pickAccountPage({ action, flowToken, accounts }));
  }

  private afterSignIn(flowToken: string, pending: Pending, user: Mailbox): HttpAnswer {
    const { request, record } = pending;
    pending.user = user;
    record.user = user.address;
    if (request.prompt === 'consent' || !hasDelegatedConsent(request.app, user.address, this.graphPermissions(request))) {
      record.pages.push('consent');
      return html(
        200,
        consentPage({
          action: `/${encodeURIComponent(pending.segment)}/Consent/Set`,
          flowToken,
          user: user.address,
          appName: request.app.displayName,
          permissions: permissionLines(parseScopes(request.scopes.join(' ')), this.options.graphResources),
          canConsentForOrganization: user.isAdmin,
        }),
      );
    }
    this.pending.delete(flowToken);
    record.consent = 'existing';
    return this.issueCode(pending, user);
  }

  private issueCode(pending: Pending, user: Mailbox): HttpAnswer {
    const { request, record } = pending;
    const code = this.options.codes.issue(
      {
        tenantId: request.tenant.id,
        clientId: request.app.clientId,
        userAddress: user.address,
        redirectUri: request.target.redirectUri,
        scopes: request.scopes,
        nonce: request.nonce,
        codeChallenge: request.codeChallenge,
        codeChallengeMethod: request.codeChallengeMethod,
      },
      this.options.now(),
    );
    record.outcome = 'code';
    const fields: Array<[string, string]> = [['code', code.code]];
    if (request.includeClientInfo) fields.push(['client_info', clientInfo(user, request.tenant)]);
    if (request.target.state !== undefined) fields.push(['state', request.target.state]);
    fields.push(['session_state', randomUUID()]);
    return redirect(request.target, fields);
  }

  private errorPage(record: AuthorizeRequestRecord | undefined, aadsts: number, params: ErrorParams, correlationId?: string): HttpAnswer {
    const { body } = entraError(aadsts, params, { now: this.options.now(), correlationId, authorityHost: this.options.authorityHost() });
    if (record) {
      record.outcome = 'error';
      record.aadsts = aadsts;
      record.pages.push('error');
    }
    const message = body.error_description.split('\r\n')[0] ?? '';
    return html(400, errorPage({ message, traceId: body.trace_id, correlationId: body.correlation_id, timestamp: body.timestamp }));
  }

  private errorRedirect(
    record: AuthorizeRequestRecord,
    target: RedirectTarget,
    aadsts: number,
    params: ErrorParams,
    correlationId?: string,
    extra: Record<string, string> = {},
  ): HttpAnswer {
    const { body } = entraError(aadsts, params, { now: this.options.now(), correlationId, authorityHost: this.options.authorityHost() });
    record.outcome = 'error';
    record.aadsts = aadsts;
    const fields: Array<[string, string]> = [['error', body.error], ...Object.entries(extra)];
    fields.push(['error_description', body.error_description], ['error_uri', body.error_uri]);
    if (target.state !== undefined) fields.push(['state', target.state]);
    return redirect(target, fields);
  }
}

function html(status: number, body: string): HttpAnswer {
  return { status, headers: { ...HTML_HEADERS }, body };
}

/** Sends the answer to the app: 302 with a query or fragment, or a self-posting form. */
function redirect(target: RedirectTarget, fields: Array<[string, string]>): HttpAnswer {
  if (target.responseMode === 'form_post') return html(200, formPostPage(target.redirectUri, fields));
  const encoded = new URLSearchParams(fields).toString();
  let location: string;
  if (target.responseMode === 'fragment') {
    location = `${target.redirectUri.split('#')[0] ?? ''}#${encoded}`;
  } else {
    const url = new URL(target.redirectUri);
    for (const [name, value] of fields) url.searchParams.append(name, value);
    location = url.toString();
  }
  return { status: 302, headers: { location, 'cache-control': 'no-store, no-cache' }, body: '' };
}
