/**
 * One message of the relay log: envelope, the client and the route it came in
 * by (relay user, network, admin panel), Microsoft's last reply with what it
 * means and the fix (each fix once, however many recipients got that reply),
 * recipients with their replies, the event history, and Retry now / Delete
 * while it waits.
 */
import { hintForSmtpReply, type Hint } from '../../auth/hints.js';
import type { MessageEvent, QueuedMessage, Recipient } from '../../store/queue.js';
import { CsrfField, Time } from './components.js';
import { ListTable, type Column } from './list-table.js';

export interface MessagePageProps {
  message: QueuedMessage;
  serverName: string;
  serverId: number | null;
  recipients: Recipient[];
  events: MessageEvent[];
  canEdit: boolean;
  csrf: string;
}

/** What the message's current replies (its last one, its recipients') mean and how to fix them, each fix once. */
function hintsFor(replies: (string | null)[]): Hint[] {
  const byFix = new Map<string, Hint>();
  for (const reply of replies) {
    const hint = reply ? hintForSmtpReply(reply) : null;
    if (hint && !byFix.has(hint.fix)) byFix.set(hint.fix, hint);
  }
  return [...byFix.values()];
}

/** A recipient's reply is shown in its row unless it is the last upstream reply, which the facts above show already. */
function recipientColumns(lastReply: string | null): Column<Recipient>[] {
  return [
    { header: 'Address', cell: (r) => r.address },
    { header: 'Status', cell: (r) => r.status },
    {
      header: 'Reply',
      cell: (r) =>
        r.reply !== null && r.reply === lastReply ? <span class="muted">the last upstream reply, above</span> : (r.reply ?? ''),
    },
  ];
}

export function MessagePage({ message, serverName, serverId, recipients, events, canEdit, csrf }: MessagePageProps) {
  const waiting = message.status === 'held' || message.status === 'deferred';
  const hints = hintsFor([message.lastReply, ...recipients.map((r) => r.reply)]);
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
        <dd>{message.lastReply ?? 'none yet'}</dd>
        {hints.length > 0 ? (
          <>
            <dt>What to do</dt>
            <dd>
              {hints.map((hint) => (
                <p class="hint">
                  {hint.meaning}. Fix: {hint.fix}
                </p>
              ))}
            </dd>
          </>
        ) : null}
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
      <ListTable class="recipients" columns={recipientColumns(message.lastReply)} rows={recipients} stacked />
      <h2>Events</h2>
      <ol class="events">
        {events.map((e) => (
          <li>
            <Time at={e.at} /> <strong>{e.kind}</strong> {e.detail ?? ''}
          </li>
        ))}
      </ol>
    </>
  );
}
