/**
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2)
 * that a TCP load balancer sends ahead of the SMTP session, naming the client
 * it accepted the connection from. proxy-protocol-js parses it; this module
 * only finds where the header ends on the socket and hands back what follows.
 */
import { isIP, type Socket } from 'node:net';
import { Command, IPv4ProxyAddress, IPv6ProxyAddress, V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js';

/** The client a header names; null for a health check (v2 LOCAL, v1 UNKNOWN): the peer itself is the client. */
export type ProxiedClient = { address: string; port: number } | null;

/** The header could not be read: malformed, too long, too slow, or the connection ended first. */
export class ProxyHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyHeaderError';
  }
}

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
/** Signature, version and command, family, and the 16-bit length of what follows. */
const V2_FIXED_BYTES = 16;
/** Addresses plus TLVs; HAProxy sends a few hundred bytes at most. */
const V2_MAX_BYTES = V2_FIXED_BYTES + 4096;
/** "PROXY TCP6 ffff:…:ffff ffff:…:ffff 65535 65535\r\n" is 107 bytes (proxy-protocol.txt 2.1). */
const V1_MAX_BYTES = 107;

/** The header's length if `head` holds a whole one, 0 if more bytes are needed; throws if it cannot be a header. */
function headerLength(head: Buffer): number {
  if (head[0] === V2_SIGNATURE[0]) {
    const seen = Math.min(head.length, V2_SIGNATURE.length);
    if (!head.subarray(0, seen).equals(V2_SIGNATURE.subarray(0, seen))) throw new ProxyHeaderError('not a PROXY protocol header');
    if (head.length < V2_FIXED_BYTES) return 0;
    const length = V2_FIXED_BYTES + head.readUInt16BE(14);
    if (length > V2_MAX_BYTES) throw new ProxyHeaderError('PROXY v2 header too long');
    return head.length >= length ? length : 0;
  }
  const seen = Math.min(head.length, 6);
  if (head.toString('latin1', 0, seen) !== 'PROXY '.slice(0, seen)) throw new ProxyHeaderError('not a PROXY protocol header');
  const end = head.indexOf('\r\n');
  if (end >= 0 && end + 2 <= V1_MAX_BYTES) return end + 2;
  if (end >= 0 || head.length >= V1_MAX_BYTES) throw new ProxyHeaderError('PROXY v1 header too long');
  return 0;
}

/** An IPv6 address from its 16 bytes, in the short form sockets report. */
function ipv6Text(bytes: readonly number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

/** What a whole header says. */
export function parseProxyHeader(header: Buffer): ProxiedClient {
  try {
    if (header[0] === V2_SIGNATURE[0]) {
      const parsed = V2ProxyProtocol.parse(new Uint8Array(header));
      if (parsed.command === Command.LOCAL) return null;
      const from = parsed.proxyAddress;
      if (from instanceof IPv4ProxyAddress) return { address: from.sourceAddress.address.join('.'), port: from.sourcePort };
      if (from instanceof IPv6ProxyAddress) return { address: ipv6Text(from.sourceAddress.address), port: from.sourcePort };
      throw new ProxyHeaderError('PROXY v2 header names no IP client');
    }
    const line = header.toString('latin1');
    if (/^PROXY UNKNOWN[ \r]/.test(line)) return null;
    const parsed = V1ProxyProtocol.parse(line);
    const address = parsed.source.ipAddress.toLowerCase();
    if (isIP(address) === 0 || parsed.source.port > 65535) throw new ProxyHeaderError('PROXY v1 header names no IP client');
    return { address, port: parsed.source.port };
  } catch (err) {
    if (err instanceof ProxyHeaderError) throw err;
    // proxy-protocol-js throws its own parse errors (not Error instances).
    throw new ProxyHeaderError(`malformed PROXY header: ${(err as { message?: string }).message ?? String(err)}`);
  }
}

/**
 * Reads the PROXY header that must open `socket`, within `timeoutMs`. Bytes after it stay on the
 * socket for the SMTP session. Rejects with ProxyHeaderError; the caller closes the socket.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxiedClient> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new ProxyHeaderError('no PROXY header in time')), timeoutMs);
    const finish = (error: Error | null, client?: ProxiedClient): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      if (error) reject(error);
      else resolve(client ?? null);
    };
    const onEnd = (): void => finish(new ProxyHeaderError('the connection ended before its PROXY header'));
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        head = Buffer.concat([head, chunk]);
        let length: number;
        try {
          length = headerLength(head);
          if (length === 0) continue;
          const client = parseProxyHeader(head.subarray(0, length));
          if (head.length > length) socket.unshift(head.subarray(length));
          return finish(null, client);
        } catch (err) {
          return finish(err as Error);
        }
      }
    };
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onEnd);
  });
}
