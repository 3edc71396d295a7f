/**
 * What the Graph emulator answers once a request is authenticated and within its
 * limits: sendMail (MIME or JSON), GET a user, drafts with small attachments and
 * upload sessions, byte-range uploads and sending a draft. Sending checks, in
 * Exchange's order: mailbox, permission, body, recipients, size, Send As, the
 * mailbox's daily recipients; then records the message and answers 202.
 */
import { randomBytes } from 'node:crypto';
import type { Directory, Mailbox } from './directory.js';
import { findPathMailbox, mailMailbox, mailPermission, readUserPermission, sendAsCheck, type GraphCaller } from './graph-auth.js';
import type { DraftState, DraftStore, UploadState } from './graph-drafts.js';
import { graphErrors, isGraphError, type GraphError } from './graph-errors.js';
import type { Answer, RouteMatch } from './graph-http.js';
import {
  fileAttachmentFromJson,
  messageFromJson,
  messageFromMime,
  messageSize,
  recipientProblem,
  uniqueRecipients,
  type OutgoingMessage,
} from './graph-mail.js';
import type { GraphMessage, GraphSettings } from './graph-types.js';
import type { MailboxLimits } from './mailbox-limits.js';

/** A request's route and body. */
export interface RouteRequest {
  match: RouteMatch;
  body: Buffer;
  contentType: string;
}

/** What the handlers read and write. */
export interface RouteContext {
  directory: Directory;
  settings: GraphSettings;
  drafts: DraftStore;
  mailboxLimits: MailboxLimits;
  now: number;
  graphUrl: string;
  /** Records an accepted message. */
  accept: (message: GraphMessage) => void;
}

// The emulator cannot know when enough of the rolling day has passed for a message to fit; an hour is a fair hint.
const QUOTA_RETRY_AFTER_SECONDS = 3600;

/** Answers an authenticated Graph request (every route but the upload URLs). */
export function answerGraphRoute(caller: GraphCaller, request: RouteRequest, ctx: RouteContext): Answer {
  switch (request.match.route) {
    case 'getUser':
      return getUser(caller, request.match, ctx);
    case 'sendMail':
      return sendMail(caller, request, ctx);
    case 'createDraft':
      return createDraft(caller, request, ctx);
    case 'addAttachment':
      return addAttachment(caller, request, ctx);
    case 'createUploadSession':
      return createUploadSession(caller, request, ctx);
    case 'sendDraft':
      return sendDraft(caller, request, ctx);
    case 'upload':
    case 'cancelUpload':
      // Upload URLs carry no token: they are answered by answerUpload.
      return graphErrors.itemNotFound();
  }
}

/** Answers a byte-range PUT (or a DELETE) at an upload URL. */
export function answerUpload(session: UploadState, request: RouteRequest & { contentRange?: string }, ctx: RouteContext): Answer {
  const draft = ctx.drafts.find(session.mailbox, session.draftId);
  if (!draft) return graphErrors.itemNotFound();
  if (request.match.route === 'cancelUpload') {
    ctx.drafts.cancelUpload(session);
    return { status: 204 };
  }
  const outcome = ctx.drafts.receiveChunk(session, request.contentRange, request.body, { multiple: ctx.settings.uploadChunkMultiple });
  if (isGraphError(outcome)) return outcome;
  const base = `${ctx.graphUrl}/api/v2.0/Users('${session.mailbox}')/Messages('${draft.id}')`;
  if (outcome.done) return { status: 201, headers: { location: `${base}/Attachments('${outcome.attachmentId}')` } };
  // The upload URL is Outlook's REST API, which names its properties in PascalCase.
  return {
    status: 200,
    body: {
      '@odata.context': `${ctx.graphUrl}/api/v2.0/$metadata#Users('${session.mailbox}')/Messages('${draft.id}')/AttachmentSessions/$entity`,
      ExpirationDateTime: new Date(session.expiresAt).toISOString(),
      NextExpectedRanges: [String(outcome.next)],
    },
  };
}

function getUser(caller: GraphCaller, match: RouteMatch, ctx: RouteContext): Answer {
  const found = findPathMailbox(caller, match.user);
  if (isGraphError(found)) return found;
  const denied = readUserPermission(caller, found);
  if (denied) return denied;
  if (!found) return graphErrors.userNotFound(match.user ?? 'me');
  const [givenName, ...rest] = found.displayName.split(' ');
  return {
    status: 200,
    body: {
      '@odata.context': `${ctx.graphUrl}/v1.0/$metadata#users/$entity`,
      businessPhones: [],
      displayName: found.displayName,
      givenName: givenName ?? null,
      jobTitle: null,
      mail: found.address,
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: null,
      surname: rest.join(' ') || null,
      userPrincipalName: found.address,
      id: found.oid,
    },
  };
}

