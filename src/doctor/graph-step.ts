/**
 * Step 5 of `relay365 doctor` for a server that sends via Microsoft Graph,
 * with the token of step 4: does the mailbox resolve (`GET /users/{id}`, or
 * `/me` for the signed-in account), and may the token send from it? The
 * second is asked with a sendMail that has no recipients: Graph checks the
 * mailbox and the permission first (ErrorAccessDenied: no Mail.Send, or the
 * mailbox outside the app's RBAC for Applications scope) and only then refuses
 * the message for having no recipients, so nothing is ever sent. Reading users
 * needs a permission sending does not (User.ReadBasic.All): without it the
 * first check reads "not checked" and does not fail. The token is never shown.
 */
import { graphEndpoint } from '../auth/clouds.js';
import type { AccessToken } from '../auth/token-provider.js';
import { mailboxPath } from '../relay/graph/graph-upstream.js';
import type { EmailServer } from '../store/servers.js';
import { fetchProblem } from './clock-step.js';
import { failed, passed, type Check, type DoctorStep } from './report.js';

/** Graph's answer as far as the checks need it: never the token, never more than Graph's own words. */
interface GraphAnswer {
  status: number;
  code: string;
  message: string;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

/** A failed check's meaning and fix. */
interface Finding {
  check: Check;
  problem?: string;
  fix?: string;
}

const short = (text: string): string => (text.length > 160 ? `${text.slice(0, 157)}...` : text);

async function callGraph(url: string, token: AccessToken, timeoutMs: number, body?: unknown): Promise<GraphAnswer> {
  const res = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${token.token}`,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'manual',
  });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: judged by the status alone.
  }
  const json = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const error = typeof json['error'] === 'object' && json['error'] !== null ? (json['error'] as Record<string, unknown>) : {};
  return {
    status: res.status,
    code: typeof error['code'] === 'string' ? error['code'] : '',
    message: typeof error['message'] === 'string' ? error['message'] : '',
    retryAfter: res.headers.get('retry-after'),
    body: json,
  };
}

const described = (a: GraphAnswer): string => short(`${a.status}${a.code ? ` ${a.code}` : ''}${a.message ? `: ${a.message}` : ''}`);

/** The findings every Graph request shares: a refused token, an unknown or unusable mailbox, throttling. */
function commonFinding(name: string, answer: GraphAnswer, server: EmailServer, who: string): Finding | null {
  const saw = described(answer);
  if (answer.status === 401) {
    return {
      check: { name, saw, ok: false },
      problem: 'Microsoft Graph refused the token',
      fix: "Check the Office 365 Cloud setting (for Custom, Graph Endpoint: https://graph.microsoft.com for Microsoft 365 worldwide) and this machine's clock; the Token step shows the token's audience.",
    };
  }
  if (answer.code === 'MailboxNotEnabledForRESTAPI') {
    return {
      check: { name, saw, ok: false },
      problem: `${who} cannot be used through Microsoft Graph (inactive, soft-deleted or on-premises)`,
      fix: 'Set Mailbox to an active Exchange Online mailbox, or send this mailbox’s mail via smtp (Office 365 Send Via).',
    };
  }
  if (answer.status === 404) {
    return {
      check: { name, saw, want: 'a mailbox of the tenant', ok: false },
      problem: `Microsoft Graph does not know the mailbox ${who}`,
      fix: `Set Mailbox to the address of an Exchange Online mailbox of this tenant (its primary SMTP address or user principal name), on the server's page or with relay365 server set ${server.name} --mailbox ADDRESS.`,
    };
  }
  if (answer.status === 429 || answer.status === 503) {
    const wait = answer.retryAfter ? `, Retry-After ${answer.retryAfter} s` : '';
    return { check: { name, saw: `not checked: Microsoft Graph asked to wait (${saw}${wait}); check again later`, ok: true, warn: true } };
  }
  return null;
}

/** Does the mailbox resolve? A 403 means the token may not read users, which sending does not need. */
async function mailboxCheck(
  base: string,
  path: string,
  server: EmailServer,
  token: AccessToken,
  who: string,
  timeoutMs: number,
): Promise<Finding> {
  const name = 'mailbox';
  const answer = await callGraph(`${base}${path}`, token, timeoutMs);
  if (answer.status === 200) {
    const upn = typeof answer.body['userPrincipalName'] === 'string' ? answer.body['userPrincipalName'] : who;
    const display = typeof answer.body['displayName'] === 'string' ? `${answer.body['displayName']} ` : '';
    return { check: { name, saw: `GET ${decodeURIComponent(path.replace('/v1.0', ''))}: ${display}<${upn}>`, ok: true } };
  }
  const common = commonFinding(name, answer, server, who);
  if (common) return common;
  if (answer.status === 403) {
    const needs = server.signInMode === 'authorize' && path.endsWith('/me') ? 'User.Read' : 'User.ReadBasic.All';
    return {
      check: {
        name,
        saw: `not checked: reading users needs ${needs}, which sending does not (${described(answer)}); the next check still finds an unknown mailbox`,
        ok: true,
        warn: true,
      },
    };
  }
  return { check: { name, saw: `not checked: Microsoft Graph answered ${described(answer)}`, ok: true, warn: true } };
}

