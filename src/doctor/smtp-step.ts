/**
 * Step 5 of `relay365 doctor`: an SMTP session as the relay would open it:
 * EHLO, STARTTLS (verified this time), EHLO again, AUTH as the Mailbox
 * (XOAUTH2 with the token of step 4, or the stored password), then QUIT
 * without sending. Microsoft's refusal is explained through the SMTP hint
 * table. The AUTH line carries a credential and is never shown, and an answer
 * that is not SMTP is reported by its size, never its content.
 */
import { hostname } from 'node:os';
import { hintForSmtpReply } from '../auth/hints.js';
import type { AccessToken } from '../auth/token-provider.js';
import type { StoreSlice } from '../store/index.js';
import type { EmailServer } from '../store/servers.js';
import { failed, passed, type Check, type DoctorStep } from './report.js';
import { openSmtpSession, readGreeting, type SmtpReply, type SmtpSession } from './smtp-session.js';

const short = (text: string): string => (text.length > 160 ? `${text.slice(0, 157)}...` : text);

const GENERIC_FIX =
  "Compare the reply with Microsoft's SMTP AUTH documentation; check Mailbox, the sign-in settings and the mailbox's permissions.";

/** What the SMTP step reads from the store: a password server's password. */
export type SmtpStepStore = StoreSlice<{ servers: 'password' }>;

/** The AUTH exchange for the server's method; resolves with the final reply, or null when there is no AUTH. */
async function authenticate(
  session: SmtpSession,
  server: EmailServer,
  user: string,
  token: AccessToken | null,
  store: SmtpStepStore,
  mechanism: string,
): Promise<SmtpReply | null> {
  if (server.method === 'office365' && token) {
    const response = Buffer.from(`user=${user}\x01auth=Bearer ${token.token}\x01\x01`).toString('base64');
    const reply = await session.command(`AUTH XOAUTH2 ${response}`);
    // On failure Exchange may first answer 334 with a base64 JSON error; an empty line brings the 535.
    return reply.code === 334 ? session.command('') : reply;
  }
  if (server.method === 'password') {
    const password = (await store.servers.password(server.id)) ?? '';
    if (mechanism === 'PLAIN') return session.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`);
    const asked = await session.command('AUTH LOGIN');
    if (asked.code !== 334) return asked;
    const named = await session.command(Buffer.from(user).toString('base64'));
    return named.code === 334 ? session.command(Buffer.from(password).toString('base64')) : named;
  }
  return null;
}

/** Opens the session, authenticates and quits. */
export async function smtpStep(
  server: EmailServer,
  token: AccessToken | null,
  store: SmtpStepStore,
  timeoutMs: number,
): Promise<DoctorStep> {
  const { host, port, secure } = server;
  const user = server.method === 'office365' ? (server.mailbox ?? server.authorizedAccount ?? '') : (server.username ?? '');
  const checks: Check[] = [];
  const fail = (check: Check, problem: string, fix: string): DoctorStep => {
    checks.push(check);
    return failed('smtp', `${check.name}: ${check.saw}`, checks, problem, fix);
  };
  const refused = (name: string, reply: SmtpReply): DoctorStep => {
    const hint = hintForSmtpReply(reply.text);
    return fail({ name, saw: short(reply.text), ok: false }, hint?.meaning ?? `The server refused ${name}`, hint?.fix ?? GENERIC_FIX);
  };

  if (server.method === 'office365' && secure === 'none') {
    // A bearer token on an unencrypted connection could be read on the way; Exchange wants STARTTLS first anyway.
    return fail(
      { name: 'AUTH XOAUTH2', saw: 'not tried without TLS', want: 'STARTTLS first', ok: false },
      'Microsoft 365 needs TLS before AUTH',
      'Set Use Secure Connection to tls with Server Port 587: Exchange Online accepts AUTH only after STARTTLS.',
    );
  }
  let session: SmtpSession;
  try {
    session = await openSmtpSession({
      host,
      port,
      timeoutMs,
      ...(secure === 'ssl' ? { tls: { servername: host, rejectUnauthorized: true } } : {}),
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return fail(
      { name: 'connect', saw: code, ok: false },
      'The connection failed this time',
      'Run the check again; if it repeats, see the Network and TLS step.',
    );
  }
  try {
    const opened = await readGreeting(session);
    if ('notSmtp' in opened) {
      return fail(
        opened.notSmtp,
        `${host}:${port} is not an SMTP server`,
        'Check Server Host, Server Port and Use Secure Connection (Microsoft 365: smtp.office365.com, 587, tls).',
      );
    }
    const { greeting } = opened;
    if (greeting.code !== 220) return refused('greeting', greeting);
    let ehlo = await session.command(`EHLO ${hostname()}`);
    if (ehlo.code !== 250) return refused('EHLO', ehlo);
    checks.push({ name: 'EHLO', saw: short(`${ehlo.code} ${ehlo.lines[0] ?? ''}`), ok: true });
    if (secure === 'tls') {
      const ready = await session.command('STARTTLS');
      if (ready.code !== 220) return refused('STARTTLS', ready);
      await session.startTls({ servername: host, rejectUnauthorized: true });
      checks.push({ name: 'STARTTLS', saw: short(ready.text), ok: true });
      ehlo = await session.command(`EHLO ${hostname()}`);
      if (ehlo.code !== 250) return refused('EHLO', ehlo);
    }
    const auth = ehlo.lines.find((l) => /^AUTH\b/i.test(l));
    checks.push({ name: 'offered', saw: auth ?? 'no AUTH', ok: true });
    const method = server.method === 'office365' ? 'XOAUTH2' : /\bPLAIN\b/i.test(auth ?? '') ? 'PLAIN' : 'LOGIN';
    const reply = await authenticate(session, server, user, token, store, method);
    if (reply !== null) {
      const name = `AUTH ${method} as ${user}`;
      if (reply.code !== 235) return refused(name, reply);
      checks.push({ name, saw: short(reply.text), ok: true });
    }
    const bye = await session.command('QUIT').catch(() => null);
    checks.push({ name: 'QUIT', saw: bye ? short(bye.text) : 'connection closed', ok: true });
    return passed(
      'smtp',
      reply === null ? `${host} accepts a session (no AUTH configured)` : `${user} signs in at ${host} with AUTH ${method}`,
      checks,
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return fail(
      { name: 'session', saw: code, ok: false },
      'The session broke off',
      'Run the check again; if it repeats, see the Network and TLS step.',
    );
  } finally {
    session.close();
  }
}
