/**
 * The webhook channel: one JSON POST per notice. `text` is what Microsoft
 * Teams and Slack incoming webhooks display; the structured fields are for
 * anything else (status, key, title, server, code, fix, since). The URL is a
 * secret (it carries the webhook's token) and never appears in errors. What
 * the endpoint answers is never read or repeated, only its status code: the
 * URL can point anywhere the relay can connect, so an answer could be another
 * service's data.
 */
import { noticeSubject, noticeText, type Notice } from './notice.js';

/** How long one POST may take before it counts as failed. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** The JSON body of one notice. */
export function webhookBody(notice: Notice, panelUrl: string): Record<string, unknown> {
  const { alert } = notice;
  return {
    text: `${noticeSubject(notice)}\n\n${noticeText(notice, panelUrl)}`,
    status: notice.kind === 'repeat' ? 'firing' : notice.kind,
    repeat: notice.kind === 'repeat',
    key: alert.key,
    severity: alert.severity,
    title: alert.title,
    server: alert.server,
    code: alert.code,
    fix: alert.fix,
    detail: alert.detail,
    since: new Date(notice.since).toISOString(),
    resolvedAt: notice.resolvedAt === null ? null : new Date(notice.resolvedAt).toISOString(),
  };
}

/** Why a POST failed, in words that never include the URL or anything the endpoint sent. */
function failure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  const code = e.cause?.code;
  // undici's parser errors (HPE_*) carry the bytes it could not parse; only the fact is reported.
  if (code?.startsWith('HPE_')) return 'the endpoint did not answer like a web server (the answer is not HTTP)';
  return code ? `cannot connect (${code})` : 'cannot connect';
}

/** Posts `notice`; rejects with an Error whose message is safe to log and show. */
export async function postWebhook(url: string, notice: Notice, panelUrl: string, timeoutMs = WEBHOOK_TIMEOUT_MS): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(webhookBody(notice, panelUrl)),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
  } catch (err) {
    throw new Error(`webhook not reached: ${failure(err, timeoutMs)}`);
  }
  // The answer's body is never read: cancelling it frees the connection however large it is.
  await res.body?.cancel().catch(() => undefined);
  if (res.status >= 300 && res.status < 400)
    throw new Error(`webhook answered HTTP ${res.status}, a redirect, which relay365 does not follow`);
  if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
}
