/**
 * Admin panel sessions, their flash messages and the OAuth states of
 * Authorize Account sign-ins, in PostgreSQL: the same repository as
 * src/store/sessions.ts, whose pure rules (lifetimes, what a state's use
 * answers) both engines share. Several instances may serve one panel: a
 * flash is shown once, and a state is burned by exactly one of two callbacks
 * that bring it back at once.
 */
import type { Async } from '../async.js';
import {
  burnedState,
  newSession,
  sessionSeen,
  STATE_KEEP_MS,
  toSession,
  type SessionRepo,
  type SessionRow,
  type StateRow,
} from '../sessions.js';
import { hashToken, randomToken } from '../users.js';
import type { PgContext } from './context.js';

const SESSION_COLUMNS = 'id_hash, user_id, created_at, last_seen_at, expires_at';

/** Creates the repository; `box` seals the PKCE verifiers. */
export function createPgSessionsRepo({ pg, box, now, sessionTimes }: PgContext): Async<SessionRepo> {
  return {
    create: async (userId) => {
      const t = now();
      const { id, row } = newSession(userId, t, sessionTimes);
      await pg.run('DELETE FROM sessions WHERE expires_at <= $1', [t]);
      await pg.run(`INSERT INTO sessions (${SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)`, [
        row.id_hash,
        row.user_id,
        row.created_at,
        row.last_seen_at,
        row.expires_at,
      ]);
      return { id, session: toSession(row) };
    },
    touch: async (id) => {
      const row = await pg.row<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id_hash = $1`, [hashToken(id)]);
      if (!row) return undefined;
      const seen = sessionSeen(row, now(), sessionTimes);
      if (seen === 'expired') {
        await pg.run('DELETE FROM sessions WHERE id_hash = $1', [row.id_hash]);
        return undefined;
      }
      if (seen === 'current') return toSession(row);
      // RETURNING: a session another instance ended since the SELECT (sign-out, new password) stays ended.
      const extended = await pg.row<SessionRow>(
        `UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id_hash = $3 RETURNING ${SESSION_COLUMNS}`,
        [seen.last_seen_at, seen.expires_at, seen.id_hash],
      );
      return extended ? toSession(extended) : undefined;
    },
    destroy: async (id) => {
      await pg.run('DELETE FROM sessions WHERE id_hash = $1', [hashToken(id)]);
    },
    setFlash: async (idHash, flash) => {
      await pg.run('UPDATE sessions SET flash = $1 WHERE id_hash = $2', [flash, idHash]);
    },
    // The row lock makes a flash read by two requests at once (two instances) show only once.
    takeFlash: (idHash) =>
      pg.tx(async (sql) => {
        const row = await sql.row<{ flash: string | null }>('SELECT flash FROM sessions WHERE id_hash = $1 FOR UPDATE', [idHash]);
        if (row?.flash) await sql.run('UPDATE sessions SET flash = NULL WHERE id_hash = $1', [idHash]);
        return row?.flash ?? null;
      }),
    createState: async (input, ttlMs) => {
      const state = randomToken();
      const t = now();
      await pg.run('DELETE FROM oauth_states WHERE expires_at <= $1', [t - STATE_KEEP_MS]);
      await pg.run(
        `INSERT INTO oauth_states (state_hash, session_hash, server_id, verifier_enc, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [hashToken(state), input.sessionHash, input.serverId, box.seal(input.verifier), t, t + ttlMs],
      );
      return state;
    },
    consumeState: async (state, sessionHash) => {
      const stateHash = hashToken(state);
      const t = now();
      // Burned in one statement: of two callbacks bringing the state back at once (on two instances),
      // the second waits for the first's row lock, then finds used_at set and burns nothing.
      const burned = await pg.row<StateRow>('UPDATE oauth_states SET used_at = $1 WHERE state_hash = $2 AND used_at IS NULL RETURNING *', [
        t,
        stateHash,
      ]);
      if (burned) return burnedState(burned, sessionHash, t, box);
      const known = await pg.row('SELECT 1 FROM oauth_states WHERE state_hash = $1', [stateHash]);
      return { problem: known ? 'used' : 'unknown' };
    },
  };
}
