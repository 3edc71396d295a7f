/**
 * The v2.0 OpenID Connect discovery document of the identity emulator, in the
 * shape Entra serves at `/{tenant}/v2.0/.well-known/openid-configuration`. MSAL
 * checks that `issuer` is on the authority's host and takes its endpoints here.
 */
import type { Tenant } from './directory.js';
import { v2Issuer } from './tokens.js';

/** The v2.0 OpenID configuration Entra serves for a tenant (or common/organizations). */
export function openIdConfiguration(authorityHost: string, tenant: Tenant | undefined, segment: string): Record<string, unknown> {
  const pathTenant = tenant?.id ?? segment.toLowerCase();
  const base = `${authorityHost}/${pathTenant}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: v2Issuer(authorityHost, tenant?.id ?? '{tenantid}'),
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'nonce',
      'preferred_username',
      'name',
      'tid',
      'ver',
      'at_hash',
      'c_hash',
      'email',
    ],
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

/**
 * MSAL's `authorityMetadata` for the emulator (a JSON string, `{tenant}` filled in by
 * MSAL): what msal-node has built in for login.microsoftonline.com, so it skips
 * discovery and reaches the token endpoint even for an unknown tenant.
 */
export function msalAuthorityMetadata(authorityHost: string): string {
  return JSON.stringify({
    token_endpoint: `${authorityHost}/{tenant}/oauth2/v2.0/token`,
    authorization_endpoint: `${authorityHost}/{tenant}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${authorityHost}/{tenant}/oauth2/v2.0/logout`,
    jwks_uri: `${authorityHost}/{tenant}/discovery/v2.0/keys`,
    issuer: `${authorityHost}/{tenantid}/v2.0`,
  });
}