function sendMail(caller: GraphCaller, request: RouteRequest, ctx: RouteContext): Answer {
  const mailbox = permittedMailbox(caller, request.match, 'Mail.Send', ctx);
  if (isGraphError(mailbox)) return mailbox;
  const mime = request.contentType.toLowerCase().startsWith('text/plain');
  const message = mime ? messageFromMime(request.body) : messageFromJson(request.body, true);
  if (isGraphError(message)) return message;
  return submit(caller, mailbox, message, mime ? 'mime' : 'json', ctx);
}

function createDraft(caller: GraphCaller, request: RouteRequest, ctx: RouteContext): Answer {
  const mailbox = permittedMailbox(caller, request.match, 'Mail.ReadWrite', ctx);
  if (isGraphError(mailbox)) return mailbox;
  const message = messageFromJson(request.body, false);
  if (isGraphError(message)) return message;
  const draft = ctx.drafts.create(
    { mailbox: mailbox.address, clientId: caller.app.clientId, tokenKind: caller.kind, principal: principalOf(caller), message },
    ctx.now,
  );
  return { status: 201, body: draftResource(draft, ctx) };
}

function addAttachment(caller: GraphCaller, request: RouteRequest, ctx: RouteContext): Answer {
  const draft = permittedDraft(caller, request.match, ctx);
  if (isGraphError(draft)) return draft;
  const json = parseJson(request.body);
  if (isGraphError(json)) return json;
  const attachment = fileAttachmentFromJson(json.value);
  if (isGraphError(attachment)) return attachment;
  draft.attachments.push(attachment);
  return {
    status: 201,
    body: {
      '@odata.type': '#microsoft.graph.fileAttachment',
      id: `AAMkA${randomBytes(24).toString('base64url')}`,
      name: attachment.name,
      contentType: attachment.contentType,
      size: attachment.bytes.length,
      isInline: attachment.isInline,
    },
  };
}

function createUploadSession(caller: GraphCaller, request: RouteRequest, ctx: RouteContext): Answer {
  const draft = permittedDraft(caller, request.match, ctx);
  if (isGraphError(draft)) return draft;
  const json = parseJson(request.body);
  if (isGraphError(json)) return json;
  const { value } = json;
  const item = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['AttachmentItem'] : undefined;
  const fields = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : undefined;
  const name = fields?.['name'];
  const size = fields?.['size'];
  if (fields?.['attachmentType'] !== undefined && String(fields['attachmentType']).toLowerCase() !== 'file') {
    return graphErrors.badRequest("Only an AttachmentItem of attachmentType 'file' can be uploaded.");
  }
  if (typeof name !== 'string' || typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
    return graphErrors.badRequest("createUploadSession needs an AttachmentItem with 'name' and a positive integer 'size'.");
  }
  if (size < ctx.settings.uploadSessionMinBytes) return graphErrors.attachmentTooSmall();
  if (messageSize(draft.message) + Math.ceil(size / 3) * 4 > ctx.settings.maxMessageSize) return graphErrors.messageTooLarge();
  const contentType = typeof fields?.['contentType'] === 'string' ? fields['contentType'] : 'application/octet-stream';
  const contentId = typeof fields?.['contentId'] === 'string' ? fields['contentId'] : undefined;
  const upload = { name, size, contentType, isInline: fields?.['isInline'] === true, ...(contentId !== undefined ? { contentId } : {}) };
  const session = ctx.drafts.openUpload(draft, upload, ctx.now + ctx.settings.uploadSessionLifetimeSeconds * 1000);
  const owner = caller.tenant.mailboxes.get(draft.mailbox)?.oid ?? draft.mailbox;
  const path = `Users('${owner}@${caller.tenant.id}')/Messages('${draft.id}')/AttachmentSessions('${session.id}')`;
  return {
    status: 201,
    body: {
      '@odata.context': `${ctx.graphUrl}/v1.0/$metadata#microsoft.graph.uploadSession`,
      uploadUrl: `${ctx.graphUrl}/api/v2.0/${path}?authtoken=${session.token}`,
      expirationDateTime: new Date(session.expiresAt).toISOString(),
      nextExpectedRanges: ['0-'],
    },
  };
}

