/**
 * The email channel: a plain-text notice to the admin addresses, queued
 * through the relay like any mail, so it is durable, retried and visible in
 * the relay log. It goes through the chosen email server (or the default),
 * unless that server is the broken one and another works.
 */
import type { AlertMail } from '../relay/index.js';
import type { EmailServer } from '../store/servers.js';
import { statusBroken } from './conditions.js';
import { noticeSubject, noticeText, type Notice } from './notice.js';

/** The relay operation the email channel uses. */
export interface AlertMailer {
  enqueueAlert(serverId: number, mail: AlertMail): Promise<string>;
}

/**
 * The server alert mail goes through: the chosen one (or the default) when it works; otherwise
 * an authorized server that holds no mail; otherwise the chosen one anyway (the mail waits there
 * and goes out once it is fixed). Null when there is no server at all.
 */
export function chooseAlertServer(servers: readonly EmailServer[], chosenId: number | null, held: Map<number, number>): EmailServer | null {
  const chosen = servers.find((s) => s.id === chosenId) ?? servers.find((s) => s.isDefault) ?? servers[0];
  if (!chosen) return null;
  const broken = (s: EmailServer): boolean => statusBroken(s) || (held.get(s.id) ?? 0) > 0;
  if (!broken(chosen)) return chosen;
  return servers.find((s) => s.status === 'authorized' && !broken(s)) ?? chosen;
}

/** Queues `notice` to `to` through `server`; resolves with the queue ID. */
export function sendAlertEmail(
  mailer: AlertMailer,
  server: EmailServer,
  to: readonly string[],
  notice: Notice,
  panelUrl: string,
): Promise<string> {
  return mailer.enqueueAlert(server.id, { to: [...to], subject: noticeSubject(notice), text: noticeText(notice, panelUrl) });
}
