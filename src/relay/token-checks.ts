/**
 * Token checks outside deliveries: a server that showed a token problem is
 * checked again as soon as its settings change, and an idle Authorize Account
 * token is refreshed once a day so it never lapses (AADSTS700082). Their
 * promises never reject: a failure to record the outcome is logged as an alert.
 */
import { toTokenError } from '../auth/token-error.js';
import type { Logger } from '../log.js';
import type { Link, Member } from './lane.js';
import type { Outcomes } from './outcomes.js';

/** A delegated refresh token is used at least this often, so it never lapses (AADSTS700082). */
export const KEEPALIVE_MS = 24 * 60 * 60_000;

export interface TokenCheckDeps {
  log: Logger;
  members: Map<number, Member>;
  ensureLink: (member: Member) => Promise<Link | null>;
  outcomes: Pick<Outcomes, 'holdLane' | 'markWorking'>;
}

export interface TokenChecks {
  /** Checks the token of a server that shows a token problem, with its current settings (the token request goes on in the background). */
  recheck(member: Member): Promise<void>;
  /** Refreshes an idle Authorize Account token when a day has passed since the last refresh (in the background). */
  keepAlive(member: Member, t: number): Promise<void>;
}

/** Creates the checks. */
export function createTokenChecks({ log, members, ensureLink, outcomes }: TokenCheckDeps): TokenChecks {
  const { holdLane, markWorking } = outcomes;

  /**
   * A server that shows a token problem is checked again at once with its new settings, so a fix
   * shows without waiting for mail; an SMTP problem (5.7.139 and the like) shows again on the next delivery.
   */
  const recheck = async (member: Member): Promise<void> => {
    const { server } = member;
    const smtpProblem = /^\d\.\d{1,3}\.\d{1,3}$/.test(server.statusCode ?? '');
    // Only a problem that was shown is checked again (a server never authorized has nothing to re-check).
    if (server.method !== 'office365' || server.status === 'authorized' || server.statusCode === null || smtpProblem) return;
    const generation = member.generation;
    const current = (): boolean => members.get(server.id) === member && member.generation === generation;
    const link = await ensureLink(member);
    const lost = (code: string): 'not_authorized' | 'error' =>
      server.signInMode === 'authorize' || ['not_configured', 'no_account'].includes(code) ? 'not_authorized' : 'error';
    if (!link?.conn.tokens) {
      const error = member.connError;
      if (error) await holdLane(member, error.message, error.code, error.hint, lost(error.code));
      return;
    }
    void link.conn.tokens
      .getAccessToken()
      .then(
        async () => {
          if (current()) await markWorking(member, link.conn);
        },
        async (err: unknown) => {
          const error = toTokenError(err);
          if (!error.transient && current()) await holdLane(member, error.message, error.code, error.hint, lost(error.code));
        },
      )
      .catch((err: unknown) =>
        log.error('cannot record a settings check', { alert: true, server: server.name, error: (err as Error).message }),
      );
  };

  /** Refreshes an idle Authorize Account token once a day; a refusal holds the server like a failed delivery. */
  const keepAlive = async (member: Member, t: number): Promise<void> => {
    const server = member.server;
    if (server.signInMode !== 'authorize' || !server.authorizedAccount || member.held || member.keepAliveRunning) return;
    const tokens = (await ensureLink(member))?.conn.tokens;
    if (!tokens || t - (tokens.refreshedAt ?? server.tokenRefreshedAt ?? 0) < KEEPALIVE_MS) return;
    member.keepAliveRunning = true;
    const generation = member.generation;
    const current = (): boolean => members.get(server.id) === member && member.generation === generation;
    void tokens
      .getAccessToken({ forceRefresh: true })
      .then(
        async () => {
          if (current()) await markWorking(member, member.link?.conn ?? null);
        },
        async (err: unknown) => {
          const error = toTokenError(err);
          if (!error.transient && current()) await holdLane(member, error.message, error.code, error.hint, 'not_authorized');
        },
      )
      .catch((err: unknown) =>
        log.error('cannot record a token refresh', { alert: true, server: server.name, error: (err as Error).message }),
      )
      .finally(() => {
        member.keepAliveRunning = false;
      });
  };

  return { recheck, keepAlive };
}
