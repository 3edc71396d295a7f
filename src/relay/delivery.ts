/**
 * The SMTP transport (upstream.ts): a nodemailer pooled transport per
 * mailbox, XOAUTH2 tokens from the server's token provider, the spooled bytes
 * forwarded unchanged with the stored envelope. Failures come back normalised
 * as a `DeliveryError` for the classifier.
 *
 * XOAUTH2 is our own nodemailer auth handler, so that a refused token is
 * retried in one place only (`sendRetryingAuth`: once, with a fresh token)
 * and the token comes from MSAL's cache for each new connection. nodemailer's
 * own XOAUTH2 would keep a token per connection and renew it after a `334`,
 * a second retry layer on top of ours.
 */
import { hostname } from 'node:os';
import { format } from 'node:util';
import type { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import type { SMTPConnectionCustomAuthContext } from 'nodemailer/lib/smtp-connection';
import type { Logger } from '../log.js';
import type { AccessToken, TokenProvider } from '../auth/token-provider.js';
import { TokenError } from '../auth/token-error.js';
import type { EmailServer } from '../store/servers.js';
import { DeliveryError, toDeliveryError, type Envelope, type RecipientReply, type SendResult, type Upstream } from './upstream.js';

export interface UpstreamOptions {
  server: EmailServer;
  /** For method `office365`. */
  tokens?: TokenProvider;
  /** For method `password`. */
  password?: string | null;
  log: Logger;
}

interface NodemailerFailure extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
  rejectedErrors?: NodemailerFailure[];
}

function replyOf(err: NodemailerFailure): RecipientReply {
  return { address: err.recipient ?? '', code: err.responseCode ?? 0, reply: err.response ?? err.message };
}

/** Turns what nodemailer threw into a DeliveryError, with the SMTP reply and the refused recipients when there were some. */
function fromNodemailer(err: unknown): DeliveryError {
  const e = err as NodemailerFailure;
  if (err instanceof DeliveryError || err instanceof TokenError || e?.cause instanceof TokenError || !e?.response)
    return toDeliveryError(err);
  if (e.responseCode)
    return new DeliveryError({ kind: 'smtp', code: e.responseCode, reply: e.response }, (e.rejectedErrors ?? []).map(replyOf));
  // An answer that is no SMTP reply (a web server, a database) is not repeated: the server's host and
  // port are the admin's to choose, and the relay must not become a way to read other services.
  return new DeliveryError({ kind: 'network', code: e.code ?? 'EPROTOCOL', message: notSmtp(e.response) });
}

/** What the relay says of an answer that is no SMTP reply: how long it was, never what it said. */
const notSmtpBytes = (answer: string): string => `${Buffer.byteLength(answer)} bytes that are not an SMTP reply`;
const notSmtp = (answer: string): string => `the server did not answer like an SMTP server (it sent ${notSmtpBytes(answer)})`;

/** An SMTP reply line: three digits, then a space, a dash or the end. */
const SMTP_REPLY_LINE = /^[2-5]\d\d(?:[ -]|$)/;

function isAuthRejection(err: DeliveryError): boolean {
  return err.failure.kind === 'smtp' && err.failure.code === 535;
}

/** Collects the SMTP conversation from nodemailer's transaction log; AUTH lines never carry credentials. */
function transcriptLogger(lines: string[]) {
  const record = (entry: { tnx?: string }, message: unknown, ...args: unknown[]): void => {
    if (entry.tnx !== 'client' && entry.tnx !== 'server') return;
    let line = format(String(message), ...args);
    if (entry.tnx === 'client' && /^AUTH\b/i.test(line)) line = `${line.split(' ').slice(0, 2).join(' ')} <redacted>`;
    if (entry.tnx === 'server' && !SMTP_REPLY_LINE.test(line)) line = `(${notSmtpBytes(line)})`;
    lines.push(`${entry.tnx === 'client' ? 'C' : 'S'}: ${line}`);
  };
  const ignore = (): void => undefined;
  return { trace: ignore, debug: record, info: record, warn: record, error: record, fatal: record };
}

/**
 * The name our XOAUTH2 handler has in nodemailer. Asked for "XOAUTH2" without a token generator of its
 * own, nodemailer runs the first method the server lists instead (Exchange lists LOGIN first); the
 * handler still sends `AUTH XOAUTH2`.
 */
const XOAUTH2_HANDLER = 'RELAY365-XOAUTH2';

/** The initial response of `AUTH XOAUTH2` (MICROSOFT.md, SMTP submission). */
function xoauth2Response(user: string, token: AccessToken): string {
  return Buffer.from(`user=${user}\x01auth=Bearer ${token.token}\x01\x01`).toString('base64');
}

/**
 * A nodemailer auth handler for XOAUTH2 with a token from `tokens`. A refusal comes back as
 * nodemailer's EAUTH error carrying the final reply (`535`); a token failure as an error whose
 * cause is the TokenError, so that nodemailer cannot overwrite the TokenError's code.
 */
