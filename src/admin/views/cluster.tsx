/**
 * The Cluster page: the relay365 instances that run on this store, as
 * `relay365 cluster status` lists them, with the one serving this page marked.
 */
import type { Holdings } from '../../cluster/holdings.js';
import { memberState, MEMBER_STALE_MS } from '../../cluster/membership.js';
import type { Member } from '../../store/instances.js';
import { Time } from './components.js';
import { ListTable, type Column } from './list-table.js';

export interface ClusterPageProps {
  members: readonly Member[];
  /** The mailboxes each instance delivers for and the jobs it runs. */
  holdings: (instanceId: string) => Holdings;
  /** The instance serving the page. */
  self: string;
  /** PostgreSQL (shared by instances) or SQLite (this data folder only). */
  engine: 'SQLite' | 'PostgreSQL';
  now: number;
}

const STATE_TEXT = { running: 'Running', stopped: 'Stopped', gone: 'Gone (no heartbeat)' } as const;

const list = (items: readonly string[]): string => (items.length > 0 ? items.join(', ') : '—');

const columns = (self: string, holdings: ClusterPageProps['holdings'], now: number): Column<Member>[] => [
  { header: 'Instance', class: 'instance', cell: (m) => (m.id === self ? <strong>{m.id} (this one)</strong> : m.id) },
  { header: 'State', class: 'state', cell: (m) => STATE_TEXT[memberState(m, now)] },
  { header: 'Delivering', cell: (m) => m.delivering.toLocaleString('en-US') },
  { header: 'Delivers for', class: 'mailboxes', cell: (m) => list(holdings(m.id).mailboxes) },
  { header: 'Runs', class: 'jobs', cell: (m) => list(holdings(m.id).jobs) },
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

export function ClusterPage({ members, holdings, self, engine, now }: ClusterPageProps) {
  return (
    <>
      <p class="muted">
        {engine === 'PostgreSQL'
          ? 'The relay365 instances that run on this PostgreSQL database. Each records a heartbeat every few seconds; one without a heartbeat for '
          : 'This relay keeps its store in SQLite in its data folder: it is the only instance. An instance without a heartbeat for '}
        {MEMBER_STALE_MS / 1000} seconds is shown as gone.
        {engine === 'PostgreSQL'
          ? " Each mailbox's mail is delivered by one instance at a time, whichever instance accepted it, so Microsoft's limits hold for the whole cluster; the alerts run on one instance too."
          : ''}
      </p>
      <ListTable
        class="cluster"
        columns={columns(self, holdings, now)}
        rows={members}
        empty={<p>No instance has recorded itself yet.</p>}
        stacked
      />
    </>
  );
}
