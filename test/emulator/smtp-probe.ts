/**
 * A minimal line-level SMTP client for tests that assert exact server replies
 * (greeting, EHLO lines, 334 challenges) or hold sessions open. Every read has
 * a bounded timeout; STARTTLS verifies the server as `localhost` against the
 * trusted CAs (NODE_EXTRA_CA_CERTS).
 */
import net from 'node:net';
import tls from 'node:tls';

const REPLY_TIMEOUT_MS = 5000;

/** An open SMTP session driven command by command. */
export class SmtpProbe {
  private socket: net.Socket;
  private buffer = '';
  private waiter: (() => void) | undefined;
  private closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.listen();
  }

  /** Connects to localhost:`port` and returns the probe with the greeting read. */
  static async connect(port: number): Promise<{ probe: SmtpProbe; greeting: string }> {
    const socket = net.connect({ host: 'localhost', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const probe = new SmtpProbe(socket);
    return { probe, greeting: await probe.readReply() };
  }

  /** Sends one command line and returns the whole reply (lines joined with \n). */
  async command(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.readReply();
  }

  /** EHLO, STARTTLS, TLS handshake for `localhost`, EHLO again; returns the second EHLO reply. */
  async startTls(): Promise<string> {
    await this.command('EHLO probe.test');
    const ready = await this.command('STARTTLS');
    if (!ready.startsWith('220')) throw new Error(`STARTTLS refused: ${ready}`);
    this.socket.removeAllListeners('data');
    const secure = tls.connect({ socket: this.socket, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.listen();
    return this.command('EHLO probe.test');
  }

  /** STARTTLS then `AUTH XOAUTH2` for `user` with `token`; returns the AUTH reply. */
  async loginXoauth2(user: string, token: string): Promise<string> {
    await this.startTls();
    return this.command(`AUTH XOAUTH2 ${xoauth2Initial(user, token)}`);
  }

  /** True once the server closed the connection. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Waits (bounded) until the server closes the connection. */
  async waitClosed(timeoutMs = REPLY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('server did not close the connection');
      await this.nextEvent(deadline - Date.now());
    }
  }

  /** Closes the connection without QUIT. */
  close(): void {
    this.socket.destroy();
  }

  /** Reads one complete (possibly multi-line) reply. */
  async readReply(timeoutMs = REPLY_TIMEOUT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = replyEnd(this.buffer);
      if (end >= 0) {
        const reply = this.buffer.slice(0, end).replace(/\r\n$/, '');
        this.buffer = this.buffer.slice(end);
        return reply.split('\r\n').join('\n');
      }
      if (this.closed) throw new Error(`connection closed; partial reply: ${JSON.stringify(this.buffer)}`);
      if (Date.now() > deadline) throw new Error(`no reply within ${timeoutMs} ms; got ${JSON.stringify(this.buffer)}`);
      await this.nextEvent(deadline - Date.now());
    }
  }

  private listen(): void {
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.socket.on('error', () => undefined);
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private nextEvent(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, timeoutMs));
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** The XOAUTH2 initial client response: base64("user=" u "\x01auth=Bearer " t "\x01\x01"). */
export function xoauth2Initial(user: string, token: string): string {
  return Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`).toString('base64');
}

/** Index just past the last line of the first complete reply in `buffer`, or -1. */
function replyEnd(buffer: string): number {
  let start = 0;
  for (;;) {
    const eol = buffer.indexOf('\r\n', start);
    if (eol < 0) return -1;
    if (/^\d{3}(?: |$)/.test(buffer.slice(start, eol))) return eol + 2;
    start = eol + 2;
  }
}
