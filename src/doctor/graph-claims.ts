/**
 * The claims of a Microsoft Graph token, compared with what sending through
 * Graph needs: the audience (the cloud's Graph endpoint), and Mail.Send in
 * `roles` (Application) or `scp` (Authorize Account). Mail.ReadWrite, which
 * messages over 3 MB need for their draft, only warns when missing. An app
 * without the Mail.Send role may still send where an Exchange RBAC for
 * Applications assignment allows it (such grants never show in the token), so
 * for Application the role's absence warns too and step 5 tries the permission.
 */
import { graphEndpoint } from '../auth/clouds.js';
import type { ClaimProblem, Hint } from '../auth/hints.js';
import type { EmailServer } from '../store/servers.js';
import type { Claims, ClaimCheck } from './claims.js';

/** Application ID of Microsoft Graph: some tokens carry it as `aud` instead of the URL. */
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** Hints for a Graph token's claims where they differ from Exchange's (claims.ts has the others). */
const GRAPH_CLAIM_HINTS: Partial<Record<ClaimProblem, Hint>> = {
  aud: {
    meaning: 'The token is not for Microsoft Graph',
    fix: 'Check the Office 365 Cloud setting (and for Custom, Graph Endpoint: https://graph.microsoft.com for Microsoft 365 worldwide).',
  },
  scp: {
    meaning: 'The token has no Mail.Send permission',
    fix: 'In the app registration add the delegated permission Microsoft Graph → Mail.Send (API permissions → Add a permission → Microsoft Graph → Delegated permissions), grant consent, then click Authorize Account again.',
  },
};

/** The Graph hint for a claim, when it differs from Exchange's. */
export function graphClaimHint(claim: ClaimProblem): Hint | undefined {
  return GRAPH_CLAIM_HINTS[claim];
}

const sameText = (a: unknown, b: string): boolean => typeof a === 'string' && a.replace(/\/+$/, '').toLowerCase() === b.toLowerCase();
const listed = (names: readonly string[]): string => (names.length ? names.join(' ') : '(none)');

/** The audience and the mail permissions of a Graph token, in a fixed order. */
export function compareGraphClaims(claims: Claims, server: EmailServer): ClaimCheck[] {
  const endpoint = graphEndpoint(server);
  const checks: ClaimCheck[] = [
    {
      claim: 'aud',
      name: 'aud',
      saw: typeof claims['aud'] === 'string' ? claims['aud'] : '(none)',
      want: endpoint,
      ok: sameText(claims['aud'], endpoint) || sameText(claims['aud'], GRAPH_APP_ID),
    },
  ];
  if (server.signInMode === 'application') {
    const roles = Array.isArray(claims['roles']) ? claims['roles'].map(String) : [];
    const canSend = roles.includes('Mail.Send');
    checks.push(
      {
        claim: 'roles',
        name: 'roles',
        saw: canSend
          ? listed(roles)
          : `${listed(roles)}: no Mail.Send, so only an Exchange RBAC for Applications assignment lets the app send (step 5 tries it)`,
        want: 'Mail.Send',
        ok: true,
        ...(canSend ? {} : { warn: true }),
      },
      roles.includes('Mail.ReadWrite')
        ? { claim: 'roles', name: 'Mail.ReadWrite', saw: 'in roles: messages over 3 MB can go through a draft', ok: true }
        : {
            claim: 'roles',
            name: 'Mail.ReadWrite',
            saw: "not in roles: messages over 3 MB will be held unless an RBAC for Applications assignment grants it; add the application permission Microsoft Graph → Mail.ReadWrite with admin consent, or the role Application Mail.ReadWrite to the app's RBAC assignment",
            ok: true,
            warn: true,
          },
    );
    return checks;
  }
  const scopes = typeof claims['scp'] === 'string' ? claims['scp'].split(' ').filter(Boolean) : [];
  checks.push(
    { claim: 'scp', name: 'scp', saw: listed(scopes), want: 'Mail.Send', ok: scopes.includes('Mail.Send') },
    scopes.includes('Mail.ReadWrite')
      ? { claim: 'scp', name: 'Mail.ReadWrite', saw: 'in scp: messages over 3 MB can go through a draft', ok: true }
      : {
          claim: 'scp',
          name: 'Mail.ReadWrite',
          saw: 'not in scp: messages over 3 MB will be held; add the delegated permission Microsoft Graph → Mail.ReadWrite, grant consent, then click Authorize Account again',
          ok: true,
          warn: true,
        },
  );
  return checks;
}
