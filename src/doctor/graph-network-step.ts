/**
 * Step 3 of `relay365 doctor` for a server that sends via Microsoft Graph:
 * can this machine reach Graph? DNS for the Graph endpoint's host, a TCP
 * connection to its HTTPS port, the TLS handshake and the certificate
 * (trusted, issued for the host, not expired, TLS 1.2 or later), then an HTTP
 * answer to a request without a token (any status will do: it only shows that
 * Graph answers). The first check that fails ends the step, with its own fix.
 */
import net from 'node:net';
import tls from 'node:tls';
import { graphEndpoint } from '../auth/clouds.js';
import type { EmailServer } from '../store/servers.js';
import { fetchProblem } from './clock-step.js';
import { certificateChecks, codeOf, dnsCheck, networkChecks, type CertificateFixes, type NetworkOutcome } from './network-step.js';
import { passed } from './report.js';
import { sniName } from './smtp-session.js';

const ENDPOINT_FIX =
  'Check the Office 365 Cloud setting (for Custom, Graph Endpoint: https://graph.microsoft.com for Microsoft 365 worldwide)';

const FIX = {
  dns: `${ENDPOINT_FIX} and that this machine's DNS resolver answers for the Graph host.`,
  tcp: `${ENDPOINT_FIX}, and that firewalls and proxies let this machine connect out to the Graph host over HTTPS (port 443).`,
  http: `${ENDPOINT_FIX}, and that nothing between this machine and Microsoft Graph answers in its place.`,
} as const;

const CERTIFICATE_FIX: CertificateFixes = {
  handshake: 'Check that nothing between this machine and Microsoft Graph intercepts TLS; Microsoft Graph needs TLS 1.2 or later.',
  trust:
    'The certificate is not signed by a certificate authority this machine trusts. Check the Graph endpoint (https://graph.microsoft.com for Microsoft 365 worldwide) and that no proxy or antivirus intercepts TLS; a private CA can be trusted with NODE_EXTRA_CA_CERTS.',
  name: 'The certificate is issued for another name: check the Graph endpoint (https://graph.microsoft.com for Microsoft 365 worldwide); a proxy that intercepts TLS shows its own name.',
  expired: "The Graph endpoint's certificate has expired, or this machine's clock is wrong (see the Clock step).",
};

/** Resolves with a TCP socket to host:port, or rejects with the system's code (ETIMEDOUT after `timeoutMs`). */
function connectTcp(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no connection within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** TLS over `socket`, the certificate not verified so that its facts can be shown (the checks judge it). */
function startTls(socket: net.Socket, host: string, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const servername = sniName(host);
    const secure = tls.connect({ socket, minVersion: 'TLSv1.2', rejectUnauthorized: false, ...(servername ? { servername } : {}) });
    secure.on('error', () => undefined);
    const timer = setTimeout(() => {
      secure.destroy();
      reject(Object.assign(new Error(`no TLS handshake within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(secure);
    });
    secure.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Runs the checks in order against the server's Graph endpoint; the first failure ends the step. */
export async function graphNetworkStep(server: EmailServer, now: () => number, timeoutMs: number): Promise<NetworkOutcome> {
  const endpoint = new URL(graphEndpoint(server));
  const host = endpoint.hostname.replace(/^\[|\]$/g, '');
  const port = Number(endpoint.port || 443);
  const { checks, fail } = networkChecks();

  const dns = await dnsCheck(host, timeoutMs);
  if (!dns.ok) return fail(dns, `${host} cannot be resolved`, FIX.dns);
  checks.push(dns);

  const startedAt = Date.now();
  let socket: net.Socket;
  try {
    socket = await connectTcp(host, port, timeoutMs);
  } catch (err) {
    return fail(
      { name: 'TCP', saw: `${host}:${port}: ${codeOf(err)}`, want: 'a connection', ok: false },
      `${host}:${port} cannot be reached`,
      FIX.tcp,
    );
  }
  checks.push({ name: 'TCP', saw: `connected to ${socket.remoteAddress ?? host}:${port} in ${Date.now() - startedAt} ms`, ok: true });
  let secure: tls.TLSSocket;
  try {
    secure = await startTls(socket, host, timeoutMs);
  } catch (err) {
    socket.destroy();
    return fail(
      { name: 'TLS handshake', saw: codeOf(err), want: 'TLS 1.2 or later', ok: false },
      'The TLS handshake failed',
      CERTIFICATE_FIX.handshake,
    );
  }
  try {
    for (const { fix, ...fact } of certificateChecks(secure, host, now(), CERTIFICATE_FIX)) {
      if (!fact.ok) return fail(fact, `Certificate problem: ${fact.name}`, fix);
      checks.push(fact);
    }
  } finally {
    secure.destroy();
  }
  const protocol = checks.find((c) => c.name === 'TLS version')?.saw ?? 'TLS';

  // Without a token Graph answers with an error (401 or 400): any answer shows that it is there.
  let status: number;
  try {
    const res = await fetch(`${endpoint.origin}/v1.0/`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    status = res.status;
    await res.body?.cancel();
  } catch (err) {
    return fail(
      { name: 'HTTPS', saw: fetchProblem(err), want: 'an answer', ok: false },
      `${endpoint.origin} does not answer HTTPS requests`,
      FIX.http,
    );
  }
  checks.push({ name: 'HTTPS', saw: `HTTP ${status} to a request without a token`, ok: true });
  return {
    ready: true,
    step: passed('network', `${endpoint.origin} answers with ${protocol} and a trusted certificate for ${host}`, checks),
  };
}
