/**
 * What an admin should do about a Microsoft error: AADSTS codes from the token
 * endpoint, SMTP replies from Exchange Online and Microsoft Graph's error
 * codes, as tables (MICROSOFT.md).
 */

export interface Hint {
  /** Short name of the problem, e.g. "Client secret expired". */
  meaning: string;
  /** What the admin does to fix it. */
  fix: string;
}

const REAUTHORIZE = 'Click Authorize Account again and sign in with the mailbox account.';

/** AADSTS number → hint. */
export const AADSTS_HINTS: Readonly<Record<string, Hint>> = {
  '7000215': {
    meaning: 'Invalid client secret',
    fix: "Paste the client secret Value (not the Secret ID) from the app registration's Certificates & secrets page into Office 365 Client Secret.",
  },
  '7000222': {
    meaning: 'Client secret expired',
    fix: 'Create a new client secret in the app registration, then update Office 365 Client Secret and its expiry date.',
  },
  '700016': {
    meaning: 'Application not found in the tenant',
    fix: 'Check Office 365 Client ID (Application ID) and Office 365 Tenant ID (Directory ID) against the app registration.',
  },
  '90002': { meaning: 'Tenant not found', fix: 'Check Office 365 Tenant ID and the Office 365 Cloud setting.' },
  '65001': {
    meaning: 'Consent missing',
    fix: 'Grant admin consent for the API permission (SMTP.Send or SMTP.SendAsApp) or authorize again and tick consent on behalf of your organization.',
  },
  '700082': { meaning: 'Refresh token expired after inactivity', fix: REAUTHORIZE },
  '50173': { meaning: 'Sign-in grant revoked (password change or admin revoke)', fix: REAUTHORIZE },
  '50076': {
    meaning: 'Multi-factor authentication required',
    fix: `Adjust the Conditional Access or MFA policy for this account, then ${REAUTHORIZE.toLowerCase()}`,
  },
  '53003': {
    meaning: 'Blocked by Conditional Access',
    fix: `Adjust the Conditional Access policy for this app and account, then ${REAUTHORIZE.toLowerCase()}`,
  },
  '70043': {
    meaning: 'Sign-in frequency policy ended the session',
    fix: `Adjust the sign-in frequency policy, then ${REAUTHORIZE.toLowerCase()}`,
  },
  '50011': {
    meaning: 'Redirect URI not registered',
    fix: 'Add the exact Office 365 Redirect URI shown here as a Web redirect URI in the app registration.',
  },
  '54005': { meaning: 'Authorization code already redeemed', fix: 'Start Authorize Account again.' },
  '7000012': {
    meaning: 'Grant from another tenant',
    fix: 'Use the same tenant for the app registration, the sign-in and Office 365 Tenant ID.',
  },
  '700024': { meaning: 'Client assertion not valid', fix: 'Check the client credentials of the app registration.' },
  '700027': {
    meaning: 'Client certificate not accepted (not uploaded to the app, expired, or another key)',
    fix: "Upload the certificate of Office 365 Client Certificate to the app registration's Certificates & secrets → Certificates, or save a certificate that is uploaded there, with its private key, as Office 365 Client Certificate.",
  },
  '7000218': { meaning: 'No client secret sent', fix: 'Enter the client secret Value in Office 365 Client Secret.' },
  '1002012': { meaning: 'Invalid scope', fix: 'Check the Office 365 Cloud and SMTP Resource settings.' },
  '700022': { meaning: 'Invalid scope', fix: 'Check the Office 365 Cloud and SMTP Resource settings.' },
  '500011': {
    meaning: 'Exchange Online not found in the tenant',
    fix: 'Check Office 365 Tenant ID, the Office 365 Cloud and SMTP Resource settings.',
  },
  '650053': {
    meaning: 'Permission not offered by Exchange Online',
    fix: 'Check the Office 365 Cloud and SMTP Resource settings; the app needs SMTP.Send (delegated) or SMTP.SendAsApp (application).',
  },
  '70008': { meaning: 'Authorization expired', fix: REAUTHORIZE },
  '50034': { meaning: 'Account not found in the tenant', fix: 'Sign in with an account of the tenant in Office 365 Tenant ID.' },
  '70000': { meaning: 'Authorization code not valid', fix: 'Start Authorize Account again.' },
  '700005': { meaning: 'Authorization code from another tenant', fix: 'Use the same tenant for the sign-in and Office 365 Tenant ID.' },
  '500112': {
    meaning: 'Redirect URI changed during sign-in',
    fix: 'Start Authorize Account again from the Office 365 Redirect URI shown here.',
  },
  '501481': { meaning: 'Sign-in could not be verified (PKCE)', fix: 'Start Authorize Account again.' },
  '65004': {
    meaning: 'Sign-in was cancelled or consent was declined',
    fix: 'Click Authorize Account again and accept the requested permissions.',
  },
  '50089': { meaning: 'Sign-in took too long', fix: 'Start Authorize Account again.' },
  '50058': { meaning: 'No signed-in session', fix: 'Start Authorize Account again.' },
  '50196': {
    meaning: 'Microsoft throttled the token requests',
    fix: 'Mail waits and is retried by itself. If this repeats, check that no other program uses the same app registration in a loop.',
  },
  '90033': { meaning: 'Microsoft sign-in is temporarily unavailable', fix: 'Mail waits and is retried by itself.' },
};

