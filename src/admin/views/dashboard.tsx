/**
 * The panel's home page: active alerts, each email server's status, the
 * queue by status, the oldest waiting message, the next client secret or certificate expiry
 * and messages per hour over the last 24 hours.
 */
import { CREDENTIAL_NAMES, type Credential } from '../../auth/secret-expiry.js';
import type { HourlyBucket, OldestWaiting, QueueCounts, WaitingStatus } from '../../store/dashboard.js';
import type { EmailServer } from '../../store/servers.js';
import { describeExpiry } from '../secret-expiry.js';
import { StatusLabel, Time } from './components.js';
import { HourlyChart, outcomeTotals } from './hourly-chart.js';

/** An alert that is firing now, as the alerts engine reports it. */
export interface DashboardAlert {
  title: string;
  /** The email server it concerns, if any. */
  server: string | null;
  since: number;
  /** What to do about it, when the alert knows. */
  fix: string | null;
}

export interface DashboardServer {
  server: EmailServer;
  /** Its messages not delivered or failed yet. */
  waiting: number;
}

/** The client secret or certificate that expires first. */
export interface SecretExpiry {
  serverId: number;
  serverName: string;
  credential: Credential;
  /** YYYY-MM-DD (UTC): as entered for a secret, the certificate's last day for a certificate. */
  expires: string;
  /** Whole days left; 0 on the day itself, negative once expired. */
  daysLeft: number;
}

export interface DashboardProps {
  servers: DashboardServer[];
  counts: QueueCounts;
  hours: HourlyBucket[];
  oldest: (OldestWaiting & { serverName: string }) | null;
  nextExpiry: SecretExpiry | null;
  now: number;
  /** Alerts firing now; without it (no alerts engine) the section is left out. */
  alerts?: DashboardAlert[];
}

/** From this many days left, the expiry is shown in red. */
const EXPIRY_URGENT_DAYS = 7;

const WAITING: { status: WaitingStatus; label: string }[] = [
  { status: 'queued', label: 'queued' },
  { status: 'deferred', label: 'deferred' },
  { status: 'sending', label: 'sending' },
  { status: 'held', label: 'held' },
];

/** `45 s`, `12 min`, `3 h 5 min`, `2 days 4 h`. */
export function describeAge(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return `${Math.floor(Math.max(0, ms) / 1000)} s`;
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return `${days} day${days === 1 ? '' : 's'} ${hours % 24} h`;
}

function Alerts({ alerts }: { alerts: DashboardAlert[] }) {
  return (
    <section aria-labelledby="alerts-heading">
      <h2 id="alerts-heading">Active alerts</h2>
      {alerts.length === 0 ? (
        <p class="muted">No alert is firing.</p>
      ) : (
        <ul class="alerts">
          {alerts.map((a) => (
            <li class="alert">
              {/* Alert titles name their server already. */}
              <strong>{a.title}</strong>, since <Time at={a.since} />
              {a.fix ? <span class="status-fix">Fix: {a.fix}</span> : null}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Servers({ servers }: { servers: DashboardServer[] }) {
  return (
    <section aria-labelledby="servers-heading">
      <h2 id="servers-heading">Email servers</h2>
      {servers.length === 0 ? (
        <p>
          No email server yet. <a href="/servers">Email servers</a>
        </p>
      ) : (
        <ul class="server-states">
          {servers.map(({ server, waiting }) => (
            <li>
              <a class="server-name" href={`/servers/${server.id}`}>
                {server.name}
              </a>
              {server.isDefault ? <span class="muted"> (default)</span> : null}
              <StatusLabel server={server} detailed />
              <a class="muted" href={`/log?server=${server.id}`}>
                {waiting} waiting
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Queue({ counts, delivered, failed }: { counts: QueueCounts; delivered: number; failed: number }) {
  const tile = (href: string, n: number, label: string, tone: string) => (
    <li class={n > 0 && tone ? `count ${tone}` : 'count'}>
      <a href={href}>
        <strong>{n}</strong> {label}
      </a>
    </li>
  );
  return (
    <section class="tile" aria-labelledby="queue-heading">
      <h2 id="queue-heading">Queue</h2>
      <ul class="counts">
        {WAITING.map(({ status, label }) => tile(`/log?status=${status}`, counts[status], label, status === 'held' ? 'count-warn' : ''))}
        {tile('/log?status=delivered', delivered, 'delivered', '')}
        {tile('/log?status=failed', failed, 'failed', 'count-error')}
      </ul>
      <p class="help">Delivered and failed: the last 24 hours.</p>
    </section>
  );
}

function Oldest({ oldest, now }: { oldest: DashboardProps['oldest']; now: number }) {
  return (
    <section class="tile" aria-labelledby="oldest-heading">
      <h2 id="oldest-heading">Oldest waiting message</h2>
      {oldest ? (
        <p id="oldest-waiting">
          <strong class="big">{describeAge(now - oldest.receivedAt)}</strong> old, {oldest.status}
          <br />
          <a href={`/log/${oldest.id}`}>{oldest.subject ?? '(no subject)'}</a>
          <br />
          <span class="muted">
            {oldest.serverName}, received <Time at={oldest.receivedAt} />
          </span>
        </p>
      ) : (
        <p id="oldest-waiting">Nothing is waiting.</p>
      )}
    </section>
  );
}

function Expiry({ expiry }: { expiry: SecretExpiry | null }) {
  return (
    <section class="tile" aria-labelledby="expiry-heading">
      <h2 id="expiry-heading">Next {CREDENTIAL_NAMES[expiry?.credential ?? 'secret']} expiry</h2>
      {expiry ? (
        <p id="next-expiry" class={expiry.daysLeft <= EXPIRY_URGENT_DAYS ? 'expiry-urgent' : undefined}>
          <strong class="big">{expiry.daysLeft < 0 ? 'expired' : `${expiry.daysLeft} day${expiry.daysLeft === 1 ? '' : 's'} left`}</strong>
          <br />
          <a href={`/servers/${expiry.serverId}`}>{expiry.serverName}</a> {describeExpiry(expiry)} ({expiry.expires})
        </p>
      ) : (
        <p id="next-expiry">No Office 365 Client Secret Expires date is set.</p>
      )}
    </section>
  );
}

export function DashboardPage({ servers, counts, hours, oldest, nextExpiry, now, alerts }: DashboardProps) {
  const { delivered, failed } = outcomeTotals(hours);
  return (
    <>
      {alerts ? <Alerts alerts={alerts} /> : null}
      <Servers servers={servers} />
      <div class="tiles">
        <Queue counts={counts} delivered={delivered} failed={failed} />
        <Oldest oldest={oldest} now={now} />
        <Expiry expiry={nextExpiry} />
      </div>
      <section aria-labelledby="chart-heading">
        <h2 id="chart-heading">Messages per hour, last 24 hours</h2>
        <HourlyChart hours={hours} />
      </section>
    </>
  );
}
