/**
 * The relay log: messages newest first with a filter form (each with the
 * client that handed it in and how it was let in), the live tail of queue
 * events (filled by server-sent events when JavaScript runs), and the
 * database's size with how long finished mail is kept.
 */
import type { MessageStatus, QueuedMessage } from '../../store/queue.js';
import type { EmailServer } from '../../store/servers.js';
import { Time } from './components.js';

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

export function LogPage({ rows, servers, filter, latestEventId, database }: LogPageProps) {
  return (
    <>
      <FilterForm servers={servers} filter={filter} />
      <p class="muted">Sender and recipient match addresses that start with the text given, in any case.</p>
      {rows.length === 0 ? (
        <p>No messages match.</p>
      ) : (
        <div class="table-scroll">
          <table class="list log">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Server</th>
                <th scope="col">Sender</th>
                <th scope="col">Recipients</th>
                <th scope="col">Subject</th>
                <th scope="col">Size</th>
                <th scope="col">Status</th>
                <th scope="col">Last upstream reply</th>
                <th scope="col">Client and route</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ message, serverName, recipients }) => (
                <tr>
                  <td>
                    <a href={`/log/${message.id}`}>
                      <Time at={message.receivedAt} />
                    </a>
                  </td>
                  <td>{serverName}</td>
                  <td>{message.mailFrom || '<>'}</td>
                  <td>{recipients.join(', ')}</td>
                  <td>
                    <a href={`/log/${message.id}`}>{message.subject ?? '(no subject)'}</a>
                  </td>
                  <td>{size(message.size)}</td>
                  <td>
                    <span class={`badge badge-${message.status}`}>{message.status}</span>
                  </td>
                  <td class="reply">{message.lastReply ?? ''}</td>
                  <td class="client">
                    {message.clientAddress ?? 'unknown'}
                    {message.route && message.route !== message.clientAddress ? <span class="route">{message.route}</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
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
