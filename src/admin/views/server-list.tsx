/**
 * The email servers: name, host, method, status label and queue counts, with
 * a mark on servers whose client secret or certificate expires soon.
 */
import { CREDENTIAL_NAMES } from '../../auth/secret-expiry.js';
import type { MessageStatus } from '../../store/queue.js';
import type { EmailServer } from '../../store/servers.js';
import { describeExpiry, type SecretWarning } from '../secret-expiry.js';
import { StatusLabel } from './components.js';
import { ListTable, type Column } from './list-table.js';

export interface ServerListRow {
  server: EmailServer;
  counts: Record<MessageStatus, number>;
  warning: SecretWarning | null;
}

const COLUMNS: readonly Column<ServerListRow>[] = [
  {
    header: 'Name',
    cell: ({ server, warning }) => (
      <>
        <a href={`/servers/${server.id}`}>{server.name}</a>
        {server.isDefault ? <span class="muted"> (default)</span> : null}
        {warning ? (
          <span class="mark-warn" title={`The ${CREDENTIAL_NAMES[warning.credential]} ${describeExpiry(warning)}`}>
            {' '}
            ⚠ {warning.credential} {describeExpiry(warning)}
          </span>
        ) : null}
      </>
    ),
  },
  { header: 'Host', cell: ({ server }) => `${server.host}:${server.port}` },
  { header: 'Method', cell: ({ server }) => server.method },
  { header: 'Status', cell: ({ server }) => <StatusLabel server={server} /> },
  { header: 'Queued', cell: ({ counts }) => counts.queued + counts.deferred + counts.sending },
  { header: 'Held', cell: ({ counts }) => counts.held },
];

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
      <ListTable columns={COLUMNS} rows={rows} empty={<p>No email server yet.{canEdit ? ' Create one to start relaying mail.' : ''}</p>} />
    </>
  );
}
