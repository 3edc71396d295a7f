/**
 * Who may relay. Until relay users and allowed networks exist, only loopback
 * clients may relay without SMTP AUTH (PRODUCT.md: no open relay).
 */
import { isIP } from 'node:net';

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(address: string): boolean {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

/** Whether a client at `address` may relay mail through relay365. */
export function mayRelay(address: string): boolean {
  return isLoopback(address);
}