function sendDraft(caller: GraphCaller, request: RouteRequest, ctx: RouteContext): Answer {
  const mailbox = permittedMailbox(caller, request.match, 'Mail.Send', ctx);
  if (isGraphError(mailbox)) return mailbox;
  const draft = ctx.drafts.find(mailbox.address, request.match.messageId ?? '');
  if (!draft) return graphErrors.itemNotFound();
  const answer = submit(caller, mailbox, { ...draft.message, saveToSentItems: true }, 'draft', ctx);
  if (!isGraphError(answer)) ctx.drafts.remove(draft);
  return answer;
}

/** Checks and records a message to send; 202 when accepted. */
function submit(caller: GraphCaller, mailbox: Mailbox, message: OutgoingMessage, via: GraphMessage['via'], ctx: RouteContext): Answer {
  const problem = recipientProblem(message, ctx.settings.bccOnlyMime);
  if (problem) return problem;
  if (messageSize(message) > ctx.settings.maxMessageSize) return graphErrors.messageTooLarge();
  const from = message.from ?? mailbox.address;
  const denied = sendAsCheck(caller, mailbox, from, ctx.directory);
  if (denied) return denied;
  const recipients = uniqueRecipients(message);
  if (ctx.mailboxLimits.overQuota(mailbox.address, recipients.length, ctx.settings.recipientsPerDay)) {
    return graphErrors.quotaExceeded(QUOTA_RETRY_AFTER_SECONDS);
  }
  ctx.mailboxLimits.recordSubmission(mailbox.address, recipients.length);
  ctx.accept({
    id: `AAMkA${randomBytes(36).toString('base64url')}`,
    via,
    mailbox: mailbox.address,
    tokenKind: caller.kind,
    principal: principalOf(caller),
    from: from.toLowerCase(),
    recipients,
    to: message.to,
    cc: message.cc,
    bcc: message.bcc,
    subject: message.subject,
    body: message.body,
    attachments: message.attachments,
    ...(message.raw ? { raw: message.raw } : {}),
    savedToSentItems: message.saveToSentItems,
    receivedAt: new Date(ctx.now),
  });
  return { status: 202 };
}

/** The mailbox of a mail request once the caller may use `permission` on it. */
function permittedMailbox(caller: GraphCaller, match: RouteMatch, permission: string, ctx: RouteContext): Mailbox | GraphError {
  const mailbox = mailMailbox(caller, match.user, ctx.settings.unknownUserError);
  if (isGraphError(mailbox)) return mailbox;
  return mailPermission(caller, mailbox, permission) ?? mailbox;
}

/** The draft a request names, once the caller may write the mailbox's mail. */
function permittedDraft(caller: GraphCaller, match: RouteMatch, ctx: RouteContext): DraftState | GraphError {
  const mailbox = permittedMailbox(caller, match, 'Mail.ReadWrite', ctx);
  if (isGraphError(mailbox)) return mailbox;
  return ctx.drafts.find(mailbox.address, match.messageId ?? '') ?? graphErrors.itemNotFound();
}

function principalOf(caller: GraphCaller): string {
  return caller.kind === 'app' ? caller.app.clientId : (caller.user?.address ?? '');
}

function parseJson(body: Buffer): { value: unknown } | GraphError {
  try {
    return { value: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return graphErrors.unreadableJson();
  }
}

/** The message resource Graph answers for a new draft. */
function draftResource(draft: DraftState, ctx: RouteContext): Record<string, unknown> {
  const created = new Date(draft.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const recipients = (list: string[]): Array<{ emailAddress: { name: string; address: string } }> =>
    list.map((address) => ({ emailAddress: { name: address, address } }));
  const { message } = draft;
  return {
    '@odata.context': `${ctx.graphUrl}/v1.0/$metadata#users('${draft.mailbox}')/messages/$entity`,
    id: draft.id,
    createdDateTime: created,
    lastModifiedDateTime: created,
    subject: message.subject,
    bodyPreview: message.body.content.slice(0, 255),
    isDraft: true,
    hasAttachments: message.attachments.length > 0,
    body: { contentType: message.body.contentType, content: message.body.content },
    from: message.from ? { emailAddress: { name: message.from, address: message.from } } : null,
    toRecipients: recipients(message.to),
    ccRecipients: recipients(message.cc),
    bccRecipients: recipients(message.bcc),
  };
}
