/**
 * One notice about an alert, said the same way on every channel: it fires
 * (or still fires, repeated), it resolved, or it is the panel's test. The
 * words name the email server, Microsoft's code and the fix.
 */
import type { AlertContent } from '../store/alerts.js';

export type NoticeKind = 'firing' | 'repeat' | 'resolved' | 'test';

export interface Notice {
  kind: NoticeKind;
  alert: AlertContent;
  /** When the alert first fired. */
  since: number;
  /** When it ended (resolved notices). */
  resolvedAt: number | null;
}

const LABEL: Record<NoticeKind, string> = {
  firing: 'ALERT',
  repeat: 'STILL FIRING',
  resolved: 'RESOLVED',
  test: 'TEST',
};

const iso = (at: number): string => new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The one-line subject: `[relay365] ALERT: Email server o365 lost its authorization`. */
export function noticeSubject(notice: Notice): string {
  return `[relay365] ${LABEL[notice.kind]}: ${notice.alert.title}`;
}

/** The plain-text body: what, where, Microsoft's code, the fix, since when, and where to look. */
export function noticeText(notice: Notice, panelUrl: string): string {
  const { alert } = notice;
  const lines = [
    notice.kind === 'resolved' ? `Resolved: ${alert.title}` : alert.title,
    '',
    ...(alert.server ? [`Email server: ${alert.server}`] : []),
    ...(alert.code ? [`Microsoft code: ${alert.code}`] : []),
    ...(alert.detail ? [`What happened: ${alert.detail}`] : []),
    ...(alert.fix && notice.kind !== 'resolved' ? [`How to fix it: ${alert.fix}`] : []),
    `Since: ${iso(notice.since)}`,
    ...(notice.resolvedAt !== null ? [`Resolved at: ${iso(notice.resolvedAt)}`] : []),
    '',
    notice.kind === 'test'
      ? 'This is a test notice from relay365: this channel works.'
      : `Alerts and their settings: ${panelUrl.replace(/\/$/, '')}/alerts`,
  ];
  return lines.join('\n');
}
