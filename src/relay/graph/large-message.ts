/**
 * Messages that cannot go as MIME in one Graph request. A large message goes
 * through a draft (Graph's message resource, message-reader.ts), its
 * attachments under 3 MiB posted as base64 JSON and larger ones uploaded in
 * byte ranges through an upload session, then `send`; a draft left by a
 * failed attempt is deleted. A small message whose recipients are all Bcc goes
 * as JSON sendMail: Exchange ignores Bcc in a MIME message without To or Cc.
 */
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { DeliveryError } from '../upstream.js';
import { unsendable, type GraphAnswer, type GraphSession } from './graph-client.js';
import { readAttachments, readOutline, type AttachmentInfo, type GraphMessage } from './message-reader.js';

/** Graph takes an attachment this small in one request; larger ones need an upload session (and it refuses smaller). */
export const UPLOAD_SESSION_MIN_BYTES = 3 * 1024 * 1024;
/** Byte ranges are multiples of 320 KiB (but the last) and at most 4 MB: ten of them. */
export const UPLOAD_CHUNK_BYTES = 10 * 320 * 1024;
/** Graph refuses requests over 4 MB; a JSON request stays under with a margin. */
export const JSON_REQUEST_LIMIT = 3_900_000;

/** A file attachment as Graph's JSON carries it. */
function fileAttachment(attachment: AttachmentInfo, bytes: Buffer): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.fileAttachment',
    name: attachment.name,
    contentType: attachment.contentType,
    contentBytes: bytes.toString('base64'),
    isInline: attachment.isInline,
    ...(attachment.contentId ? { contentId: attachment.contentId } : {}),
  };
}

/** A writer that keeps what it is given and hands it over at the end. */
function collectInto(done: (bytes: Buffer) => Promise<void>): Writable {
  const chunks: Buffer[] = [];
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
    final(callback) {
      done(Buffer.concat(chunks)).then(() => callback(), callback);
    },
  });
}

/** Graph answered 2xx without what the next step needs: a protocol problem, tried again later. */
const unexpected = (what: string): DeliveryError =>
  new DeliveryError({ kind: 'network', code: 'EPROTOCOL', message: `Microsoft Graph answered without ${what}` });

/** A writer that uploads what it is given to `uploadUrl` in byte ranges of UPLOAD_CHUNK_BYTES. */
function uploadWriter(session: GraphSession, uploadUrl: string, size: number): Writable {
  let parts: Buffer[] = [];
  let buffered = 0;
  let offset = 0;
  const put = async (bytes: Buffer): Promise<void> => {
    const range = `bytes ${offset}-${offset + bytes.length - 1}/${size}`;
    await session.send({
      step: 'upload',
      method: 'PUT',
      url: uploadUrl,
      body: bytes,
      contentType: 'application/octet-stream',
      headers: { 'content-range': range },
    });
    offset += bytes.length;
  };
  const putFull = async (): Promise<void> => {
    const all = Buffer.concat(parts);
    let at = 0;
    for (; all.length - at >= UPLOAD_CHUNK_BYTES; at += UPLOAD_CHUNK_BYTES) await put(all.subarray(at, at + UPLOAD_CHUNK_BYTES));
    parts = [all.subarray(at)];
    buffered = all.length - at;
  };
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      buffered += chunk.length;
      if (buffered < UPLOAD_CHUNK_BYTES) return callback();
      putFull().then(() => callback(), callback);
    },
    final(callback) {
      if (offset + buffered !== size) {
        callback(unsendable('AttachmentChanged', `an attachment read ${offset + buffered} bytes instead of ${size}`));
        return;
      }
      (buffered > 0 ? put(Buffer.concat(parts)) : Promise.resolve()).then(() => callback(), callback);
    },
  });
}

/** The JSON body of a request, refused before it goes when Graph would refuse it for its size. */
function jsonBody(value: unknown, what: string): string {
  const body = JSON.stringify(value);
  const bytes = Buffer.byteLength(body);
  if (bytes > JSON_REQUEST_LIMIT) {
    throw unsendable('BodyTooLarge', `${what} is ${bytes} bytes as JSON; Microsoft Graph takes at most 4 MB in one request`);
  }
  return body;
}

/**
 * Sends the message from `open()` through a draft of the mailbox at `base` (`/v1.0/users/{id}` or
 * `/v1.0/me`): needs Mail.ReadWrite besides Mail.Send. Resolves with the answer to `send`.
 */
export async function sendViaDraft(session: GraphSession, base: string, open: () => Readable): Promise<GraphAnswer> {
  const { message, attachments } = await readOutline(open);
  const created = await session.send({
    step: 'createDraft',
    method: 'POST',
    url: `${base}/messages`,
    body: jsonBody(message, 'the message without its attachments'),
    contentType: 'application/json',
  });
  const id = (created.json as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string' || id === '') throw unexpected("the new draft's id");
  const draft = `${base}/messages/${encodeURIComponent(id)}`;
  try {
    await readAttachments(open, attachments, async (attachment) => {
      if (attachment.size < UPLOAD_SESSION_MIN_BYTES) {
        return collectInto(async (bytes) => {
          await session.send({
            step: 'addAttachment',
            method: 'POST',
            url: `${draft}/attachments`,
            body: jsonBody(fileAttachment(attachment, bytes), `attachment ${attachment.name}`),
            contentType: 'application/json',
          });
        });
      }
      const opened = await session.send({
        step: 'createUploadSession',
        method: 'POST',
        url: `${draft}/attachments/createUploadSession`,
        body: JSON.stringify({
          AttachmentItem: {
            attachmentType: 'file',
            name: attachment.name,
            size: attachment.size,
            contentType: attachment.contentType,
            isInline: attachment.isInline,
            ...(attachment.contentId ? { contentId: attachment.contentId } : {}),
          },
        }),
        contentType: 'application/json',
      });
      const uploadUrl = (opened.json as { uploadUrl?: unknown } | undefined)?.uploadUrl;
      if (typeof uploadUrl !== 'string' || !/^https:\/\//i.test(uploadUrl)) throw unexpected('an https upload URL');
      return uploadWriter(session, uploadUrl, attachment.size);
    });
    return await session.send({ step: 'sendDraft', method: 'POST', url: `${draft}/send` });
  } catch (err) {
    // The draft would stay in the mailbox's Drafts folder; the next attempt makes a new one.
    await session.send({ step: 'deleteDraft', method: 'DELETE', url: draft }).catch(() => undefined);
    throw err;
  }
}

/**
 * Sends the message from `open()` as JSON sendMail (Mail.Send only), attachments inline; resolves
 * with null, sending nothing, when that would be over Graph's request limit.
 */
export async function sendAsJson(session: GraphSession, base: string, open: () => Readable): Promise<GraphAnswer | null> {
  const { message, attachments } = await readOutline(open);
  const files: Record<string, unknown>[] = [];
  await readAttachments(open, attachments, async (attachment) =>
    collectInto(async (bytes) => {
      files.push(fileAttachment(attachment, bytes));
    }),
  );
  const payload: { message: GraphMessage & { attachments: Record<string, unknown>[] }; saveToSentItems: boolean } = {
    message: { ...message, attachments: files },
    saveToSentItems: true,
  };
  const body = JSON.stringify(payload);
  if (Buffer.byteLength(body) > JSON_REQUEST_LIMIT) return null;
  return session.send({ step: 'sendMail', method: 'POST', url: `${base}/sendMail`, body, contentType: 'application/json' });
}
