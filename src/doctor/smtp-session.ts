/**
 * A small line-level SMTP client for the doctor: connect (plain or implicit
 * TLS), read replies, send commands, upgrade with STARTTLS. It does exactly
 * what it is told, so each step sees every reply; every read has a bounded
 * timeout, and nothing sent is ever logged or kept. Whatever is not an SMTP
 * reply ends the session as a NotSmtpError that counts the bytes and never
 * carries them: the doctor must not become a way to read other services on
 * the relay's network.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Check } from './report.js';

export interface SmtpReply {
  code: number;
  /** The reply's lines without their code, e.g. ['SIZE 157286400', 'AUTH LOGIN XOAUTH2']. */
  lines: string[];
  /** The last line as the server sent it, e.g. `235 2.7.0 Authentication successful`. */
  text: string;
}

const notSmtp = (bytes: number, what: string): string => `did not answer like an SMTP server (it sent ${bytes} bytes that are not ${what})`;

/** The peer sent something other than SMTP replies; only the byte count is kept. */
export class NotSmtpError extends Error {
  constructor(readonly bytes: number) {
    super(notSmtp(bytes, 'an SMTP reply'));
    this.name = 'NotSmtpError';
  }

  /** The message with what was expected named: `an SMTP greeting`. */
  expected(what: string): string {
    return notSmtp(this.bytes, what);
  }
}

/**
 * The session's greeting, or the failed check saying the server sent something that is no SMTP
 * greeting (its size only). Other errors (a reset, a timeout) are thrown.
 */
export async function readGreeting(session: SmtpSession): Promise<{ greeting: SmtpReply } | { notSmtp: Check }> {
  try {
    return { greeting: await session.read() };
  } catch (err) {
    if (!(err instanceof NotSmtpError)) throw err;
    return { notSmtp: { name: 'greeting', saw: err.expected('an SMTP greeting'), want: '220', ok: false } };
  }
}

/** A reply line: a code from 200 to 599, then a space, a hyphen (more lines follow) or nothing (RFC 5321 §4.2). */
const REPLY_LINE = /^[2-5]\d\d(?:[ -]|$)/;
/** The start of a line still arriving, as far as it has come. */
const REPLY_LINE_START = /^(?:[2-5](?:\d(?:\d[ \r-]?)?)?)?$/;
/** RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; this leaves room for servers that stretch it. */
const MAX_LINE_BYTES = 4096;
/** More unread bytes than this are not replies to the doctor's few commands. */
const MAX_PENDING_BYTES = 64 * 1024;

/** False as soon as `pending` cannot be the start of SMTP replies. */
function couldBeSmtp(pending: string): boolean {
  if (pending.length > MAX_PENDING_BYTES) return false;
  const lines = pending.split('\n');
  const partial = lines.pop() ?? '';
  return (
    lines.every((line) => line.length <= MAX_LINE_BYTES && REPLY_LINE.test(line.replace(/\r$/, ''))) &&
    partial.length <= MAX_LINE_BYTES &&
    REPLY_LINE_START.test(partial.slice(0, 4))
  );
}

export interface SmtpSession {
  /** The socket in use (a TLSSocket after STARTTLS or for implicit TLS). */
  readonly socket: net.Socket;
  read(): Promise<SmtpReply>;
  command(line: string): Promise<SmtpReply>;
  /** Upgrades the connection after a `220` to STARTTLS. */
  startTls(options: TlsOptions): Promise<tls.TLSSocket>;
  close(): void;
}

export interface TlsOptions {
  servername: string;
  /** False to inspect an untrusted certificate instead of failing the handshake. */
  rejectUnauthorized: boolean;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** Implicit TLS (`ssl`) from the first byte. */
  tls?: TlsOptions;
  timeoutMs: number;
}

/** The name to send in SNI: none for an IP address (RFC 6066 §3). */
export function sniName(host: string): string {
  return net.isIP(host) ? '' : host;
}

/** Opens a socket; resolves once connected (and, for implicit TLS, once the handshake is done). */
function openSocket({ host, port, tls: tlsOptions, timeoutMs }: ConnectOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = tlsOptions ? tls.connect({ host, port, minVersion: 'TLSv1.2', ...withSni(tlsOptions) }) : net.connect({ host, port });
    // Errors after the outcome is settled (a reset while closing) must not end the process.
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no connection within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once(tlsOptions ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function withSni(options: TlsOptions): tls.ConnectionOptions {
  const servername = sniName(options.servername);
  return { rejectUnauthorized: options.rejectUnauthorized, ...(servername ? { servername } : {}) };
}

/** Connects and wraps the socket; the greeting is the first `read()`. */
export async function openSmtpSession(options: ConnectOptions): Promise<SmtpSession> {
  let socket = await openSocket(options);
  let buffer = '';
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const onData = (chunk: Buffer): void => {
    buffer += chunk.toString('latin1');
    if (failure === null && !couldBeSmtp(buffer)) {
      failure = new NotSmtpError(buffer.length);
      buffer = '';
      socket.destroy();
    }
    wake?.();
  };
  const onEnd = (): void => {
    failure ??= new Error('the server closed the connection');
    wake?.();
  };
  const onError = (err: Error): void => {
    failure = err;
    wake?.();
  };
  const attach = (s: net.Socket): void => {
    s.on('data', onData);
    s.on('end', onEnd);
    s.on('close', onEnd);
    s.on('error', onError);
  };
  const detach = (s: net.Socket): void => {
    s.off('data', onData);
    s.off('end', onEnd);
    s.off('close', onEnd);
    s.off('error', onError);
  };
  attach(socket);

  /** A complete reply at the start of the buffer, removed from it; null while more is to come. */
  const takeReply = (): SmtpReply | null => {
    const lines: string[] = [];
    let at = 0;
    for (;;) {
      const end = buffer.indexOf('\n', at);
      if (end < 0) return null;
      const line = buffer.slice(at, end).replace(/\r$/, '');
      at = end + 1;
      lines.push(line);
      if (line[3] !== '-') {
        buffer = buffer.slice(at);
        return { code: Number(line.slice(0, 3)), lines: lines.map((l) => l.slice(4)), text: line };
      }
    }
  };

  const read = async (): Promise<SmtpReply> => {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const reply = takeReply();
      if (reply) return reply;
      if (failure) throw failure;
      const left = deadline - Date.now();
      if (left <= 0) throw Object.assign(new Error(`no reply within ${options.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
      });
    }
  };

  return {
    get socket() {
      return socket;
    },
    read,
    async command(line) {
      socket.write(`${line}\r\n`);
      return read();
    },
    async startTls(tlsOptions) {
      detach(socket);
      const plain = socket;
      const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
        const upgraded = tls.connect({ socket: plain, minVersion: 'TLSv1.2', ...withSni(tlsOptions) });
        upgraded.on('error', () => undefined);
        const timer = setTimeout(() => {
          upgraded.destroy();
          reject(Object.assign(new Error(`no TLS handshake within ${options.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
        }, options.timeoutMs);
        upgraded.once('secureConnect', () => {
          clearTimeout(timer);
          resolve(upgraded);
        });
        upgraded.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      socket = secure;
      buffer = '';
      attach(socket);
      return secure;
    },
    close() {
      detach(socket);
      socket.on('error', () => undefined);
      socket.destroy();
    },
  };
}
