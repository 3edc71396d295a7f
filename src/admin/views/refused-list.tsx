/**
 * The Refused page: SMTP sessions and transactions relay365 refused, most
 * recently seen first, with a filter form (client address, reason), what each
 * client was told, how often, and what the admin can do; a page at a time
 * with an "Older" link.
 */
import { REFUSAL_REASON_KEYS, REFUSAL_REASONS, refusalLabel } from '../../relay/refusals.js';
import { REFUSAL_ROW_CAP, type StoredRefusal } from '../../store/refusals.js';
import { Time } from './components.js';
import { ListTable, type Column } from './list-table.js';

export interface RefusedFilter {
  client: string;
  reason: string;
}

export interface RefusedPageProps {
  rows: StoredRefusal[];
  filter: RefusedFilter;
  /** The link to the next (older) page; null on the last page. */
  olderHref: string | null;
  /** Whether this is a later page (a link back to the newest is shown). */
  paged: boolean;
  /** The page's cursor was not one the list gave out: the newest are shown instead. */
  badCursor: boolean;
  retentionDays: number;
}

function FilterForm({ filter }: { filter: RefusedFilter }) {
  return (
    <form method="get" action="/refused" class="filters">
      <label>
        Client <input name="client" value={filter.client} placeholder="starts with…" />
      </label>
      <label>
        Reason{' '}
        <select name="reason">
          <option value="">all</option>
          {REFUSAL_REASON_KEYS.map((r) => (
            <option value={r} selected={filter.reason === r}>
              {REFUSAL_REASONS[r]}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}

/** On a phone each refusal becomes a block of labelled cells; the classes let long details and fixes wrap. */
const COLUMNS: readonly Column<StoredRefusal>[] = [
  {
    header: 'Time',
    class: 'when',
    cell: (r) => (
      <>
        <Time at={r.lastAt} />
        {r.count > 1 ? (
          <span class="below">
            since <Time at={r.firstAt} />
          </span>
        ) : null}
      </>
    ),
  },
  { header: 'Client', class: 'client', cell: (r) => <a href={`/refused?client=${encodeURIComponent(r.client)}`}>{r.client}</a> },
  { header: 'Reason', cell: (r) => refusalLabel(r.reason) },
  {
    header: 'Detail',
    class: 'reply',
    cell: (r) => (
      <>
        {r.detail}
        {r.username ? <span class="below">username {r.username}</span> : null}
      </>
    ),
  },
  { header: 'Count', cell: (r) => r.count.toLocaleString('en-US') },
  { header: 'What to do', class: 'fix', cell: (r) => r.hint ?? '' },
];

/** The page: what is recorded, the filter, one page of rows with Newest/Older links, and how long rows are kept. */
export function RefusedPage({ rows, filter, olderHref, paged, badCursor, retentionDays }: RefusedPageProps) {
  const filtered = filter.client !== '' || filter.reason !== '';
  return (
    <>
      <p class="muted">
        Clients relay365 refused: relaying denied, failed logins and lockouts, refused senders, messages too big, failed TLS handshakes, too
        many connections, low disk space. A client refused again for the same reason within a minute is counted on the same row.
      </p>
      <FilterForm filter={filter} />
      {badCursor ? <p class="form-error">This page link is not valid any more; the newest refusals are shown.</p> : null}
      <ListTable
        class="refused"
        columns={COLUMNS}
        rows={rows}
        empty={<p>{filtered || paged ? 'No refusals match.' : 'Nothing has been refused.'}</p>}
        scroll
        stacked
      />
      {olderHref || paged ? (
        <p class="buttons">
          {paged ? <a href={refusedHref(filter)}>Newest</a> : null}
          {olderHref ? <a href={olderHref}>Older</a> : null}
        </p>
      ) : null}
      <p class="muted">
        Refusals are kept {retentionDays} day{retentionDays === 1 ? '' : 's'} after they were last seen (RELAY365_RETENTION_DAYS), and at
        most the {REFUSAL_ROW_CAP.toLocaleString('en-US')} most recent rows.
      </p>
    </>
  );
}

/** `/refused` with the filter (and, for an older page, its cursor) as the query. */
export function refusedHref(filter: RefusedFilter, cursor?: string): string {
  const query = new URLSearchParams();
  if (filter.client) query.set('client', filter.client);
  if (filter.reason) query.set('reason', filter.reason);
  if (cursor) query.set('cursor', cursor);
  const text = query.toString();
  return text ? `/refused?${text}` : '/refused';
}
