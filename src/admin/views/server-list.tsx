/**
 * The email servers: name, host, method, status label and queue counts, with
 * a mark on servers whose client secret expires soon.
 */
import type { MessageStatus } from '../../store/queue.js';
import type { EmailServer } from '../../store/servers.js';
import { describeExpiry, type SecretWarning } from '../secret-expiry.js';
import { StatusLabel } from './components.js';

export interface ServerListRow {
  server: EmailServer;
  counts: Record<MessageStatus, number>;
  warning: SecretWarning | null;
}

export function ServerList({ rows, canEdit }: { rows: ServerListRow[]; canEdit: boolean }) {
  return (
    <>
      {canEdit ? (
        <p>
          <a class="button" href="/servers/new">
            New email server
          </a>
        </p>
      ) : null}
      {rows.length === 0 ? (
        <p>No email server yet.{canEdit ? ' Create one to start relaying mail.' : ''}</p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Host</th>
              <th scope="col">Method</th>
              <th scope="col">Status</th>
              <th scope="col">Queued</th>
              <th scope="col">Held</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ server, counts, warning }) => (
              <tr>
                <td>
                  <a href={`/servers/${server.id}`}>{server.name}</a>
                  {server.isDefault ? <span class="muted"> (default)</span> : null}
                  {warning ? (
                    <span class="mark-warn" title={`Client secret ${describeExpiry(warning)}`}>
                      {' '}
                      ⚠ secret {describeExpiry(warning)}
                    </span>
                  ) : null}
                </td>
                <td>{`${server.host}:${server.port}`}</td>
                <td>{server.method}</td>
                <td>
                  <StatusLabel server={server} />
                </td>
                <td>{counts.queued + counts.deferred + counts.sending}</td>
                <td>{counts.held}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
