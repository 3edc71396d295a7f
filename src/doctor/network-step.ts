/**
 * Step 3 of `relay365 doctor`: can this machine reach the email server?
 * DNS, TCP to Server Host and Server Port, the SMTP greeting, then TLS as Use
 * Secure Connection says (STARTTLS for `tls`, from the first byte for `ssl`,
 * none for `none`) and the certificate: trusted, issued for the host, not
 * expired, TLS 1.2 or later (MICROSOFT.md, SMTP submission). The first check
 * that fails ends the step, with its own fix. A port that answers with
 * something other than SMTP is reported by the size of its answer, never its
 * content (smtp-session.ts).
 */
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import tls from 'node:tls';
import type { EmailServer } from '../store/servers.js';
import { failed, passed, type Check, type DoctorStep } from './report.js';
import { openSmtpSession, readGreeting, type SmtpSession } from './smtp-session.js';

export interface NetworkOutcome {
  step: DoctorStep;
  /** True when the SMTP step can run: the server answered and its TLS (if any) is sound. */
  ready: boolean;
}

const FIX = {
  dns: "Check Server Host (smtp.office365.com for Microsoft 365 worldwide) and that this machine's DNS resolver answers for it.",
  tcp: 'Check Server Host and Server Port (Microsoft 365: smtp.office365.com, port 587 with Use Secure Connection tls), and that firewalls and the hosting provider let this machine connect out to that port.',
  greeting:
    'The server at Server Host and Server Port does not answer as an SMTP server: check Server Port and Use Secure Connection (587 with tls, 465 with ssl).',
  startTls:
    'Use Secure Connection tls needs a server that offers STARTTLS: check Server Host, Server Port and Use Secure Connection (Microsoft 365: smtp.office365.com, 587, tls).',
  handshake:
    'Check Use Secure Connection (tls on port 587, ssl on port 465) and that nothing between this machine and the server intercepts TLS; Microsoft 365 needs TLS 1.2 or later.',
  trust:
    'The certificate is not signed by a certificate authority this machine trusts. Check that Server Host is the real server (smtp.office365.com for Microsoft 365) and that no proxy or antivirus intercepts TLS; a private CA can be trusted with NODE_EXTRA_CA_CERTS.',
  name: 'The certificate is issued for another name: set Server Host to the name in the certificate (smtp.office365.com for Microsoft 365), not an IP address or alias.',
  expired: "The server's certificate has expired, or this machine's clock is wrong (see the Clock step).",
} as const;

const short = (text: string): string => (text.length > 120 ? `${text.slice(0, 117)}...` : text);
export const codeOf = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** The fixes that go with a failed certificate check, in the words of the service checked. */
export type CertificateFixes = Record<'handshake' | 'trust' | 'name' | 'expired', string>;

/** What the certificate says, each fact as a check with the fix for when it fails. */
export function certificateChecks(
  socket: tls.TLSSocket,
  host: string,
  now: number,
  fixes: CertificateFixes = FIX,
): Array<Check & { fix: string }> {
  const cert = socket.getPeerCertificate();
  const protocol = socket.getProtocol() ?? 'unknown';
  const subject = cert.subject?.CN ?? 'no common name';
  const issuer = cert.issuer?.CN ?? cert.issuer?.O ?? 'unknown issuer';
  const nameProblem = tls.checkServerIdentity(host, cert);
  const validTo = new Date(cert.valid_to);
  const trusted = socket.authorized;
  return [
    {
      name: 'TLS version',
      saw: protocol,
      want: 'TLSv1.2 or later',
      ok: protocol === 'TLSv1.2' || protocol === 'TLSv1.3',
      fix: fixes.handshake,
    },
    {
      name: 'certificate trusted',
      saw: trusted ? `yes (issued by ${issuer})` : `no: ${String(socket.authorizationError)} (issued by ${issuer})`,
      want: 'signed by a trusted certificate authority',
      ok: trusted,
      fix: fixes.trust,
    },
    {
      name: 'certificate name',
      saw: nameProblem ? `CN=${subject}: ${nameProblem.message}` : `CN=${subject}, matches ${host}`,
      want: host,
      ok: nameProblem === undefined,
      fix: fixes.name,
    },
    {
      name: 'certificate valid until',
      saw: Number.isNaN(validTo.getTime()) ? cert.valid_to : validTo.toISOString(),
      want: 'a date to come',
      ok: validTo.getTime() > now,
      fix: fixes.expired,
    },
  ];
}

