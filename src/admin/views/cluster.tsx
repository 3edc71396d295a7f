/**
 * The Cluster page: the relay365 instances that run on this store, as
 * `relay365 cluster status` lists them, with the one serving this page marked.
 */
import { memberState, MEMBER_STALE_MS } from '../../cluster/membership.js';
import type { Member } from '../../store/instances.js';
import { Time } from './components.js';
import { ListTable, type Column } from './list-table.js';

export interface ClusterPageProps {
  members: readonly Member[];
  /** The instance serving the page. */
  self: string;
  /** PostgreSQL (shared by instances) or SQLite (this data folder only). */
  engine: 'SQLite' | 'PostgreSQL';
  now: number;
}

const STATE_TEXT = { running: 'Running', stopped: 'Stopped', gone: 'Gone (no heartbeat)' } as const;

const columns = (self: string, now: number): Column<Member>[] => [
  { header: 'Instance', class: 'instance', cell: (m) => (m.id === self ? <strong>{m.id} (this one)</strong> : m.id) },
  { header: 'State', class: 'state', cell: (m) => STATE_TEXT[memberState(m, now)] },
  { header: 'Delivering', cell: (m) => m.delivering.toLocaleString('en-US') },
  { header: 'Version', cell: (m) => m.version },
  { header: 'Started', cell: (m) => <Time at={m.startedAt} /> },
  {
    header: 'Last heartbeat',
    cell: (m) =>
      m.stoppedAt === null ? (
        <Time at={m.heartbeatAt} />
      ) : (
        <>
          stopped <Time at={m.stoppedAt} />
        </>
      ),
  },
];

export function ClusterPage({ members, self, engine, now }: ClusterPageProps) {
  return (
    <>
      <p class="muted">
        {engine === 'PostgreSQL'
          ? 'The relay365 instances that run on this PostgreSQL database. Each records a heartbeat every few seconds; one without a heartbeat for '
          : 'This relay keeps its store in SQLite in its data folder: it is the only instance. An instance without a heartbeat for '}
        {MEMBER_STALE_MS / 1000} seconds is shown as gone. For now one instance runs on a database at a time.
      </p>
      <ListTable class="cluster" columns={columns(self, now)} rows={members} empty={<p>No instance has recorded itself yet.</p>} stacked />
    </>
  );
}
