/**
 * One message of the relay log: envelope, the client and the route it came in
 * by (relay user, network, admin panel), recipients with their replies, the
 * event history with hints for Microsoft's replies, and Retry now / Delete
 * while it waits.
 */
import { hintForSmtpReply } from '../../auth/hints.js';
import type { MessageEvent, QueuedMessage, Recipient } from '../../store/queue.js';
import { CsrfField, Time } from './components.js';

export interface MessagePageProps {
  message: QueuedMessage;
  serverName: string;
  serverId: number | null;
  recipients: Recipient[];
  events: MessageEvent[];
  canEdit: boolean;
  csrf: string;
}

function Hint({ text }: { text: string | null }) {
  const hint = text ? hintForSmtpReply(text) : null;
  if (!hint) return null;
  return (
    <p class="hint">
      {hint.meaning}. Fix: {hint.fix}
    </p>
  );
}

export function MessagePage({ message, serverName, serverId, recipients, events, canEdit, csrf }: MessagePageProps) {
  const waiting = message.status === 'held' || message.status === 'deferred';
  return (
    <>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <span class={`badge badge-${message.status}`}>{message.status}</span>
          {waiting ? (
            <>
              {' '}
              next attempt <Time at={message.nextAttemptAt} />
            </>
          ) : null}
        </dd>
        <dt>Server</dt>
        <dd>{serverId !== null ? <a href={`/servers/${serverId}`}>{serverName}</a> : serverName}</dd>
        <dt>Received</dt>
        <dd>
          <Time at={message.receivedAt} /> from {message.clientAddress ?? 'unknown'}
        </dd>
        <dt>Route</dt>
        <dd>{message.route ?? 'unknown'}</dd>
        <dt>Sender</dt>
        <dd>{message.mailFrom || '<>'}</dd>
        <dt>Subject</dt>
        <dd>{message.subject ?? '(no subject)'}</dd>
        <dt>Size</dt>
        <dd>{message.size} bytes</dd>
        <dt>Attempts</dt>
        <dd>{message.attempts}</dd>
        <dt>Last upstream reply</dt>
        <dd>
          {message.lastReply ?? 'none yet'}
          <Hint text={message.lastReply} />
        </dd>
      </dl>
      {waiting && canEdit ? (
        <div class="buttons">
          <form method="post" action={`/log/${message.id}/retry`} class="inline">
            <CsrfField token={csrf} />
            <button type="submit">Retry now</button>
          </form>{' '}
          <form
            method="post"
            action={`/log/${message.id}/delete`}
            class="inline"
            data-confirm="Delete this message? It will never be sent."
          >
            <CsrfField token={csrf} />
            <button type="submit" class="danger">
              Delete
            </button>
          </form>
        </div>
      ) : null}
      <h2>Recipients</h2>
      <table class="list">
        <thead>
          <tr>
            <th scope="col">Address</th>
            <th scope="col">Status</th>
            <th scope="col">Reply</th>
          </tr>
        </thead>
        <tbody>
          {recipients.map((r) => (
            <tr>
              <td>{r.address}</td>
              <td>{r.status}</td>
              <td>
                {r.reply ?? ''}
                <Hint text={r.reply} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Events</h2>
      <ol class="events">
        {events.map((e) => (
          <li>
            <Time at={e.at} /> <strong>{e.kind}</strong> {e.detail ?? ''}
            <Hint text={e.detail} />
          </li>
        ))}
      </ol>
    </>
  );
}
