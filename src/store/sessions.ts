/**
 * Admin panel sessions and what hangs off a session: its one-shot flash
 * message and the OAuth `state` of an Authorize Account sign-in in progress.
 * Session ids and states are random 32-byte tokens stored as SHA-256 hashes;
 * the PKCE verifier is sealed like every other secret.
 */
import type { Db } from './db.js';
import type { SecretBox } from './secret-box.js';
import { hashToken, randomToken } from './users.js';

export interface Session {
  /** SHA-256 of the session id: safe to keep in memory, log-free all the same. */
  idHash: string;
  userId: number;
  createdAt: number;
  expiresAt: number;
}

export interface SessionTimes {
  /** A session ends this long after its last request. */
  idleMs: number;
  /** …and at the latest this long after sign-in. */
  absoluteMs: number;
}

export interface OAuthState {
  serverId: number;
  sessionHash: string;
  verifier: string;
}

/** Why a `state` came back refused (no token request is made for any of these). */
export type StateProblem = 'unknown' | 'used' | 'expired' | 'other_session';

/** A `sessions` row (without its flash), as both engines read it. */
export interface SessionRow {
  id_hash: string;
  user_id: number;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

/** An `oauth_states` row, as both engines read it. */
export interface StateRow {
  state_hash: string;
  session_hash: string;
  server_id: number;
  verifier_enc: Buffer;
  expires_at: number;
  used_at: number | null;
}

export interface SessionRepo {
  /** Starts a session; returns the raw id for the cookie (never stored). */
  create(userId: number): { id: string; session: Session };
  /** The live session for a raw id, extending its idle expiry; undefined when unknown or expired. */
  touch(id: string): Session | undefined;
  /** Ends one session by raw id. */
  destroy(id: string): void;
  setFlash(idHash: string, flash: string): void;
  /** Returns and clears the session's flash message. */
  takeFlash(idHash: string): string | null;
  /** Records a new OAuth state for this session and server; returns the raw state. */
  createState(input: OAuthState, ttlMs: number): string;
  /** Uses a state once: its data, or why it is refused. */
  consumeState(state: string, sessionHash: string | null): OAuthState | { problem: StateProblem };
}

/** A session's `last_seen_at` is written at most this often: each write is a commit. */
const TOUCH_EVERY_MS = 60_000;

/** Old OAuth states are kept a day after they expire so that a reused one is reported as reused, not unknown. */
export const STATE_KEEP_MS = 24 * 60 * 60_000;

/** A `sessions` row as the panel sees it. */
export const toSession = (row: SessionRow): Session => ({
  idHash: row.id_hash,
  userId: row.user_id,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

/** When a session seen at `t` ends: after its idle time, and never later than its absolute lifetime. */
const expiry = (times: SessionTimes, createdAt: number, t: number): number => Math.min(createdAt + times.absoluteMs, t + times.idleMs);

/** A new session for `userId` at `t`: its raw id (for the cookie only) and the row to store. */
export function newSession(userId: number, t: number, times: SessionTimes): { id: string; row: SessionRow } {
  const id = randomToken();
  return { id, row: { id_hash: hashToken(id), user_id: userId, created_at: t, last_seen_at: t, expires_at: expiry(times, t, t) } };
}

/**
 * What a request at `t` does to a stored session: `expired` (delete it), `current` (nothing to write), or the
 * row extended to write, at most once a minute.
 */
export function sessionSeen(row: SessionRow, t: number, times: SessionTimes): 'expired' | 'current' | SessionRow {
  if (row.expires_at <= t) return 'expired';
  if (t - row.last_seen_at < TOUCH_EVERY_MS) return 'current';
  return { ...row, last_seen_at: t, expires_at: expiry(times, row.created_at, t) };
}

/**
 * The answer for a state that was unused and has just been burned at `t`: a state is burned by any use, even a
 * refused one (it has left the browser), and it is refused when expired or brought back by another session.
 */
export function burnedState(row: StateRow, sessionHash: string | null, t: number, box: SecretBox): OAuthState | { problem: StateProblem } {
  if (row.expires_at <= t) return { problem: 'expired' };
  if (sessionHash === null || row.session_hash !== sessionHash) return { problem: 'other_session' };
  return { serverId: row.server_id, sessionHash: row.session_hash, verifier: box.open(row.verifier_enc) };
}

/** Creates the repository; `box` seals the PKCE verifiers. */
export function createSessionRepo(db: Db, box: SecretBox, times: SessionTimes, now: () => number = Date.now): SessionRepo {
  const selectSession = db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE id_hash = ?');

  return {
    create: (userId) => {
      const t = now();
      const { id, row } = newSession(userId, t, times);
      db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(t);
      db.prepare(
        'INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES (@id_hash, @user_id, @created_at, @last_seen_at, @expires_at)',
      ).run(row);
      return { id, session: toSession(row) };
    },
    touch: (id) => {
      const row = selectSession.get(hashToken(id));
      if (!row) return undefined;
      const seen = sessionSeen(row, now(), times);
      if (seen === 'expired') {
        db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(row.id_hash);
        return undefined;
      }
      if (seen === 'current') return toSession(row);
      db.prepare('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?').run(
        seen.last_seen_at,
        seen.expires_at,
        seen.id_hash,
      );
      return toSession(seen);
    },
    destroy: (id) => {
      db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(hashToken(id));
    },
    setFlash: (idHash, flash) => {
      db.prepare('UPDATE sessions SET flash = ? WHERE id_hash = ?').run(flash, idHash);
    },
    takeFlash: (idHash) =>
      db.transaction(() => {
        const row = db.prepare('SELECT flash FROM sessions WHERE id_hash = ?').get(idHash) as { flash: string | null } | undefined;
        if (row?.flash) db.prepare('UPDATE sessions SET flash = NULL WHERE id_hash = ?').run(idHash);
        return row?.flash ?? null;
      })(),
    createState: (input, ttlMs) => {
      const state = randomToken();
      const t = now();
      db.prepare('DELETE FROM oauth_states WHERE expires_at <= ?').run(t - STATE_KEEP_MS);
      db.prepare(
        'INSERT INTO oauth_states (state_hash, session_hash, server_id, verifier_enc, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(hashToken(state), input.sessionHash, input.serverId, box.seal(input.verifier), t, t + ttlMs);
      return state;
    },
    consumeState: (state, sessionHash) =>
      db.transaction((): OAuthState | { problem: StateProblem } => {
        const row = db.prepare('SELECT * FROM oauth_states WHERE state_hash = ?').get(hashToken(state)) as StateRow | undefined;
        if (!row) return { problem: 'unknown' };
        if (row.used_at !== null) return { problem: 'used' };
        const t = now();
        db.prepare('UPDATE oauth_states SET used_at = ? WHERE state_hash = ?').run(t, row.state_hash);
        return burnedState(row, sessionHash, t, box);
      })(),
  };
}
