/**
 * The HTTP edge of the Graph emulator: which request a method and path are
 * (Graph's `/v1.0/users/{id}/...` and `/v1.0/me/...`, and the Outlook-style upload
 * URLs it hands out), reading a body under a size cap, and writing answers with
 * Graph's headers (`request-id`, `client-request-id`, `Retry-After`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { graphErrorBody, isGraphError, type GraphError } from './graph-errors.js';
import type { GraphRoute } from './graph-types.js';

/** A recognised request. */
export interface RouteMatch {
  route: GraphRoute;
  /** `users/{id}` as sent (decoded); undefined for `/me`. */
  user?: string;
  messageId?: string;
  sessionId?: string;
}

/** An answer to write: a status with an optional JSON body and headers, or a Graph error. */
export type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | GraphError;

/** Bodies beyond this are not even drained: the connection is closed instead. */
const MAX_DRAINED_BYTES = 256 * 1024 * 1024;

/** Graph requests by method and path after `users/{id}` or `me`. */
const ROUTES: Record<string, GraphRoute> = {
  'GET ': 'getUser',
  'POST sendmail': 'sendMail',
  'POST messages': 'createDraft',
  'POST messages/:id/send': 'sendDraft',
  'POST messages/:id/attachments': 'addAttachment',
  'POST messages/:id/attachments/createuploadsession': 'createUploadSession',
};

const UPLOAD_PATH = /^\/api\/v2\.0\/Users\('([^']*)'\)\/Messages\('([^']*)'\)\/AttachmentSessions\('([^']*)'\)$/i;

/** The request `method` and `pathname` name, or the first path segment Graph would not know. */
export function matchRoute(method: string, pathname: string): RouteMatch | { unknownSegment: string } {
  const path = safeDecode(pathname);
  const upload = UPLOAD_PATH.exec(path);
  if (upload) {
    const sessionId = upload[3] ?? '';
    if (method === 'PUT') return { route: 'upload', sessionId };
    if (method === 'DELETE') return { route: 'cancelUpload', sessionId };
  }
  const segments = path.split('/').filter(Boolean);
  const [version = '', root = '', ...after] = segments;
  if (version.toLowerCase() !== 'v1.0') return { unknownSegment: version };
  const me = root.toLowerCase() === 'me';
  if (!me && root.toLowerCase() !== 'users') return { unknownSegment: root };
  const user = me ? undefined : after[0];
  const rest = me ? after : after.slice(1);
  if (!me && !user) return { unknownSegment: root };
  const base = user === undefined ? {} : { user };
  // The message id is the one free segment after `messages`.
  const shape = rest.map((s, i) => (i === 1 && rest[0]?.toLowerCase() === 'messages' ? ':id' : s.toLowerCase())).join('/');
  const route = ROUTES[`${method} ${shape}`];
  if (!route) return { unknownSegment: rest.at(-1) ?? root };
  const messageId = shape.includes(':id') ? rest[1] : undefined;
  return { route, ...base, ...(messageId !== undefined ? { messageId } : {}) };
}

/** A body read up to `maxBytes`; beyond that it is drained and dropped. */
export interface ReadBody {
  body: Buffer;
  /** Bytes the client sent. */
  total: number;
  tooLarge: boolean;
}

/** Reads the request body, keeping at most `maxBytes`. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<ReadBody> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total <= maxBytes) chunks.push(buffer);
    if (total > MAX_DRAINED_BYTES) {
      req.destroy();
      break;
    }
  }
  return total > maxBytes ? { body: Buffer.alloc(0), total, tooLarge: true } : { body: Buffer.concat(chunks), total, tooLarge: false };
}

/** Request ids of an answer: Graph's own and the client's (echoed). */
export interface AnswerIds {
  requestId: string;
  clientRequestId?: string;
}

/** Writes `answer` with Graph's headers; returns the status, Graph code and Retry-After written. */
export function writeAnswer(
  res: ServerResponse,
  answer: Answer,
  ids: AnswerIds,
  nowMs: number,
): { status: number; code?: string; retryAfterSeconds?: number } {
  const headers: Record<string, string> = {
    'request-id': ids.requestId,
    'client-request-id': ids.clientRequestId ?? ids.requestId,
    'cache-control': 'no-cache',
  };
  if (isGraphError(answer)) {
    const retry = answer.retryAfterSeconds;
    if (retry !== undefined) headers['retry-after'] = String(retry);
    const body = JSON.stringify(graphErrorBody(answer, ids, nowMs));
    res.writeHead(answer.status, { ...headers, ...answer.headers, 'content-type': 'application/json' });
    res.end(body);
    return { status: answer.status, code: answer.code, ...(retry !== undefined ? { retryAfterSeconds: retry } : {}) };
  }
  if (answer.body === undefined) {
    res.writeHead(answer.status, { ...headers, ...answer.headers, 'content-length': '0' });
    res.end();
  } else {
    const type = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
    res.writeHead(answer.status, { ...headers, ...answer.headers, 'content-type': type });
    res.end(JSON.stringify(answer.body));
  }
  return { status: answer.status };
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