/** OAuth `error` values, used when no AADSTS number is given. */
const OAUTH_ERROR_HINTS: Readonly<Record<string, Hint>> = {
  invalid_grant: { meaning: 'Authorization is no longer valid', fix: REAUTHORIZE },
  interaction_required: { meaning: 'Microsoft asks for an interactive sign-in', fix: REAUTHORIZE },
  consent_required: AADSTS_HINTS['65001'] as Hint,
  temporarily_unavailable: AADSTS_HINTS['90033'] as Hint,
  invalid_client: AADSTS_HINTS['7000215'] as Hint,
  unauthorized_client: AADSTS_HINTS['700016'] as Hint,
  not_configured: { meaning: 'Settings incomplete', fix: 'Fill in the settings named in the message, then the held mail is retried.' },
  no_account: { meaning: 'No account authorized yet', fix: 'Click Authorize Account and sign in with the mailbox account.' },
  access_denied: AADSTS_HINTS['65004'] as Hint,
};

/** SMTP reply patterns (tested against the whole reply line) → hint; first match wins. */
export const SMTP_HINTS: ReadonlyArray<{ pattern: RegExp; hint: Hint }> = [
  {
    pattern: /5\.7\.139.*SmtpClientAuthentication is disabled/i,
    hint: {
      meaning: 'SMTP AUTH is disabled for the mailbox or tenant',
      fix: 'Enable Authenticated SMTP for the mailbox (Microsoft 365 admin center → Users → the user → Mail → Manage email apps), or run Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false.',
    },
  },
  {
    pattern: /5\.7\.139.*security defaults/i,
    hint: {
      meaning: 'Security Defaults block SMTP AUTH',
      fix: 'Turn off Security Defaults in Entra ID or use Conditional Access policies that allow this app.',
    },
  },
  {
    pattern: /5\.7\.139/i,
    hint: {
      meaning: 'Sign-in blocked by a Conditional Access or MFA policy',
      fix: 'Exclude this app or account from the Conditional Access or MFA policy that blocks it, then try again.',
    },
  },
  {
    pattern: /5\.7\.3\b/,
    hint: {
      meaning: 'Microsoft rejected the token',
      fix: 'Check that Mailbox is the signed-in account (or one it has Full Access to), that the token is for SMTP, and for Application sign-in that the service principal is registered in Exchange (New-ServicePrincipal) and has Full Access to the mailbox (Add-MailboxPermission).',
    },
  },
  {
    pattern: /5\.7\.57\b/,
    hint: {
      meaning: 'The session was not authenticated',
      fix: 'Use Secure Connection tls on port 587 so that STARTTLS and AUTH XOAUTH2 happen before sending.',
    },
  },
  {
    // Today's 5.2.252 SendAsDenied and the older 5.2.0 / 5.7.60 wordings; 5.2.252 "throttled" is the entry below.
    pattern: /SendAsDenied|5\.7\.60\b|5\.2\.252(?!.*throttled)/i,
    hint: {
      meaning: 'The mailbox may not send as this From address',
      fix: "Set From Address Handling to rewrite: relay365 then sends as the mailbox and keeps the original sender in Reply-To. Or grant the mailbox Send As on that address in Exchange (Add-RecipientPermission -Identity <from address> -Trustee <mailbox> -AccessRights SendAs) and add the address to Send As Addresses; for Application sign-in the trustee is the app's service principal instead of the mailbox.",
    },
  },
  {
    pattern: /4\.2\.0.*mailbox logon failure/i,
    hint: {
      meaning: 'The app cannot open the mailbox',
      fix: 'Give the service principal Full Access to the mailbox (Add-MailboxPermission -AccessRights FullAccess).',
    },
  },
  {
    pattern: /5\.7\.30\b/,
    hint: { meaning: 'Basic authentication is not supported', fix: 'Use SMTP Authentication Method office365 (OAuth) for this server.' },
  },
  {
    pattern: /5\.7\.(705|708|750)\b/,
    hint: {
      meaning: 'Microsoft blocked sending for the tenant or IP',
      fix: "Check the tenant's sending status in the Microsoft 365 Defender portal and contact Microsoft support.",
    },
  },
  {
    pattern: /4\.3\.2\b/,
    hint: {
      meaning: 'Too many concurrent connections for the mailbox',
      fix: 'relay365 slows down by itself; lower Max Connections if this repeats.',
    },
  },
  {
    pattern: /SubmissionQuotaExceeded|5\.2\.0\b.*quota/i,
    hint: {
      meaning: 'Daily recipient limit reached',
      fix: 'Mail waits until the rolling 24-hour window frees up; lower Recipients per Day to stay under the limit.',
    },
  },
  {
    pattern: /5\.2\.25[1-5]/,
    hint: {
      meaning: 'Sender throttled after repeated errors',
      fix: 'Fix the errors that came before (invalid recipients, Send As) and wait for Microsoft to lift the block.',
    },
  },
];

