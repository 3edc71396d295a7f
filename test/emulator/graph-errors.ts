/**
 * Microsoft Graph's error answers as the Graph emulator gives them:
 * `{"error": {"code", "message", "innerError": {"date", "request-id",
 * "client-request-id"}}}` with the HTTP status, and `Retry-After` (seconds) on
 * throttling. Codes are Graph's and Exchange's (`ErrorAccessDenied`,
 * `ErrorSendAsDenied`, ...); texts follow published answers where one was found.
 */
import { randomUUID } from 'node:crypto';

/** An error to answer: status, Graph code and message, optional Retry-After. */
export interface GraphError {
  status: number;
  code: string;
  message: string;
  retryAfterSeconds?: number;
  /** Extra response headers, e.g. `WWW-Authenticate` on a 401. */
  headers?: Record<string, string>;
}

/** The JSON body of a Graph error. */
export interface GraphErrorBody {
  error: {
    code: string;
    message: string;
    innerError: { date: string; 'request-id': string; 'client-request-id': string };
  };
}

/** The 413 codes Microsoft has been seen to use for an oversized request. */
export type RequestTooLargeCode = 'RequestBodyTooLarge' | 'ErrorMessageSizeExceeded';

/** Which Graph code answers an unknown mailbox in a mail request. */
export type UnknownUserCode = 'ErrorInvalidUser' | 'ResourceNotFound';

const ACCESS_DENIED = 'Access is denied. Check credentials and try again.';
// Graph answers a 401 with a challenge naming the identity platform and Graph's app id.
const GRAPH_CHALLENGE =
  'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"';

/** Builds a {@link GraphError}. */
export const graphError = (status: number, code: string, message: string, retryAfterSeconds?: number): GraphError =>
  retryAfterSeconds === undefined ? { status, code, message } : { status, code, message, retryAfterSeconds };

/** True when `value` is a {@link GraphError} rather than a result. */
export function isGraphError(value: unknown): value is GraphError {
  return typeof value === 'object' && value !== null && 'code' in value && 'status' in value && 'message' in value;
}

/** The errors the Graph emulator gives, by situation. */
export const graphErrors = {
  invalidToken: (message: string): GraphError => ({
    ...graphError(401, 'InvalidAuthenticationToken', message),
    headers: { 'www-authenticate': GRAPH_CHALLENGE },
  }),
  /** A Graph token sent to an upload URL, which is pre-authenticated and lives on another resource. */
  invalidAudienceForResource: (uploadUrl: string): GraphError =>
    graphError(
      401,
      'InvalidAudienceForResource',
      `The audience claim value is invalid for current resource. Audience claim is 'https://graph.microsoft.com', request url is '${uploadUrl}'.`,
    ),
  /** No permission, or the mailbox outside the app's RBAC scope; `permission` is named for Mail.ReadWrite (drafts). */
  accessDenied: (permission?: string): GraphError =>
    graphError(403, 'ErrorAccessDenied', permission ? `${ACCESS_DENIED} The ${permission} permission is required.` : ACCESS_DENIED),
  insufficientPrivileges: (): GraphError =>
    graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
  sendAsDenied: (): GraphError =>
    graphError(
      403,
      'ErrorSendAsDenied',
      'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.',
    ),
  mailboxNotEnabled: (): GraphError =>
    graphError(404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.'),
  unknownUser: (id: string, code: UnknownUserCode): GraphError =>
    code === 'ResourceNotFound'
      ? graphError(404, 'ResourceNotFound', 'Resource could not be discovered.')
      : graphError(404, 'ErrorInvalidUser', `The requested user '${id}' is invalid.`),
  userNotFound: (id: string): GraphError =>
    graphError(
      404,
      'Request_ResourceNotFound',
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
    ),
  itemNotFound: (): GraphError => graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.'),
  meWithAppToken: (): GraphError => graphError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.'),
  unknownSegment: (segment: string): GraphError => graphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`),
  badRequest: (message: string): GraphError => graphError(400, 'BadRequest', message),
  unreadableJson: (): GraphError =>
    graphError(
      400,
      'BadRequest',
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    ),
  invalidMimeBase64: (): GraphError => graphError(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.'),
  requestTooLarge: (code: RequestTooLargeCode, maxBytes: number): GraphError =>
    code === 'RequestBodyTooLarge'
      ? graphError(413, 'RequestBodyTooLarge', `The maximum request length supported is ${Math.round(maxBytes / 1048576)}MB.`)
      : graphError(413, 'ErrorMessageSizeExceeded', 'The message exceeds the maximum supported size.'),
  messageTooLarge: (): GraphError => graphError(413, 'ErrorMessageSizeExceeded', 'The message exceeds the maximum supported size.'),
  noRecipients: (): GraphError =>
    graphError(
      400,
      'ErrorInvalidRecipients',
      "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
    ),
  unresolvedRecipient: (recipient: string): GraphError =>
    graphError(
      400,
      'ErrorInvalidRecipients',
      `At least one recipient is not valid., Recipient '${recipient}' is not resolved. All recipients must be resolved before a message can be submitted.`,
    ),
  attachmentTooSmall: (): GraphError =>
    graphError(400, 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize', 'Attachment size must be greater than the minimum size.'),
  /** Over an Outlook throttling limit: `MailboxConcurrency`, `IncomingBytes`, ... */
  throttled: (limit: string, retryAfterSeconds: number): GraphError =>
    graphError(429, 'ApplicationThrottled', `Application is over its ${limit} limit.`, retryAfterSeconds),
  quotaExceeded: (retryAfterSeconds: number): GraphError =>
    graphError(
      429,
      'ErrorSubmissionQuotaExceeded',
      'Cannot submit message. The mailbox has exceeded its submission quota.',
      retryAfterSeconds,
    ),
  invalidRange: (message: string): GraphError => graphError(416, 'InvalidRange', message),
};

/** Code and message of an injected fault with only a status. */
export function faultError(status: number, retryAfterSeconds?: number): GraphError {
  if (status === 401) return graphErrors.invalidToken('Access token has expired or is not yet valid.');
  if (status === 429)
    return graphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', retryAfterSeconds);
  if (status === 503) return graphError(503, 'ServiceUnavailable', 'Service Unavailable', retryAfterSeconds);
  if (status === 504) return graphError(504, 'GatewayTimeout', 'Gateway Timeout', retryAfterSeconds);
  if (status >= 500) return graphError(status, 'UnknownError', 'An internal server error occurred.', retryAfterSeconds);
  return graphError(status, 'BadRequest', 'Emulated error.', retryAfterSeconds);
}

/** The body of `error`, with the request ids and the time of the answer. */
export function graphErrorBody(error: GraphError, ids: { requestId: string; clientRequestId?: string }, nowMs: number): GraphErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      innerError: {
        // Graph's `date` has no fraction and no zone.
        date: new Date(nowMs).toISOString().slice(0, 19),
        'request-id': ids.requestId,
        'client-request-id': ids.clientRequestId ?? ids.requestId,
      },
    },
  };
}

/** A new request id. */
export const newRequestId = (): string => randomUUID();
