/**
 * The Refused page under /refused: refused SMTP sessions and transactions,
 * filtered by client address and reason, a page at a time. Read-only: any
 * signed-in user may look.
 */
import { Hono } from 'hono';
import { DEFAULT_RETENTION_DAYS } from '../../config.js';
import { REFUSAL_REASON_KEYS, type RefusalReason } from '../../relay/refusals.js';
import type { StoreSlice } from '../../store/index.js';
import type { AdminEnv } from '../env.js';
import { decodeRefusalCursor, encodeRefusalCursor } from '../refusal-cursor.js';
import { RefusedPage, refusedHref, type RefusedFilter } from '../views/refused-list.js';

export interface RefusedRouteOptions {
  store: StoreSlice<{ refusals: 'list' }>;
  /** RELAY365_RETENTION_DAYS, said on the page; default 30. */
  retentionDays?: number;
  /** Rows per page; default 100. */
  pageSize?: number;
}

/** Routes under /refused. */
export function refusedRoutes({ store, retentionDays = DEFAULT_RETENTION_DAYS, pageSize = 100 }: RefusedRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();

  app.get('/', async (c) => {
    const q = (name: string): string => (c.req.query(name) ?? '').trim().slice(0, 200);
    const reason = REFUSAL_REASON_KEYS.includes(q('reason') as RefusalReason) ? (q('reason') as RefusalReason) : undefined;
    const filter: RefusedFilter = { client: q('client').toLowerCase().slice(0, 64), reason: reason ?? '' };
    const cursorText = q('cursor');
    const after = cursorText ? decodeRefusalCursor(cursorText) : null;
    // One more than the page tells whether an older page follows.
    const rows = await store.refusals.list({ client: filter.client || undefined, reason, after: after ?? undefined, limit: pageSize + 1 });
    const page = rows.slice(0, pageSize);
    const last = page[page.length - 1];
    return c.render(
      <RefusedPage
        rows={page}
        filter={filter}
        olderHref={rows.length > pageSize && last ? refusedHref(filter, encodeRefusalCursor(last)) : null}
        paged={after !== null}
        badCursor={cursorText !== '' && after === null}
        retentionDays={retentionDays}
      />,
      { title: 'Refused' },
    );
  });

  return app;
}
