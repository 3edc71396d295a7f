/**
 * The HTML of the emulator's sign-in pages, in the look of Entra's: "Pick an
 * account", "Permissions requested" with the organization consent checkbox,
 * the "trouble signing you in" error page, and the self-posting form of
 * `response_mode=form_post`. Plain server-rendered forms that work without
 * JavaScript; `data-page` on `<main>` names the page for scripted clients.
 */
import type { PermissionLine } from './consent.js';

/** Page names as `<main data-page>` carries them. */
export type AuthorizePageName = 'pick-account' | 'consent' | 'error' | 'form-post';

/** One account tile on "Pick an account". */
export interface AccountTile {
  address: string;
  displayName: string;
}

/** Props of {@link pickAccountPage}. */
export interface PickAccountProps {
  /** Where the form posts (`/{tenant}/login`). */
  action: string;
  flowToken: string;
  accounts: AccountTile[];
}

/** Props of {@link consentPage}. */
export interface ConsentProps {
  /** Where the form posts (`/{tenant}/Consent/Set`). */
  action: string;
  flowToken: string;
  /** The signed-in user, shown at the top. */
  user: string;
  appName: string;
  permissions: PermissionLine[];
  /** Admins get the "Consent on behalf of your organization" checkbox. */
  canConsentForOrganization: boolean;
}

/** Props of {@link errorPage}. */
export interface ErrorPageProps {
  /** The first line of the Entra description, `AADSTSnnn: …`. */
  message: string;
  traceId: string;
  correlationId: string;
  timestamp: string;
}

/** Label of the organization consent checkbox. */
export const CONSENT_FOR_ORGANIZATION_LABEL = 'Consent on behalf of your organization';

const STYLE = `
body{margin:0;min-height:100vh;background:#f2f2f2;font-family:"Segoe UI","Helvetica Neue",Arial,sans-serif;color:#1b1b1b;display:flex;align-items:center;justify-content:center}
main{box-sizing:border-box;width:440px;max-width:100%;background:#fff;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
.logo{display:flex;align-items:center;gap:8px;font-size:15px;font-weight:600;color:#737373;margin-bottom:16px}
.logo i{display:inline-grid;grid-template-columns:9px 9px;gap:1px}.logo b{width:9px;height:9px;display:block}
h1{font-size:24px;font-weight:600;margin:16px 0 12px}
.account{font-size:15px;margin:0}
ul{list-style:none;padding:0;margin:0}
.tile{display:flex;align-items:center;gap:12px;width:100%;padding:12px;border:0;background:none;text-align:left;font:inherit;cursor:pointer}
.tile:hover,.tile:focus{background:#e6e6e6}
.avatar{width:40px;height:40px;border-radius:50%;background:#0067b8;color:#fff;display:flex;align-items:center;justify-content:center;font-weight:600}
.who{display:flex;flex-direction:column}.upn{font-size:13px;color:#605e5c}
.app{display:flex;gap:8px;align-items:baseline;margin-bottom:12px}.app-name{font-size:17px;font-weight:600}.publisher{font-size:13px;color:#605e5c}
.permissions li{padding:6px 0 6px 20px;position:relative}.permissions li::before{content:"✓";position:absolute;left:0;color:#107c10}
.checkbox{margin:16px 0;display:flex;gap:8px;align-items:center}
.note{font-size:13px;color:#605e5c}
.buttons{display:flex;flex-direction:row-reverse;gap:8px;margin-top:24px}
.buttons button{min-width:108px;min-height:32px;font:inherit;border:1px solid transparent;cursor:pointer}
.primary{background:#0067b8;color:#fff}.secondary{background:#ccc;color:#000}
dl{font-size:13px;color:#605e5c}dt{font-weight:600;margin-top:8px}dd{margin:0;word-break:break-all}
`;

const LOGO =
  '<div class="logo" role="img" aria-label="Microsoft"><i aria-hidden="true">' +
  '<b style="background:#f25022"></b><b style="background:#7fba00"></b><b style="background:#00a4ef"></b><b style="background:#ffb900"></b>' +
  '</i><span aria-hidden="true">Microsoft</span></div>';

