/**
 * Confirmation before an email server is deleted. While mail waits for it, it
 * is kept unless the admin explicitly chooses to fail that mail; while relay users or
 * allowed networks route to it, it cannot be deleted and the page names them.
 */
import type { EmailServer } from '../../store/servers.js';
import { CsrfField } from './components.js';

export interface DeleteServerProps {
  server: EmailServer;
  csrf: string;
  waiting: number;
  inFlight: number;
  /** Relay user names and network CIDRs that route to this server. */
  usedBy: { relayUsers: string[]; networks: string[] };
  error: string | null;
}

function UsedBy({ relayUsers, networks }: DeleteServerProps['usedBy']) {
  return (
    <div class="warning" id="server-in-use">
      <p>
        <strong>This server cannot be deleted yet:</strong> relay access leads to it. Give these another email server or remove them first.
      </p>
      <ul>
        {relayUsers.map((name) => (
          <li>
            relay user <a href="/relay-users">{name}</a>
          </li>
        ))}
        {networks.map((cidr) => (
          <li>
            network <a href="/networks">{cidr}</a>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function DeleteServerPage({ server, csrf, waiting, inFlight, usedBy, error }: DeleteServerProps) {
  const inUse = usedBy.relayUsers.length > 0 || usedBy.networks.length > 0;
  return (
    <form method="post" action={`/servers/${server.id}/delete`} class="narrow">
      <CsrfField token={csrf} />
      {error ? (
        <p class="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <p>
        Delete the email server <strong>{server.name}</strong>? Its settings and its authorized account are removed; the relay log keeps the
        history of delivered mail.
      </p>
      {waiting > 0 ? (
        <label class="choice">
          <input type="checkbox" name="drop" value="1" /> Give up on the {waiting} message{waiting === 1 ? '' : 's'} still waiting for this
          server: they are never sent, and show as failed in the relay log
        </label>
      ) : null}
      {inFlight > 0 ? <p class="muted">{inFlight} message(s) are being delivered right now; wait a moment before deleting.</p> : null}
      {inUse ? <UsedBy {...usedBy} /> : null}
      <div class="buttons">
        {inUse ? null : (
          <button type="submit" class="danger">
            Delete server
          </button>
        )}{' '}
        <a href={`/servers/${server.id}`}>Cancel</a>
      </div>
    </form>
  );
}
