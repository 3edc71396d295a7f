/**
 * Goes through the emulator's sign-in pages with plain HTTP, as a user would
 * with a browser: open the authorize URL, pick the account, tick the
 * organization checkbox if asked, press Accept (or Cancel), and return where
 * the emulator sends the browser back to the app. For route tests without a
 * browser; it reads only the emulator's own pages.
 */
import type { AuthorizePageName } from './authorize-pages.js';

/** Options of {@link completeAuthorize}. */
export interface CompleteAuthorizeOptions {
  /** Account to press on "Pick an account"; default the only one listed (an error when several are). */
  account?: string;
  /** Tick "Consent on behalf of your organization"; fails when the page has no such checkbox (non-admin). */
  consentForOrganization?: boolean;
  /** Press Cancel instead of Accept on "Permissions requested". */
  decline?: boolean;
  /** Timeout of each HTTP request in ms; default 5000. */
  timeoutMs?: number;
}

/** The flow ended on an error page (e.g. AADSTS50011) or on a page the options cannot answer. */
export class AuthorizePageError extends Error {
  constructor(
    message: string,
    /** The AADSTS number shown on an error page. */
    readonly aadsts: number | undefined,
    /** HTTP status of the last page. */
    readonly status: number,
    /** The last page's HTML. */
    readonly html: string,
  ) {
    super(message);
    this.name = 'AuthorizePageError';
  }
}

const MAX_STEPS = 5;

/**
 * Follows the authorize pages from `url` and returns the URL the browser is sent
 * back to (`redirect_uri?code=…&state=…` or `?error=…`). With `response_mode=form_post`
 * the posted fields come back as the query of the returned URL.
 */
export async function completeAuthorize(url: string, options: CompleteAuthorizeOptions = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 5000;
  let response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  let pageUrl = url;
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) return new URL(location, pageUrl).toString();
    const html = await response.text();
    const page = /<main data-page="([a-z-]+)"/.exec(html)?.[1] as AuthorizePageName | undefined;
    const form = readForm(html, pageUrl);
    let fields: Array<[string, string]>;
    switch (page) {
      case 'form-post':
        return `${form.action}${form.action.includes('?') ? '&' : '?'}${new URLSearchParams(form.hidden).toString()}`;
      case 'pick-account':
        fields = [...form.hidden, ['account', chooseAccount(html, options.account, response.status)]];
        break;
      case 'consent': {
        fields = [...form.hidden];
        if (options.consentForOrganization) {
          if (!html.includes('name="ConsentForOrganization"')) {
            throw new AuthorizePageError(
              'the consent page offers no organization checkbox (not an admin?)',
              undefined,
              response.status,
              html,
            );
          }
          fields.push(['ConsentForOrganization', 'true']);
        }
        fields.push(['action', options.decline ? 'cancel' : 'accept']);
        break;
      }
      default: {
        const message = decode(/<p id="error-message"[^>]*>([^<]*)<\/p>/.exec(html)?.[1] ?? `unexpected page (HTTP ${response.status})`);
        const aadsts = /^AADSTS(\d+)/.exec(message)?.[1];
        throw new AuthorizePageError(message, aadsts ? Number(aadsts) : undefined, response.status, html);
      }
    }
    pageUrl = form.action;
    response = await fetch(form.action, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
  }
  throw new AuthorizePageError(`no redirect after ${MAX_STEPS} pages`, undefined, response.status, '');
}

function readForm(html: string, base: string): { action: string; hidden: Array<[string, string]> } {
  const action = decode(/<form method="post" action="([^"]*)"/.exec(html)?.[1] ?? '');
  const hidden = [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m): [string, string] => [
    decode(m[1] ?? ''),
    decode(m[2] ?? ''),
  ]);
  return { action: action ? new URL(action, base).toString() : base, hidden };
}

function chooseAccount(html: string, wanted: string | undefined, status: number): string {
  const accounts = [...html.matchAll(/name="account" value="([^"]*)"/g)].map((m) => decode(m[1] ?? ''));
  if (wanted !== undefined) {
    // A typed address the page does not list still goes through: the emulator answers it (AADSTS50034).
    return wanted;
  }
  if (accounts.length === 1 && accounts[0] !== undefined) return accounts[0];
  throw new AuthorizePageError(`pick one of these accounts: ${accounts.join(', ') || '(none)'}`, undefined, status, html);
}

function decode(text: string): string {
  return text.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)));
}