/** The host's addresses; rejects with the resolver's code, or ETIMEOUT after `timeoutMs`. */
async function lookupHost(host: string, timeoutMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const found = await Promise.race([
    lookup(host, { all: true }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  return found.map((a) => a.address);
}

/** A network step's checks so far, and how the step ends at a failed one (which joins them). */
export function networkChecks(): { checks: Check[]; fail(check: Check, problem: string, fix: string): NetworkOutcome } {
  const checks: Check[] = [];
  const fail = (check: Check, problem: string, fix: string): NetworkOutcome => {
    checks.push(check);
    return { ready: false, step: failed('network', `${check.name}: ${check.saw}`, checks, problem, fix) };
  };
  return { checks, fail };
}

/** The DNS check each network step begins with: the host's addresses, or why it has none. */
export async function dnsCheck(host: string, timeoutMs: number): Promise<Check> {
  try {
    return { name: 'DNS', saw: `${host} → ${(await lookupHost(host, timeoutMs)).join(', ')}`, ok: true };
  } catch (err) {
    return { name: 'DNS', saw: `${host} not found (${codeOf(err)})`, want: 'an address', ok: false };
  }
}

/** Runs the checks in order; the first failure ends the step. */
export async function networkStep(server: EmailServer, now: () => number, timeoutMs: number): Promise<NetworkOutcome> {
  const { host, port, secure } = server;
  const { checks, fail } = networkChecks();

  const dns = await dnsCheck(host, timeoutMs);
  if (!dns.ok) return fail(dns, `${host} cannot be resolved`, FIX.dns);
  checks.push(dns);

  const startedAt = Date.now();
  let session: SmtpSession;
  try {
    session = await openSmtpSession({
      host,
      port,
      timeoutMs,
      ...(secure === 'ssl' ? { tls: { servername: host, rejectUnauthorized: false } } : {}),
    });
  } catch (err) {
    const code = codeOf(err);
    if (secure === 'ssl' && !/^E[A-Z]+$/.test(code)) {
      checks.push({ name: 'TCP', saw: `connected to ${host}:${port}`, ok: true });
      return fail({ name: 'TLS handshake', saw: code, want: 'TLS 1.2 or later', ok: false }, 'The TLS handshake failed', FIX.handshake);
    }
    return fail(
      { name: 'TCP', saw: `${host}:${port}: ${code}`, want: 'a connection', ok: false },
      `${host}:${port} cannot be reached`,
      FIX.tcp,
    );
  }
  try {
    const remote = `${session.socket.remoteAddress ?? host}:${port}`;
    checks.push({ name: 'TCP', saw: `connected to ${remote} in ${Date.now() - startedAt} ms`, ok: true });
    const opened = await readGreeting(session);
    if ('notSmtp' in opened) return fail(opened.notSmtp, `${host}:${port} is not an SMTP server`, FIX.greeting);
    const { greeting } = opened;
    if (greeting.code !== 220) {
      return fail(
        { name: 'greeting', saw: short(greeting.text), want: '220', ok: false },
        'The server did not greet as an SMTP server',
        FIX.greeting,
      );
    }
    checks.push({ name: 'greeting', saw: short(greeting.text), ok: true });

    let socket: tls.TLSSocket | null = secure === 'ssl' ? (session.socket as tls.TLSSocket) : null;
    if (secure === 'tls') {
      const ehlo = await session.command(`EHLO ${hostname()}`);
      const offered = ehlo.code === 250 && ehlo.lines.some((l) => /^STARTTLS\b/i.test(l));
      if (!offered) {
        return fail(
          { name: 'STARTTLS', saw: ehlo.code === 250 ? 'not offered after EHLO' : short(ehlo.text), want: 'offered', ok: false },
          'The server offers no STARTTLS',
          FIX.startTls,
        );
      }
      const ready = await session.command('STARTTLS');
      if (ready.code !== 220)
        return fail({ name: 'STARTTLS', saw: short(ready.text), want: '220', ok: false }, 'STARTTLS was refused', FIX.startTls);
      checks.push({ name: 'STARTTLS', saw: short(ready.text), ok: true });
      try {
        socket = await session.startTls({ servername: host, rejectUnauthorized: false });
      } catch (err) {
        return fail(
          { name: 'TLS handshake', saw: codeOf(err), want: 'TLS 1.2 or later', ok: false },
          'The TLS handshake failed',
          FIX.handshake,
        );
      }
    }
    if (socket === null) {
      checks.push({ name: 'TLS', saw: 'not used (Use Secure Connection none)', ok: true });
      await session.command('QUIT').catch(() => undefined);
      return { ready: true, step: passed('network', `${host}:${port} answers SMTP without TLS`, checks) };
    }
    for (const check of certificateChecks(socket, host, now())) {
      const { fix, ...fact } = check;
      if (!fact.ok) return fail(fact, `Certificate problem: ${fact.name}`, fix);
      checks.push(fact);
    }
    await session.command('QUIT').catch(() => undefined);
    return {
      ready: true,
      step: passed(
        'network',
        `${host}:${port} answers with ${socket.getProtocol() ?? 'TLS'} and a trusted certificate for ${host}`,
        checks,
      ),
    };
  } catch (err) {
    return fail({ name: 'SMTP', saw: codeOf(err), want: 'replies', ok: false }, 'The server stopped answering', FIX.greeting);
  } finally {
    session.close();
  }
}
