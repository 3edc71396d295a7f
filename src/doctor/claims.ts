/**
 * The claims of an access token, compared with what Exchange Online needs for
 * this email server: audience (the SMTP resource), `roles` with SMTP.SendAsApp
 * (Application) or `scp` with SMTP.Send (Authorize Account), the tenant, the
 * application and the expiry; for a server that sends via Graph, Graph's
 * audience and permissions instead (graph-claims.ts). Only the payload is
 * decoded; the token itself and its signature are never shown or kept.
 */
import { resolveCloud } from '../auth/clouds.js';
import type { ClaimProblem } from '../auth/hints.js';
import type { EmailServer } from '../store/servers.js';
import { compareGraphClaims } from './graph-claims.js';
import type { Check } from './report.js';

/** Application ID of Office 365 Exchange Online: some tokens carry it as `aud` instead of the URL. */
const EXCHANGE_APP_ID = '00000002-0000-0ff1-ce00-000000000000';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type Claims = Record<string, unknown>;

/** A compared claim; `claim` names the hint that goes with a mismatch. */
export type ClaimCheck = Check & { claim: ClaimProblem };

/** The payload of a JWT, or null when the token is not one (the signature is not looked at). */
export function decodeClaims(token: string): Claims | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return claims !== null && typeof claims === 'object' && !Array.isArray(claims) ? (claims as Claims) : null;
  } catch {
    return null;
  }
}

const text = (value: unknown): string => (value === undefined || value === null ? '(none)' : String(value));
const sameText = (a: unknown, b: string): boolean => typeof a === 'string' && a.replace(/\/+$/, '').toLowerCase() === b.toLowerCase();

/** Each needed claim compared, in a fixed order. */
export function compareClaims(claims: Claims, server: EmailServer, now: number): ClaimCheck[] {
  const checks = server.sendVia === 'graph' ? compareGraphClaims(claims, server) : compareExchangeClaims(claims, server);
  return [...checks, ...identityChecks(claims, server, now)];
}

/** The audience and the permission Exchange's SMTP AUTH needs. */
function compareExchangeClaims(claims: Claims, server: EmailServer): ClaimCheck[] {
  const cloud = resolveCloud(server);
  const application = server.signInMode === 'application';
  const resource = application ? cloud.appResource : cloud.delegatedResource;
  const checks: ClaimCheck[] = [
    {
      claim: 'aud',
      name: 'aud',
      saw: text(claims['aud']),
      want: resource,
      ok: sameText(claims['aud'], resource) || sameText(claims['aud'], EXCHANGE_APP_ID),
    },
  ];
  if (application) {
    const roles = Array.isArray(claims['roles']) ? claims['roles'].map(String) : [];
    checks.push({
      claim: 'roles',
      name: 'roles',
      saw: roles.length ? roles.join(' ') : '(none)',
      want: 'SMTP.SendAsApp',
      ok: roles.includes('SMTP.SendAsApp'),
    });
  } else {
    const scopes = typeof claims['scp'] === 'string' ? claims['scp'].split(' ') : [];
    checks.push({
      claim: 'scp',
      name: 'scp',
      saw: scopes.length ? scopes.join(' ') : '(none)',
      want: 'SMTP.Send',
      ok: scopes.includes('SMTP.Send'),
    });
  }
  return checks;
}

/** The tenant, the application and the expiry: the same whichever way the server sends. */
function identityChecks(claims: Claims, server: EmailServer, now: number): ClaimCheck[] {
  const checks: ClaimCheck[] = [];
  const tenant = server.tenantId ?? '';
  checks.push(
    GUID.test(tenant)
      ? { claim: 'tid', name: 'tid', saw: text(claims['tid']), want: tenant.toLowerCase(), ok: sameText(claims['tid'], tenant) }
      : // A domain name in Tenant ID names the tenant too; its id is whatever Microsoft says.
        { claim: 'tid', name: 'tid', saw: text(claims['tid']), want: `the tenant of ${tenant}`, ok: typeof claims['tid'] === 'string' },
  );
  const app = claims['appid'] ?? claims['azp'];
  checks.push({
    claim: 'appid',
    name: claims['appid'] === undefined && claims['azp'] !== undefined ? 'azp' : 'appid',
    saw: text(app),
    want: (server.clientId ?? '').toLowerCase(),
    ok: sameText(app, server.clientId ?? ''),
  });
  const exp = typeof claims['exp'] === 'number' ? claims['exp'] * 1000 : Number.NaN;
  const minutes = Math.round((exp - now) / 60_000);
  checks.push({
    claim: 'exp',
    name: 'exp',
    saw: Number.isNaN(exp) ? '(none)' : `${new Date(exp).toISOString()} (${minutes >= 0 ? `in ${minutes} min` : `${-minutes} min ago`})`,
    want: 'a time to come',
    ok: exp > now,
  });
  return checks;
}
