/**
 * /api/v1/queue: the relay log as data. The list is newest first with
 * filters and cursor pagination (the cursor is where the previous page ended,
 * so pages stay right while mail arrives); one message comes with its
 * recipients, its events and the hint for Microsoft's last reply. Waiting
 * mail can be retried now or deleted, as in the panel.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { hintForSmtpReply } from '../../../auth/hints.js';
import type { StoreSlice } from '../../../store/index.js';
import type { ApiEnv, ApiRouteDeps } from '../env.js';
import { ApiError, errorResponses, notFound } from '../errors.js';
import { json } from '../openapi.js';
import { eventOut, eventSchema, hintSchema, MESSAGE_STATUSES, messageOut, messageSchema } from '../schemas.js';

const TAGS = ['Queue'];
const DEFAULT_PAGE = 100;
const MAX_PAGE = 500;

const messageParams = z.object({
  id: z
    .string()
    .regex(/^[0-9A-Za-z]{1,64}$/, 'A queue ID is letters and digits.')
    .meta({ param: { name: 'id', in: 'path' }, description: 'The queue ID (as in the 250 reply).' }),
});

const listQuery = z.object({
  status: z.enum(MESSAGE_STATUSES).optional(),
  serverId: z.coerce.number().int().positive().optional(),
  sender: z.string().max(320).optional().meta({ description: 'The envelope sender starts with this (any case).' }),
  recipient: z.string().max(320).optional().meta({ description: 'A recipient starts with this (any case).' }),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
  cursor: z.string().max(200).optional().meta({ description: 'nextCursor of the previous page.' }),
});

const list = createRoute({
  method: 'get',
  path: '/queue',
  tags: TAGS,
  summary: 'List messages, newest first',
  request: { query: listQuery },
  responses: {
    200: json(
      z.object({
        messages: z.array(messageSchema),
        nextCursor: z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page.' }),
      }),
      'A page of messages',
    ),
    ...errorResponses('invalid', 'unauthorized'),
  },
});
const get = createRoute({
  method: 'get',
  path: '/queue/{id}',
  tags: TAGS,
  summary: 'Read one message with its events and the hint for its last reply',
  request: { params: messageParams },
  responses: {
    200: json(messageSchema.extend({ events: z.array(eventSchema), hint: hintSchema }).openapi('MessageDetail'), 'The message'),
    ...errorResponses('unauthorized', 'not_found'),
  },
});
const retry = createRoute({
  method: 'post',
  path: '/queue/{id}/retry',
  tags: TAGS,
  summary: 'Make a waiting (queued, deferred or held) message due now',
  request: { params: messageParams },
  responses: { 200: json(messageSchema, 'The message, due now'), ...errorResponses('unauthorized', 'forbidden', 'not_found', 'conflict') },
});
const remove = createRoute({
  method: 'delete',
  path: '/queue/{id}',
  tags: TAGS,
  summary: 'Delete a message (not while it is being delivered) and its spooled bytes',
  request: { params: messageParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses('unauthorized', 'forbidden', 'not_found', 'conflict') },
});

interface Cursor {
  receivedAt: number;
  id: string;
}
const encodeCursor = (c: Cursor): string => Buffer.from(`${c.receivedAt}.${c.id}`).toString('base64url');
function decodeCursor(text: string): Cursor {
  const match = /^(\d{1,16})\.([0-9A-Za-z]{1,64})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!match) throw new ApiError('invalid', 'This cursor is not one the queue list gave out.', 'cursor');
  return { receivedAt: Number(match[1]), id: match[2] as string };
}

/** The queue routes. */
export function queueApi({
  store,
  relay,
  log,
}: ApiRouteDeps<StoreSlice<{ queue: 'events' | 'get' | 'list' | 'recipients' }>>): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();
  const find = async (id: string) => {
    const message = await store.queue.get(id);
    if (!message) throw notFound(`message with queue ID ${id}`);
    return message;
  };

  app.openapi(list, async (c) => {
    const q = c.req.valid('query');
    // One more than the page tells whether another page follows.
    const rows = await store.queue.list({
      status: q.status,
      serverId: q.serverId,
      sender: q.sender || undefined,
      recipient: q.recipient || undefined,
      after: q.cursor === undefined ? undefined : decodeCursor(q.cursor),
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const messages = await Promise.all(page.map(async (m) => messageOut(m, await store.queue.recipients(m.id))));
    return c.json(
      {
        messages,
        nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null,
      },
      200,
    );
  });

  app.openapi(get, async (c) => {
    const message = await find(c.req.valid('param').id);
    const recipients = await store.queue.recipients(message.id);
    const events = await store.queue.events(message.id);
    return c.json(
      {
        ...messageOut(message, recipients),
        events: events.map(eventOut),
        hint: message.lastReply ? hintForSmtpReply(message.lastReply) : null,
      },
      200,
    );
  });

  app.openapi(retry, async (c) => {
    const message = await find(c.req.valid('param').id);
    if (!(await relay.retryNow(message.id))) {
      throw new ApiError(
        'conflict',
        `Message ${message.id} is ${message.status}: only waiting (queued, deferred or held) mail can be retried.`,
      );
    }
    log.info('message retried', { queueId: message.id, by: `API token ${c.var.apiToken.name}` });
    return c.json(messageOut(await find(message.id), await store.queue.recipients(message.id)), 200);
  });

  app.openapi(remove, async (c) => {
    const message = await find(c.req.valid('param').id);
    if (!(await relay.deleteMessage(message.id))) {
      throw new ApiError('conflict', `Message ${message.id} is being delivered right now; try again in a moment.`);
    }
    log.info('message deleted', { queueId: message.id, by: `API token ${c.var.apiToken.name}` });
    return c.body(null, 204);
  });

  return app;
}
