/**
 * Confirmation before an email server is deleted. Mail still waiting for it is
 * kept unless the admin explicitly chooses to drop it.
 */
import type { EmailServer } from '../../store/servers.js';
import { CsrfField } from './components.js';

export interface DeleteServerProps {
  server: EmailServer;
  csrf: string;
  waiting: number;
  inFlight: number;
  error: string | null;
}

export function DeleteServerPage({ server, csrf, waiting, inFlight, error }: DeleteServerProps) {
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
          <input type="checkbox" name="drop" value="1" /> Also delete the {waiting} message{waiting === 1 ? '' : 's'} still waiting for this
          server (they will never be sent)
        </label>
      ) : null}
      {inFlight > 0 ? <p class="muted">{inFlight} message(s) are being delivered right now; wait a moment before deleting.</p> : null}
      <div class="buttons">
        <button type="submit" class="danger">
          Delete server
        </button>{' '}
        <a href={`/servers/${server.id}`}>Cancel</a>
      </div>
    </form>
  );
}
