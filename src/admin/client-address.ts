/**
 * The client's address as the socket reports it (no proxy headers are trusted),
 * for login throttling. Under `app.request()` there is no socket.
 */
import type { Context } from 'hono';
import type { AdminEnv } from './env.js';

export function clientAddress(c: Context<AdminEnv>): string {
  return c.env?.incoming?.socket?.remoteAddress ?? 'unknown';
}