/** Escapes text for HTML content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(page: AuthorizePageName, title: string, content: string): string {
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>` +
    `<body><main data-page="${page}">${LOGO}${content}</main></body></html>\n`
  );
}

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
}

/** "Pick an account": one submit button per account, named by its address. */
export function pickAccountPage(props: PickAccountProps): string {
  const tiles = props.accounts
    .map((account, i) => {
      const initial = escapeHtml((account.displayName.trim()[0] ?? '?').toUpperCase());
      return (
        `<li><button type="submit" class="tile" name="account" value="${escapeHtml(account.address)}" ` +
        `aria-labelledby="account-${i}-upn" aria-describedby="account-${i}-name">` +
        `<span class="avatar" aria-hidden="true">${initial}</span><span class="who">` +
        `<span class="name" id="account-${i}-name">${escapeHtml(account.displayName)}</span>` +
        `<span class="upn" id="account-${i}-upn">${escapeHtml(account.address)}</span></span></button></li>`
      );
    })
    .join('');
  const list = props.accounts.length > 0 ? `<ul aria-label="Accounts">${tiles}</ul>` : '<p>No account in this directory can sign in.</p>';
  return layout(
    'pick-account',
    'Sign in to your account',
    `<h1>Pick an account</h1><form method="post" action="${escapeHtml(props.action)}">${hidden('flowToken', props.flowToken)}${list}</form>`,
  );
}

/** "Permissions requested": the permissions, the organization checkbox for admins, Accept and Cancel. */
export function consentPage(props: ConsentProps): string {
  const items = props.permissions.map((p) => `<li>${escapeHtml(p.label)}</li>`).join('');
  const checkbox = props.canConsentForOrganization
    ? `<div class="checkbox"><input type="checkbox" id="consent-for-organization" name="ConsentForOrganization" value="true">` +
      `<label for="consent-for-organization">${CONSENT_FOR_ORGANIZATION_LABEL}</label></div>`
    : '';
  return layout(
    'consent',
    'Permissions requested',
    `<p class="account">${escapeHtml(props.user)}</p><h1>Permissions requested</h1>` +
      `<div class="app"><span class="app-name">${escapeHtml(props.appName)}</span><span class="publisher">unverified</span></div>` +
      `<p>This application, not published by Microsoft, asks to:</p><ul class="permissions" aria-label="Permissions">${items}</ul>` +
      `<form method="post" action="${escapeHtml(props.action)}">${hidden('flowToken', props.flowToken)}${checkbox}` +
      `<p class="note">Only accept if you trust this application. Permissions you give can be taken back later by an administrator.</p>` +
      // Accept comes first so Enter submits it; row-reverse shows Cancel on the left as Entra does.
      `<div class="buttons"><button type="submit" class="primary" name="action" value="accept">Accept</button>` +
      `<button type="submit" class="secondary" name="action" value="cancel">Cancel</button></div></form>`,
  );
}

/** The error page Entra shows when it cannot send the user back to the app. */
export function errorPage(props: ErrorPageProps): string {
  return layout(
    'error',
    'Sign in to your account',
    `<h1>Sorry, but we’re having trouble signing you in.</h1><p id="error-message" role="alert">${escapeHtml(props.message)}</p>` +
      `<dl><dt>Request Id</dt><dd>${escapeHtml(props.traceId)}</dd><dt>Correlation Id</dt><dd>${escapeHtml(props.correlationId)}</dd>` +
      `<dt>Timestamp</dt><dd>${escapeHtml(props.timestamp)}</dd><dt>Message</dt><dd>${escapeHtml(props.message)}</dd></dl>`,
  );
}

/** `response_mode=form_post`: a form that posts the answer to the app (a button when scripts are off). */
export function formPostPage(action: string, fields: Array<[string, string]>): string {
  const inputs = fields.map(([name, value]) => hidden(name, value)).join('');
  return layout(
    'form-post',
    'Working...',
    `<form method="post" action="${escapeHtml(action)}">${inputs}<noscript><button type="submit" class="primary">Continue</button></noscript></form>` +
      '<script>document.forms[0].submit()</script>',
  );
}