/**
 * A token Microsoft issued, but not the one Exchange needs: the claim that differs → hint.
 * `relay365 doctor` compares the decoded claims with the server's settings.
 */
export type ClaimProblem = 'aud' | 'roles' | 'scp' | 'tid' | 'appid' | 'exp';

export const CLAIM_HINTS: Readonly<Record<ClaimProblem, Hint>> = {
  aud: {
    meaning: 'The token is not for Exchange Online SMTP',
    fix: 'Check the Office 365 Cloud setting (and for Custom, SMTP Resource: https://outlook.office365.com for Microsoft 365 worldwide).',
  },
  roles: {
    meaning: 'The app has no SMTP.SendAsApp permission',
    fix: 'In the app registration add the application permission Office 365 Exchange Online → SMTP.SendAsApp (APIs my organization uses), then click Grant admin consent.',
  },
  scp: {
    meaning: 'The token has no SMTP.Send permission',
    fix: 'In the app registration add the delegated permission Office 365 Exchange Online → SMTP.Send, grant consent, then click Authorize Account again.',
  },
  tid: {
    meaning: 'The token is from another tenant',
    fix: 'Use the same tenant for the app registration, the sign-in and Office 365 Tenant ID.',
  },
  appid: {
    meaning: 'The token is for another application',
    fix: 'Check Office 365 Client ID against the Application (client) ID of the app registration, then authorize again.',
  },
  exp: {
    meaning: 'The token has already expired',
    fix: "Check this machine's clock and time zone: tokens come with about an hour of validity.",
  },
};

/** Hint for a token claim that does not match what Exchange needs. */
export function hintForClaim(claim: ClaimProblem): Hint {
  return CLAIM_HINTS[claim];
}

/** Hint for an AADSTS number (as text), or for an OAuth error code. */
export function hintForTokenError(aadsts: string | null, oauthError: string | null): Hint | null {
  if (aadsts && AADSTS_HINTS[aadsts]) return AADSTS_HINTS[aadsts] as Hint;
  if (oauthError && OAUTH_ERROR_HINTS[oauthError]) return OAUTH_ERROR_HINTS[oauthError] as Hint;
  return null;
}

/** Hint for an upstream SMTP reply line. */
export function hintForSmtpReply(reply: string): Hint | null {
  return SMTP_HINTS.find((entry) => entry.pattern.test(reply))?.hint ?? null;
}

const GRAPH_MAIL_SEND: Hint = {
  meaning: 'The app may not send as this mailbox through Microsoft Graph',
  fix: 'For Application sign-in, add the Microsoft Graph application permission Mail.Send to the app registration and grant admin consent; when Exchange RBAC for Applications scopes the app, put the mailbox in its scope and check with Test-ServicePrincipalAuthorization -Identity <Client ID> -Resource <mailbox>. For Authorize Account, add the delegated permission Mail.Send, grant consent, then click Authorize Account again.',
};

/**
 * Microsoft Graph error codes → hint; `steps` limits an entry to the requests named (a draft's
 * ErrorAccessDenied means another permission than sendMail's). First match wins.
 */
