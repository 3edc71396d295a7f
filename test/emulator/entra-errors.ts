/**
 * Entra ID (Microsoft identity platform) error answers: the AADSTS catalogue the
 * emulator uses, and the JSON body shape Entra returns from its v2.0 endpoints,
 * `{error, error_description: "AADSTSnnn: ...\r\nTrace ID: ...", error_codes,
 * timestamp, trace_id, correlation_id, error_uri, suberror?}`. MSAL reads
 * `error` as errorCode, `suberror` as subError and `error_codes[0]` as errorNo;
 * a suberror such as `bad_token` or `consent_required` turns the error into an
 * InteractionRequiredAuthError. The authorize pages reuse the same texts on their
 * error page and in `redirect_uri?error=…&error_description=…`.
 */
import { randomUUID } from 'node:crypto';

/** Placeholders filled into an error description, e.g. `{ clientId }`. */
export type ErrorParams = Record<string, string>;

interface CatalogueEntry {
  error: string;
  status: number;
  suberror?: string;
  text: (p: ErrorParams) => string;
}

const CERTIFICATE_CREDENTIALS_DOC = 'https://learn.microsoft.com/entra/identity-platform/certificate-credentials';

/** Known AADSTS codes. Texts follow Entra's wording; `{x}` parts come from params. */
const CATALOGUE: Record<number, CatalogueEntry> = {
  50011: {
    error: 'invalid_request',
    status: 400,
    text: (p) =>
      `The redirect URI '${p['redirectUri'] ?? ''}' specified in the request does not match the redirect URIs configured for the application '${p['clientId'] ?? ''}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`,
  },
  50027: {
    error: 'invalid_request',
    status: 400,
    text: (p) => `Invalid JWT token. ${p['detail'] ?? 'Token format not valid.'}`,
  },
  50034: {
    error: 'invalid_grant',
    status: 400,
    text: (p) =>
      `The user account ${p['user'] ?? ''} does not exist in the ${p['tenant'] ?? ''} directory. To sign into this application, the account must be added to the directory.`,
  },
  50058: {
    error: 'login_required',
    status: 400,
    text: () =>
      "A silent sign-in request was sent but no user is signed in. The cookies used to represent the user's session were not sent in the request to Azure AD.",
  },
  50059: {
    error: 'invalid_request',
    status: 400,
    text: () => 'No tenant-identifying information found in either the request or implied by any provided credentials.',
  },
  50076: {
    error: 'invalid_grant',
    status: 400,
    suberror: 'basic_action',
    text: (p) =>
      `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${p['resource'] ?? '00000002-0000-0ff1-ce00-000000000000'}'.`,
  },
  50089: {
    error: 'invalid_grant',
    status: 400,
    text: () => 'Authentication failed due to flow token expired. Have the user try signing-in again.',
  },
  50126: {
    error: 'invalid_grant',
    status: 400,
    text: () => 'Error validating credentials due to invalid username or password.',
  },
  50173: {
    error: 'invalid_grant',
    status: 400,
    text: (p) =>
      `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${p['issuedAt'] ?? ''}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${p['validFrom'] ?? ''}'.`,
  },
  50196: {
    // Status and `error` unconfirmed: Entra throttles a client that repeats one request too often.
    error: 'temporarily_unavailable',
    status: 429,
    text: () => 'The server terminated an operation because it encountered a client request loop. Please contact your app vendor.',
  },
  53003: {
    error: 'invalid_grant',
    status: 400,
    suberror: 'message_only',
    text: () => 'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.',
  },
  54005: {
    error: 'invalid_grant',
    status: 400,
    text: () => 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
  },
  65001: {
    error: 'invalid_grant',
    status: 400,
    suberror: 'consent_required',
    text: (p) =>
      `The user or administrator has not consented to use the application with ID '${p['clientId'] ?? ''}' named '${p['appName'] ?? ''}'. Send an interactive authorization request for this user and resource.`,
  },
  65004: {
    error: 'access_denied',
    status: 400,
    text: () => 'User declined to consent to access the app.',
  },
  70000: {
    error: 'invalid_grant',
    status: 400,
    text: (p) => p['detail'] ?? 'Provided grant is invalid or malformed.',
  },
  70003: {
    error: 'unsupported_grant_type',
    status: 400,
    text: (p) => `The app requested an unsupported grant type '${p['grantType'] ?? ''}'.`,
  },
  70008: {
    error: 'invalid_grant',
    status: 400,
    text: () =>
      'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
  },
  70011: {
    error: 'invalid_scope',
    status: 400,
    text: (p) =>
      `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${p['scope'] ?? ''} is not valid.`,
  },
  70043: {
    error: 'invalid_grant',
    status: 400,
    suberror: 'bad_token',
    text: (p) =>
      `The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on ${p['issuedAt'] ?? ''} and the maximum allowed lifetime for this request is ${p['maxAge'] ?? '3600'}.`,
  },
  90002: {
    error: 'invalid_tenant',
    status: 400,
    text: (p) =>
      `Tenant '${p['tenant'] ?? ''}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  },
  90033: {
    error: 'temporarily_unavailable',
    status: 503,
    text: () => 'A transient error has occurred. Please try again.',
  },
  500011: {
    error: 'invalid_resource',
    status: 400,
    text: (p) =>
      `The resource principal named ${p['resource'] ?? ''} was not found in the tenant named ${p['tenantName'] ?? ''}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  },
  500112: {
    error: 'invalid_client',
    status: 400,
    text: (p) =>
      `The reply address '${p['redirectUri'] ?? ''}' does not match the reply address '${p['expected'] ?? ''}' provided when requesting Authorization code.`,
  },
  500113: {
    error: 'invalid_request',
    status: 400,
    text: () => 'No reply address is registered for the application.',
  },
  501481: {
    error: 'invalid_grant',
    status: 400,
    text: () => 'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
  },
  501491: {
    error: 'invalid_request',
    status: 400,
    text: () => 'Invalid size of Code_Challenge parameter.',
  },
  650053: {
    error: 'invalid_client',
    status: 400,
    text: (p) =>
      `The application '${p['appName'] ?? ''}' asked for scope '${p['scope'] ?? ''}' that doesn't exist on the resource '${p['resource'] ?? ''}'. Contact the app vendor.`,
  },
  700005: {
    error: 'invalid_grant',
    status: 400,
    text: () => 'Provided Authorization Code is intended to use against other tenant, thus rejected.',
  },
  700016: {
    error: 'unauthorized_client',
    status: 400,
    text: (p) =>
      `Application with identifier '${p['clientId'] ?? ''}' was not found in the directory '${p['tenantName'] ?? ''}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  },
  700021: {
    error: 'invalid_client',
    status: 401,
    text: () =>
      `Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at ${CERTIFICATE_CREDENTIALS_DOC} .`,
  },
  700022: {
    error: 'invalid_scope',
    status: 400,
    text: (p) =>
      `The provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${p['scope'] ?? ''} is not valid.`,
  },
  700023: {
    error: 'invalid_client',
    status: 401,
    text: () => `Client assertion audience claim does not match Realm issuer. Review the documentation at ${CERTIFICATE_CREDENTIALS_DOC} .`,
  },
  700024: {
    error: 'invalid_client',
    status: 401,
    text: (p) =>
      `Client assertion is not within its valid time range. Current time: ${p['now'] ?? ''}, assertion valid from ${p['validFrom'] ?? ''}, expiry time of assertion ${p['expiresAt'] ?? ''}. Review the documentation at ${CERTIFICATE_CREDENTIALS_DOC} .`,
  },
  700027: {
    error: 'invalid_client',
    status: 401,
    // Worded like Entra's answers for an unregistered key, a bad signature and an expired key.
    text: (p) => {
      const clientId = p['clientId'] ?? '';
      const found = p['foundKey'] ? `, Found key '${p['foundKey']}'` : '';
      return (
        `${p['headline'] ?? 'Client assertion failed signature validation.'} [Reason - ${p['reason'] ?? ''}, ` +
        `Thumbprint of key used by client: '${p['thumbprint'] ?? ''}'${found}, Please visit the Azure Portal, Graph Explorer or ` +
        `directly use MS Graph to see configured keys for app Id '${clientId}'. Review the documentation at ` +
        'https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and ' +
        'https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, ' +
        `such as 'https://graph.microsoft.com/beta/applications/${clientId}'].`
      );
    },
  },
  700054: {
    error: 'unsupported_response_type',
    status: 400,
    text: (p) => `response_type '${p['responseType'] ?? ''}' is not enabled for the application.`,
  },
  700082: {
    error: 'invalid_grant',
    status: 400,
    suberror: 'bad_token',
    text: (p) =>
      `The refresh token has expired due to inactivity. The token was issued on ${p['issuedAt'] ?? ''} and was inactive for ${p['inactive'] ?? '90.00:00:00'}.`,
  },
  900144: {
    error: 'invalid_request',
    status: 400,
    text: (p) => `The request body must contain the following parameter: '${p['name'] ?? ''}'.`,
  },
  900561: {
    error: 'invalid_request',
    status: 400,
    text: (p) => `The endpoint only accepts POST requests. Received a ${p['method'] ?? 'GET'} request.`,
  },
  1002012: {
    error: 'invalid_scope',
    status: 400,
    text: (p) =>
      `The provided value for scope ${p['scope'] ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  },
  7000012: {
    error: 'invalid_grant',
    status: 400,
    text: () => 'The grant was obtained for a different tenant.',
  },
  7000215: {
    error: 'invalid_client',
    status: 401,
    text: (p) =>
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${p['clientId'] ?? ''}'.`,
  },
  7000218: {
    error: 'invalid_client',
    status: 401,
    text: () => "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  },
  7000222: {
    error: 'invalid_client',
    status: 401,
    text: (p) =>
      `The provided client secret keys for app '${p['clientId'] ?? ''}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
  },
  9002313: {
    error: 'invalid_grant',
    status: 400,
    text: () => 'Invalid request. Request is malformed or invalid.',
  },
};

/** The JSON body of an Entra error answer. */
export interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
  suberror?: string;
}

/** An HTTP status with an Entra error body. */
export interface EntraErrorAnswer {
  status: number;
  body: EntraErrorBody;
}

/** Where and when an error is answered. */
export interface ErrorContext {
  now: number;
  /** The client's `client-request-id`, echoed as correlation id like Entra does. */
  correlationId?: string;
  authorityHost: string;
}

/** True when the emulator knows how to word `code`. */
export function isKnownAadsts(code: number): boolean {
  return code in CATALOGUE;
}

/** Builds the Entra answer for AADSTS `code` (unknown codes become a generic 400 invalid_request). */
export function entraError(code: number, params: ErrorParams, ctx: ErrorContext): EntraErrorAnswer {
  const entry: CatalogueEntry = CATALOGUE[code] ?? {
    error: 'invalid_request',
    status: 400,
    text: () => 'Emulated error.',
  };
  const traceId = randomUUID();
  const correlationId = ctx.correlationId ?? randomUUID();
  const timestamp = entraTimestamp(ctx.now);
  const body: EntraErrorBody = {
    error: entry.error,
    error_description:
      `AADSTS${code}: ${entry.text(params)}\r\nTrace ID: ${traceId}\r\n` + `Correlation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${ctx.authorityHost}/error?code=${code}`,
  };
  if (entry.suberror) body.suberror = entry.suberror;
  return { status: entry.status, body };
}

/** Entra's timestamp format, `2024-05-01 12:34:56Z`. */
export function entraTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}
