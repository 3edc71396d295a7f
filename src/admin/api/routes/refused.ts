/**
 * /api/v1/refused: refused SMTP sessions and transactions as data, most
 * recently seen first, filtered by client address and reason, a page at a
 * time (the cursor is where the previous page ended). Read-only: a `read`
 * token may look.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { REFUSAL_REASON_KEYS, refusalOut, type RefusalReason } from '../../../relay/refusals.js';
import { decodeRefusalCursor, encodeRefusalCursor } from '../../refusal-cursor.js';
import type { StoreSlice } from '../../../store/index.js';
import type { ApiEnv, ApiRouteDeps } from '../env.js';
import { ApiError, errorResponses } from '../errors.js';
import { json } from '../openapi.js';

const DEFAULT_PAGE = 100;
const MAX_PAGE = 500;
const reasonEnum = z.enum(REFUSAL_REASON_KEYS as [RefusalReason, ...RefusalReason[]]);
const time = z.iso.datetime();

const listQuery = z.object({
  client: z
    .string()
    .trim()
    .toLowerCase()
    .max(64)
    .optional()
    .meta({ description: 'The client address starts with this (e.g. 192.168.10.7, or 192.168.10. for the network).' }),
  reason: reasonEnum.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
  cursor: z.string().max(200).optional().meta({ description: 'nextCursor of the previous page.' }),
});

const refusalSchema = z
  .object({
    id: z.number().int(),
    client: z.string().meta({ description: 'The client address (after the PROXY protocol, when used).' }),
    reason: reasonEnum,
    label: z.string().meta({ description: 'The reason in words, as the panel shows it.' }),
    detail: z.string().meta({ description: 'What was refused and the reply sent (the latest of the run).' }),
    hint: z.string().nullable().meta({ description: 'What the admin can do about it.' }),
    username: z.string().nullable().meta({ description: 'The relay user involved, if any.' }),
    count: z.number().int().meta({ description: 'Refusals of this client for this reason, each less than a minute after the last.' }),
    firstAt: time,
    lastAt: time,
  })
  .openapi('Refusal');

const list = createRoute({
  method: 'get',
  path: '/refused',
  tags: ['Refused'],
  summary: 'List refused SMTP sessions and transactions, most recently seen first',
  request: { query: listQuery },
  responses: {
    200: json(
      z.object({
        refusals: z.array(refusalSchema),
        nextCursor: z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page.' }),
      }),
      'A page of refusals',
    ),
    ...errorResponses('invalid', 'unauthorized'),
  },
});

/** The refused route. */
export function refusedApi({ store }: ApiRouteDeps<StoreSlice<{ refusals: 'list' }>>): OpenAPIHono<ApiEnv> {
  const app = new OpenAPIHono<ApiEnv>();

  app.openapi(list, async (c) => {
    const q = c.req.valid('query');
    const after = q.cursor === undefined ? undefined : decodeRefusalCursor(q.cursor);
    if (after === null) throw new ApiError('invalid', 'This cursor is not one the refused list gave out.', 'cursor');
    // One more than the page tells whether another page follows.
    const rows = await store.refusals.list({ client: q.client || undefined, reason: q.reason, after, limit: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return c.json({ refusals: page.map(refusalOut), nextCursor: rows.length > q.limit && last ? encodeRefusalCursor(last) : null }, 200);
  });

  return app;
}
