/**
 * The relay log: messages newest first with a filter form (each with the
 * client that handed it in and how it was let in), the live tail of queue
 * events (filled by server-sent events when JavaScript runs), and the
 * database's size with how long finished mail is kept. The table fits its
 * box: long replies are cut short with the whole text one click away, and on
 * a phone each message becomes a labelled block.
 */
import type { MessageStatus, QueuedMessage } from '../../store/queue.js';
import type { EmailServer } from '../../store/servers.js';
import { Time } from './components.js';
import { ListTable, type Column } from './list-table.js';

export const MESSAGE_STATUSES: readonly MessageStatus[] = ['queued', 'deferred', 'sending', 'held', 'delivered', 'failed'];

export interface LogFilter {
  server: string;
  status: string;
  sender: string;
  recipient: string;
}

export interface LogRow {
  message: QueuedMessage;
  serverName: string;
  recipients: string[];
}

/** How big the database is and how long finished mail stays in it. */
export interface DatabaseInfo {
  bytes: number;
  messages: number;
  retentionDays: number;
}

export interface LogPageProps {
  rows: LogRow[];
  servers: EmailServer[];
  filter: LogFilter;
  latestEventId: number;
  database: DatabaseInfo;
}

/** Characters of a long upstream reply shown before "…": enough for its codes and first words. */
const REPLY_PREVIEW = 90;
/** Recipients named in a row; the message's page lists them all. */
const RECIPIENTS_SHOWN = 3;

/** `text` cut at a word boundary before `max` characters, with "…"; the text itself when short enough. */
function preview(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function FilterForm({ servers, filter }: { servers: EmailServer[]; filter: LogFilter }) {
  return (
    <form method="get" action="/log" class="filters">
      <label>
        Server{' '}
        <select name="server">
          <option value="">all</option>
          {servers.map((s) => (
            <option value={String(s.id)} selected={filter.server === String(s.id)}>
              {s.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status{' '}
        <select name="status">
          <option value="">all</option>
          {MESSAGE_STATUSES.map((s) => (
            <option value={s} selected={filter.status === s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Sender <input name="sender" value={filter.sender} placeholder="starts with…" />
      </label>
      <label>
        Recipient <input name="recipient" value={filter.recipient} placeholder="starts with…" />
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}

function DatabaseLine({ bytes, messages, retentionDays }: DatabaseInfo) {
  return (
    <p class="muted" id="database-size">
      Database {(bytes / 1024 / 1024).toFixed(1)} MB, {messages.toLocaleString('en-US')} message{messages === 1 ? '' : 's'} kept; delivered
      and failed mail is deleted after {retentionDays} day{retentionDays === 1 ? '' : 's'} (RELAY365_RETENTION_DAYS).
    </p>
  );
}

/** The last upstream reply: whole when short, else its start with the whole text behind a click. */
function Reply({ text }: { text: string | null }) {
  if (text === null) return null;
  const short = preview(text, REPLY_PREVIEW);
  if (short === text) return <>{text}</>;
  return (
    <details class="whole-reply">
      <summary>
        <span class="preview">{short}</span>
        <span class="opened">the whole reply</span>
      </summary>
      {text}
    </details>
  );
}

function Recipients({ addresses }: { addresses: string[] }) {
  const more = addresses.length - RECIPIENTS_SHOWN;
  return (
    <span class="below">
      to {addresses.slice(0, RECIPIENTS_SHOWN).join(', ')}
      {more > 0 ? ` and ${more} more` : ''}
    </span>
  );
}

/** The relay log's six columns; the classes give the fixed layout its widths. */
const COLUMNS: readonly Column<LogRow>[] = [
  {
    header: 'Time',
    class: 'when',
    cell: ({ message }) => (
      <a href={`/log/${message.id}`}>
        <Time at={message.receivedAt} />
      </a>
    ),
  },
  { header: 'Status', class: 'status', cell: ({ message }) => <span class={`badge badge-${message.status}`}>{message.status}</span> },
  {
    header: 'Sender and recipients',
    cell: ({ message, recipients }) => (
      <>
        {message.mailFrom || '<>'}
        <Recipients addresses={recipients} />
      </>
    ),
  },
  {
    header: 'Subject',
    cell: ({ message }) => (
      <>
        <a href={`/log/${message.id}`}>{message.subject ?? '(no subject)'}</a>
        <span class="below">{size(message.size)}</span>
      </>
    ),
  },
  { header: 'Last upstream reply', class: 'reply', cell: ({ message }) => <Reply text={message.lastReply} /> },
  {
    header: 'Server and client',
    class: 'server',
    cell: ({ message, serverName }) => (
      <>
        {serverName}
        <span class="below">from {message.clientAddress ?? 'unknown'}</span>
        {message.route && message.route !== message.clientAddress ? <span class="below">{message.route}</span> : null}
      </>
    ),
  },
];

export function LogPage({ rows, servers, filter, latestEventId, database }: LogPageProps) {
  return (
    <>
      <FilterForm servers={servers} filter={filter} />
      <p class="muted">Sender and recipient match addresses that start with the text given, in any case.</p>
      <ListTable class="log" columns={COLUMNS} rows={rows} empty={<p>No messages match.</p>} scroll stacked />
      <section aria-labelledby="tail-heading">
        <h2 id="tail-heading">Live events</h2>
        <p class="muted" id="live-tail-state">
          New queue events appear here as they happen. <a href="/log">Reload</a> to refresh the table.
        </p>
        <ol id="live-tail" class="tail" data-after={String(latestEventId)} aria-live="polite"></ol>
      </section>
      <DatabaseLine {...database} />
    </>
  );
}
