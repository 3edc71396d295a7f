/**
 * The messages Graph is asked to send or store, read from request bodies: a MIME
 * message in base64 (sendMail with `Content-Type: text/plain`), Graph's JSON
 * `message` resource (sendMail's `{message, saveToSentItems}` or a draft) and
 * `fileAttachment`s; and the checks Exchange makes on recipients before sending.
 * Graph has no envelope: it delivers to To, Cc and Bcc.
 */
import { graphErrors, isGraphError, type GraphError } from './graph-errors.js';
import type { GraphAttachment } from './graph-types.js';
import { readMime, type MimeSummary } from './mime-reader.js';

/** A message as Graph understood it: what a MIME message says, whichever way it came. */
export interface OutgoingMessage extends MimeSummary {
  /** The MIME message as received, for MIME sends. */
  raw?: Buffer;
  saveToSentItems: boolean;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Reads sendMail's MIME body: the message in base64. */
export function messageFromMime(payload: Buffer): OutgoingMessage | GraphError {
  const text = payload.toString('latin1').replace(/\r?\n/g, '');
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) return graphErrors.invalidMimeBase64();
  const raw = Buffer.from(text, 'base64');
  const summary = readMime(raw);
  return { ...summary, raw, saveToSentItems: true };
}

/**
 * Reads a JSON body: sendMail's `{message, saveToSentItems}` when `wrapped`, else
 * the message resource itself (creating a draft).
 */
export function messageFromJson(payload: Buffer, wrapped: boolean): OutgoingMessage | GraphError {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return graphErrors.unreadableJson();
  }
  if (!isObject(value)) return graphErrors.unreadableJson();
  const message = wrapped ? value['message'] : value;
  if (!isObject(message)) return graphErrors.badRequest("The request must carry a 'message' object.");
  const invalidRecipients: string[] = [];
  const recipients = (name: string): string[] | GraphError => readRecipients(message[name], name, invalidRecipients);
  const to = recipients('toRecipients');
  if (isGraphError(to)) return to;
  const cc = recipients('ccRecipients');
  if (isGraphError(cc)) return cc;
  const bcc = recipients('bccRecipients');
  if (isGraphError(bcc)) return bcc;
  const from = readRecipients(message['from'] === undefined ? undefined : [message['from']], 'from', []);
  if (isGraphError(from)) return from;
  const body = message['body'];
  const type = isObject(body) && typeof body['contentType'] === 'string' ? body['contentType'].toLowerCase() : 'text';
  const attachments: GraphAttachment[] = [];
  for (const item of Array.isArray(message['attachments']) ? message['attachments'] : []) {
    const attachment = fileAttachmentFromJson(item);
    if (isGraphError(attachment)) return attachment;
    attachments.push(attachment);
  }
  return {
    ...(from[0] !== undefined ? { from: from[0] } : {}),
    to,
    cc,
    bcc,
    invalidRecipients,
    subject: typeof message['subject'] === 'string' ? message['subject'] : '',
    body: {
      contentType: type === 'html' ? 'html' : 'text',
      content: isObject(body) && typeof body['content'] === 'string' ? body['content'] : '',
    },
    attachments,
    saveToSentItems: !wrapped || value['saveToSentItems'] !== false,
  };
}

/** Reads a `#microsoft.graph.fileAttachment` (name, contentType, base64 contentBytes). */
export function fileAttachmentFromJson(value: unknown): GraphAttachment | GraphError {
  if (!isObject(value)) return graphErrors.badRequest('An attachment must be a JSON object.');
  const type = value['@odata.type'];
  if (type !== undefined && String(type).toLowerCase() !== '#microsoft.graph.fileattachment') {
    return graphErrors.badRequest(`The emulator models only file attachments, not ${String(type)}.`);
  }
  const name = value['name'];
  const bytes = value['contentBytes'];
  if (typeof name !== 'string' || typeof bytes !== 'string') {
    return graphErrors.badRequest("A file attachment needs 'name' and 'contentBytes'.");
  }
  if (bytes.length % 4 !== 0 || !BASE64.test(bytes)) return graphErrors.badRequest("The attachment's contentBytes are not valid base64.");
  const contentType = typeof value['contentType'] === 'string' ? value['contentType'] : 'application/octet-stream';
  const contentId = typeof value['contentId'] === 'string' ? value['contentId'] : undefined;
  return {
    name,
    contentType,
    bytes: Buffer.from(bytes, 'base64'),
    isInline: value['isInline'] === true,
    ...(contentId !== undefined ? { contentId } : {}),
  };
}

/** Every address the message is delivered to, once each. */
export function uniqueRecipients(message: Pick<OutgoingMessage, 'to' | 'cc' | 'bcc'>): string[] {
  return [...new Set([...message.to, ...message.cc, ...message.bcc])];
}

/**
 * Exchange's refusal of the recipients, if any: an unresolvable address, none at all,
 * or (for MIME, when `bccOnlyMime` is `reject`) only Bcc recipients.
 */
export function recipientProblem(message: OutgoingMessage, bccOnlyMime: 'reject' | 'deliver'): GraphError | undefined {
  const [invalid] = message.invalidRecipients;
  if (invalid !== undefined) return graphErrors.unresolvedRecipient(invalid);
  if (uniqueRecipients(message).length === 0) return graphErrors.noRecipients();
  // Reported for MIME sends: Exchange ignores a Bcc header when no To or Cc is present.
  if (message.raw && bccOnlyMime === 'reject' && message.to.length + message.cc.length === 0) return graphErrors.noRecipients();
  return undefined;
}

/** The size Exchange weighs: the MIME as sent, or for JSON the body plus base64 attachments and a header allowance. */
export function messageSize(message: Pick<OutgoingMessage, 'raw' | 'body' | 'attachments'>): number {
  if (message.raw) return message.raw.length;
  const attachments = message.attachments.reduce((sum, a) => sum + Math.ceil(a.bytes.length / 3) * 4, 0);
  return 2048 + Buffer.byteLength(message.body.content) + attachments;
}

function readRecipients(value: unknown, name: string, invalid: string[]): string[] | GraphError {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return graphErrors.badRequest(`'${name}' must be a collection of recipients.`);
  const found: string[] = [];
  for (const item of value) {
    const email = isObject(item) ? item['emailAddress'] : undefined;
    const address = isObject(email) && typeof email['address'] === 'string' ? email['address'].trim() : undefined;
    if (address === undefined) return graphErrors.badRequest(`Each of '${name}' needs emailAddress.address.`);
    if (/^[^@\s]+@[^@\s]+$/.test(address)) found.push(address.toLowerCase());
    else invalid.push(address);
  }
  return found;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
