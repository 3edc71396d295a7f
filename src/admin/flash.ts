/**
 * One-shot messages shown on the next page a user sees (after a redirect):
 * saved settings, the result of Authorize Account. Stored with the session.
 */
import type { Context } from 'hono';
import type { StoreSlice } from '../store/index.js';
import type { AdminEnv } from './env.js';

export interface Flash {
  kind: 'success' | 'error';
  message: string;
  /** Microsoft's error code, e.g. AADSTS7000215. */
  code?: string | null;
  meaning?: string | null;
  fix?: string | null;
}

/** Keeps `flash` for the next page of this session. */
export async function setFlash(c: Context<AdminEnv>, store: StoreSlice<{ sessions: 'setFlash' }>, flash: Flash): Promise<void> {
  if (c.var.session) await store.sessions.setFlash(c.var.session.idHash, JSON.stringify(flash));
}

/** Returns and forgets the session's flash message. */
export async function takeFlash(c: Context<AdminEnv>, store: StoreSlice<{ sessions: 'takeFlash' }>): Promise<Flash | null> {
  if (!c.var.session) return null;
  const text = await store.sessions.takeFlash(c.var.session.idHash);
  if (!text) return null;
  try {
    return JSON.parse(text) as Flash;
  } catch {
    return null;
  }
}
