/**
 * What each instance of a cluster holds, from the store's leases: the
 * mailboxes it delivers for (their lanes) and the jobs it runs once for the
 * cluster (the alerts). A lease counts while its time has not run out.
 */
import type { Lease } from '../store/leases.js';

export interface Holdings {
  /** The lanes it delivers for: mailboxes (or upstream accounts, or a server's own lane). */
  mailboxes: string[];
  /** The jobs it runs for the cluster. */
  jobs: string[];
}

const NONE: Holdings = { mailboxes: [], jobs: [] };

/**
 * A lane's name as a person reads it: `mailbox:ap@contoso.com` is `ap@contoso.com`, and the lane of a
 * server with no mailbox or account of its own (`server:3`) is `email server 3`.
 */
const laneName = (key: string): string => key.replace(/^(mailbox|account):/, '').replace(/^server:/, 'email server ');

/** The holdings of each instance at `now`, by instance id. */
export function holdingsOf(leases: readonly Lease[], now: number): (instanceId: string) => Holdings {
  const byHolder = new Map<string, Holdings>();
  for (const lease of leases) {
    if (lease.heldUntil <= now) continue;
    const held = byHolder.get(lease.holder) ?? { mailboxes: [], jobs: [] };
    byHolder.set(lease.holder, held);
    const [kind, ...rest] = lease.name.split(':');
    if (kind === 'lane') held.mailboxes.push(laneName(rest.join(':')));
    else held.jobs.push(rest.join(':'));
  }
  return (instanceId) => byHolder.get(instanceId) ?? NONE;
}