export const GRAPH_HINTS: ReadonlyArray<{ code: string; steps?: readonly string[]; hint: Hint }> = [
  {
    code: 'ErrorAccessDenied',
    steps: ['createDraft', 'addAttachment', 'createUploadSession'],
    hint: {
      meaning: 'The app may not create drafts in the mailbox (Mail.ReadWrite missing)',
      fix: 'Messages over 3 MB go through a draft, which needs Mail.ReadWrite besides Mail.Send: add the Microsoft Graph application permission Mail.ReadWrite (delegated for Authorize Account) and grant admin consent; with Exchange RBAC for Applications assign Application Mail.ReadWrite to the same scope and check with Test-ServicePrincipalAuthorization -Identity <Client ID> -Resource <mailbox>.',
    },
  },
  { code: 'ErrorAccessDenied', hint: GRAPH_MAIL_SEND },
  {
    code: 'MailboxNotEnabledForRESTAPI',
    hint: {
      meaning: 'The mailbox cannot be used through Microsoft Graph',
      fix: 'Mailbox must be a licensed Exchange Online mailbox (not on-premises, inactive or soft-deleted); for a mailbox that stays on-premises set Office 365 Send Via to smtp.',
    },
  },
  {
    code: 'ErrorInvalidUser',
    hint: {
      meaning: 'Mailbox not found',
      fix: 'Check Mailbox: the address of an Exchange Online mailbox in the tenant of Office 365 Tenant ID.',
    },
  },
  {
    code: 'ResourceNotFound',
    hint: {
      meaning: 'Mailbox not found',
      fix: 'Check Mailbox: the address of an Exchange Online mailbox in the tenant of Office 365 Tenant ID.',
    },
  },
  {
    code: 'InvalidAuthenticationToken',
    hint: {
      meaning: 'Microsoft Graph refused the access token (after one retry with a new one)',
      fix: "Check the Office 365 Cloud (for Custom, the Graph Endpoint) and Office 365 Tenant ID, and this machine's clock.",
    },
  },
  {
    code: 'Authorization_RequestDenied',
    hint: {
      meaning: "The app may not read the mailbox's user",
      fix: 'Add the Microsoft Graph application permission User.ReadBasic.All and grant admin consent (only the check of the mailbox needs it, not sending).',
    },
  },
  {
    code: 'ErrorSendAsDenied',
    hint: {
      meaning: 'The mailbox may not send as this From address',
      fix: 'Set From Address Handling to rewrite: relay365 then sends as the mailbox and keeps the original sender in Reply-To. Or grant the mailbox Send As on that address in Exchange (Add-RecipientPermission -Identity <from address> -Trustee <mailbox> -AccessRights SendAs) and add the address to Send As Addresses.',
    },
  },
  {
    code: 'ErrorMessageSizeExceeded',
    hint: {
      meaning: 'The message is too large for Microsoft 365',
      fix: "Microsoft 365 sends messages up to the mailbox's maximum send size (35 MB unless an admin changed it, attachments counted a third larger); the application must send a smaller message.",
    },
  },
  {
    code: 'RequestBodyTooLarge',
    hint: {
      meaning: "A request was over Microsoft Graph's 4 MB limit",
      fix: 'relay365 sends larger messages through a draft; a message text (without attachments) over 4 MB cannot be sent via Graph. The application must send a shorter text, or set Office 365 Send Via to smtp.',
    },
  },
  {
    code: 'BodyTooLarge',
    hint: {
      meaning: "The message text is over Microsoft Graph's 4 MB request limit",
      fix: 'Graph takes the text of a message (without attachments) in one request. The application must send a shorter text, or set Office 365 Send Via to smtp.',
    },
  },
  {
    code: 'HeaderBlockTooLarge',
    hint: {
      meaning: "The message's header fields are too long to check its recipients",
      fix: 'relay365 reads at most 1 MB of header fields to match To, Cc and Bcc with the envelope. The application must send fewer header fields, or set Office 365 Send Via to smtp.',
    },
  },
  {
    code: 'MessageUnreadable',
    hint: {
      meaning: 'The message is not readable MIME',
      fix: "Messages over 3 MB, and those with only Bcc recipients, are sent in Graph's own message format, which needs readable MIME. Fix the application's message, or set Office 365 Send Via to smtp.",
    },
  },
  {
    code: 'ErrorInvalidRecipients',
    hint: {
      meaning: 'A recipient is not valid',
      fix: 'Check the addresses the application sends to: Microsoft refuses the whole message when one cannot be resolved.',
    },
  },
  {
    code: 'ErrorSubmissionQuotaExceeded',
    hint: {
      meaning: 'Daily recipient limit reached',
      fix: 'Mail waits as long as Microsoft asks (Retry-After); lower Recipients per Day to stay under the limit.',
    },
  },
  {
    code: 'ApplicationThrottled',
    hint: {
      meaning: 'Microsoft Graph throttled the app',
      fix: 'Mail waits as long as Microsoft asks (Retry-After) and goes again by itself. If this repeats, lower Graph Requests at Once and check that no other program uses the same app registration.',
    },
  },
  {
    code: 'ServiceUnavailable',
    hint: { meaning: 'Microsoft Graph is temporarily unavailable', fix: 'Mail waits as long as Microsoft asks and is retried by itself.' },
  },
];

/** Hint for a Microsoft Graph error code, given the request (`step`) that got it. */
export function hintForGraphError(code: string, step: string): Hint | null {
  return GRAPH_HINTS.find((entry) => entry.code === code && (!entry.steps || entry.steps.includes(step)))?.hint ?? null;
}