/** The fix for ErrorAccessDenied on sendMail: the permission, or the mailbox outside the app's RBAC scope. */
function accessDeniedFix(server: EmailServer, who: string): string {
  if (server.signInMode === 'authorize') {
    return `Set Mailbox to the signed-in account, or give that account Full Access to ${who} (Add-MailboxPermission -Identity ${who} -User <account> -AccessRights FullAccess); the token must carry Mail.Send (Token step).`;
  }
  return (
    'In the app registration add Microsoft Graph → Application permissions → Mail.Send and click Grant admin consent: that allows every mailbox. ' +
    `To allow only some, leave it out and assign the role in Exchange Online PowerShell to the app's service principal (registered with New-ServicePrincipal): ` +
    `New-ManagementScope -Name relay365 -RecipientRestrictionFilter "PrimarySmtpAddress -eq '${who}'", then ` +
    `New-ManagementRoleAssignment -App <service principal id> -Role "Application Mail.Send" -CustomResourceScope relay365. ` +
    `Test-ServicePrincipalAuthorization -Identity <service principal id> -Resource ${who} shows whether the mailbox is in scope.`
  );
}

/** May the token send from the mailbox? Asked with a message without recipients, which Graph refuses after the permission check. */
async function sendCheck(
  base: string,
  path: string,
  server: EmailServer,
  token: AccessToken,
  who: string,
  timeoutMs: number,
): Promise<Finding> {
  const name = 'Mail.Send';
  const probe = { message: { subject: 'relay365 check (no recipients: nothing is sent)' }, saveToSentItems: false };
  const answer = await callGraph(`${base}${path}/sendMail`, token, timeoutMs, probe);
  if (answer.code === 'ErrorInvalidRecipients' || answer.status === 202) {
    return {
      check: { name, saw: `may send as ${who} (a message without recipients was refused for that alone; nothing was sent)`, ok: true },
    };
  }
  const common = commonFinding(name, answer, server, who);
  if (common) return common;
  if (answer.code === 'ErrorAccessDenied') {
    return {
      check: { name, saw: described(answer), want: `permission to send as ${who}`, ok: false },
      problem:
        server.signInMode === 'application'
          ? `The app may not send as ${who}: no Mail.Send permission, or the mailbox is outside its RBAC for Applications scope`
          : `The signed-in account may not send as ${who}`,
      fix: accessDeniedFix(server, who),
    };
  }
  return { check: { name, saw: `not checked: Microsoft Graph answered ${described(answer)}`, ok: true, warn: true } };
}

/** Resolves the mailbox and asks whether the token may send from it; sends nothing. */
export async function graphStep(server: EmailServer, token: AccessToken, timeoutMs: number): Promise<DoctorStep> {
  // The mailbox the Graph transport sends from: /users/{Mailbox}, or /me for the signed-in account's own.
  const base = graphEndpoint(server);
  const path = mailboxPath(server);
  const who = path.endsWith('/me') ? (server.authorizedAccount ?? token.account ?? 'the signed-in account') : (server.mailbox ?? '');
  const steps = [
    { name: 'mailbox', run: mailboxCheck },
    { name: 'Mail.Send', run: sendCheck },
  ];
  const checks: Check[] = [];
  for (const { name, run } of steps) {
    let finding: Finding;
    try {
      finding = await run(base, path, server, token, who, timeoutMs);
    } catch (err) {
      const problem = fetchProblem(err);
      checks.push({ name, saw: problem, want: 'an answer', ok: false });
      return failed(
        'graph',
        `Microsoft Graph did not answer: ${problem}`,
        checks,
        'The request to Microsoft Graph broke off',
        'Run the check again; if it repeats, see the Network and TLS step.',
      );
    }
    checks.push(finding.check);
    if (!finding.check.ok) {
      return failed('graph', `${name}: ${finding.check.saw}`, checks, finding.problem ?? '', finding.fix ?? '');
    }
  }
  const [mailbox, send] = checks;
  const saw = send?.warn
    ? `${who} could not be checked fully (see ⚠)`
    : mailbox?.warn
      ? `${who} may send through Microsoft Graph (the mailbox itself was not read, see ⚠)`
      : `${who} resolves and may send through Microsoft Graph`;
  return passed('graph', `${saw}; nothing was sent`, checks);
}