function xoauth2Handler(tokens: TokenProvider) {
  return async (ctx: SMTPConnectionCustomAuthContext): Promise<void> => {
    let token: AccessToken;
    try {
      token = await tokens.getAccessToken();
    } catch (err) {
      throw new Error('no access token', { cause: err });
    }
    const reply = await ctx.sendCommand(`AUTH XOAUTH2 ${xoauth2Response(ctx.auth.user ?? '', token)}`);
    // On failure Exchange may first answer 334 with a base64 JSON error; an empty line then brings the 535.
    const final = reply.status === 334 ? await ctx.sendCommand('') : reply;
    if (final.status !== 235) throw new Error('Invalid login');
  };
}

/** Creates the pooled upstream for one email server. */
export function createUpstream({ server, tokens, password, log }: UpstreamOptions): Upstream {
  const oauth = server.method === 'office365' && tokens !== undefined;
  const auth =
    server.method === 'office365'
      ? // Mailbox defaults to the signed-in account (PRODUCT.md); without a user nodemailer skips AUTH.
        { type: 'custom', method: XOAUTH2_HANDLER, user: server.mailbox ?? server.authorizedAccount ?? '' }
      : server.method === 'password'
        ? { user: server.username ?? undefined, pass: password ?? undefined }
        : undefined;
  const options = {
    host: server.host,
    port: server.port,
    secure: server.secure === 'ssl',
    requireTLS: server.secure === 'tls',
    ignoreTLS: server.secure === 'none',
    name: hostname(),
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
    disableFileAccess: true,
    disableUrlAccess: true,
    tls: { minVersion: 'TLSv1.2' as const, servername: server.host },
    auth,
    ...(oauth ? { customAuth: { [XOAUTH2_HANDLER]: xoauth2Handler(tokens) } } : {}),
  };
  const createPool = (maxConnections: number) =>
    nodemailer.createTransport({
      ...options,
      pool: true,
      maxConnections,
      maxMessages: 100,
      // A failure reaches the scheduler, which owns retries; the pool only re-sends a message
      // whose connection closed before it was attempted.
      maxRequeues: 1,
      logger: false,
    });
  type Pool = ReturnType<typeof createPool>;
  type Transport = Pick<Pool, 'sendMail'>;

  // Exchange counts open connections, idle ones included: a lower limit needs a smaller pool.
  // A replaced pool is closed once its last message is through.
  let pool: Pool = createPool(server.maxConnections);
  let poolLimit = server.maxConnections;
  const active = new Map<Pool, number>();
  const sendPooled = async (envelope: Envelope, raw: () => Readable): Promise<SendResult> => {
    const used = pool;
    active.set(used, (active.get(used) ?? 0) + 1);
    try {
      return await sendRetryingAuth(used, envelope, raw);
    } finally {
      const left = (active.get(used) ?? 1) - 1;
      active.set(used, left);
      if (left === 0 && used !== pool) {
        active.delete(used);
        used.close();
      }
    }
  };
  const attempt = async (transport: Transport, envelope: Envelope, raw: () => Readable): Promise<SendResult> => {
    let info;
    try {
      // nodemailer adds SMTPUTF8 itself when an address needs it, and turns bare CR and LF into CRLF.
      const upstream = { from: envelope.from, to: envelope.to, use8BitMime: envelope.body8bit === true, size: envelope.size };
      info = (await transport.sendMail({ envelope: upstream, raw: raw() })) as {
        response?: string;
        rejectedErrors?: NodemailerFailure[];
      };
    } catch (err) {
      throw fromNodemailer(err);
    }
    const rejectedErrors = (info.rejectedErrors ?? []).map(replyOf);
    const rejectedSet = new Set(rejectedErrors.map((r) => r.address.toLowerCase()));
    const response = String(info.response ?? '');
    const code = Number(/^\d{3}/.exec(response)?.[0] ?? 250);
    return {
      accepted: envelope.to.filter((a) => !rejectedSet.has(a.toLowerCase())).map((address) => ({ address, code, reply: response })),
      rejected: rejectedErrors,
      response,
    };
  };

  const sendRetryingAuth = async (transport: Transport, envelope: Envelope, raw: () => Readable): Promise<SendResult> => {
    try {
      return await attempt(transport, envelope, raw);
    } catch (err) {
      const failure = fromNodemailer(err);
      if (!tokens || !isAuthRejection(failure)) throw failure;
      // Microsoft refused the token: retry once with a fresh one (PRODUCT.md, Tokens).
      log.info('upstream refused the token; retrying once with a new one', { queueId: envelope.queueId, server: server.name });
      try {
        await tokens.getAccessToken({ forceRefresh: true });
      } catch (tokenErr) {
        throw toDeliveryError(tokenErr);
      }
      return attempt(transport, envelope, raw);
    }
  };

  return {
    send: sendPooled,
    setConnectionLimit(limit) {
      if (limit === poolLimit) return;
      const old = pool;
      pool = createPool(limit);
      poolLimit = limit;
      if (!active.get(old)) {
        active.delete(old);
        old.close();
      }
    },
    async sendWithTranscript(envelope, raw, transcript) {
      const single = nodemailer.createTransport({ ...options, transactionLog: true, logger: transcriptLogger(transcript) });
      try {
        return await sendRetryingAuth(single, envelope, raw);
      } finally {
        single.close();
      }
    },
    close() {
      pool.close();
      for (const old of active.keys()) if (old !== pool) old.close();
    },
  };
}
