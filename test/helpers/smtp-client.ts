/**
 * A raw SMTP client for tests that need to send what a real client would not:
 * garbage commands, huge lines, a connection dropped mid-DATA.
 */
import net from 'node:net';

export interface RawClient {
  /** The server's greeting. */
  greeting: string;
  socket: net.Socket;
  /** Stops reading replies, so the socket can be handed to TLS after STARTTLS. */
  detach(): void;
  /** Sends a line (CRLF added) and resolves with the complete reply. */
  command(line: string): Promise<string>;
  /** Sends bytes as they are, without waiting for a reply. */
  write(data: string | Buffer): void;
  /** Waits for the next complete reply. */
  reply(): Promise<string>;
  close(): void;
  destroy(): void;
}

const REPLY_TIMEOUT_MS = 10_000;

/**
 * Connects (from `localAddress` when given, another loopback address), sends `preamble` (a PROXY
 * protocol header) when given, and reads the greeting.
 */
export async function connectRaw(
  port: number,
  host = '127.0.0.1',
  localAddress?: string,
  preamble?: string | Uint8Array,
): Promise<RawClient> {
  const socket = net.connect({ port, host, localAddress });
  if (preamble !== undefined) socket.write(preamble);
  let buffer = '';
  const waiters: ((reply: string) => void)[] = [];
  const complete = (): void => {
    // A reply ends with a line "NNN text" (no dash after the code).
    const match = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(buffer);
    if (!match || !waiters.length) return;
    const end = match.index + match[0].length;
    const reply = buffer.slice(0, end).trim();
    buffer = buffer.slice(end);
    waiters.shift()?.(reply);
    complete();
  };
  const onData = (chunk: Buffer): void => {
    buffer += chunk.toString('utf8');
    complete();
  };
  socket.on('data', onData);
  socket.on('error', () => undefined);
  const reply = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SMTP reply within ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS);
      waiters.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
      complete();
    });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const greeting = await reply();
  return {
    greeting,
    socket,
    detach() {
      socket.off('data', onData);
    },
    command(line) {
      socket.write(`${line}\r\n`);
      return reply();
    },
    write(data) {
      socket.write(data);
    },
    reply,
    close() {
      socket.end();
    },
    destroy() {
      socket.destroy();
    },
  };
}
