/**
 * Exchange Online's per-mailbox sending limits as the emulator keeps them:
 * authenticated sessions per mailbox (only the first N may submit, in the order
 * they authenticated) and recipients in a rolling 24 hours, plus a switch that
 * makes the daily quota count as exhausted.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

/** Session and quota bookkeeping of the Exchange emulator. */
export class MailboxLimits {
  /** Most simultaneous authenticated sessions seen per mailbox. */
  readonly peakConcurrent = new Map<string, number>();
  private readonly sessions = new Map<string, string[]>();
  private readonly submissions = new Map<string, Array<{ at: number; recipients: number }>>();
  private readonly exhausted = new Set<string>();

  constructor(private readonly now: () => number) {}

  /** Counts an authenticated session of `mailbox`. */
  openSession(mailbox: string, sessionId: string): void {
    const list = this.sessions.get(mailbox) ?? [];
    list.push(sessionId);
    this.sessions.set(mailbox, list);
    this.peakConcurrent.set(mailbox, Math.max(this.peakConcurrent.get(mailbox) ?? 0, list.length));
  }

  /** Forgets a session that ended. */
  closeSession(mailbox: string, sessionId: string): void {
    const list = this.sessions.get(mailbox);
    const index = list?.indexOf(sessionId) ?? -1;
    if (list && index >= 0) list.splice(index, 1);
  }

  /** Authenticated sessions of `mailbox` open now. */
  activeSessions(mailbox: string): number {
    return this.sessions.get(mailbox)?.length ?? 0;
  }

  /** True when the session is among the first `max` sessions of its mailbox. */
  maySubmit(mailbox: string, sessionId: string, max: number): boolean {
    const rank = this.sessions.get(mailbox)?.indexOf(sessionId) ?? -1;
    return rank >= 0 && rank < max;
  }

  /** Counts an accepted message's recipients against the daily quota. */
  recordSubmission(mailbox: string, recipients: number): void {
    const list = this.submissions.get(mailbox) ?? [];
    list.push({ at: this.now(), recipients });
    this.submissions.set(mailbox, list);
  }

  /** Recipients submitted by `mailbox` in the last 24 hours. */
  recipientsLastDay(mailbox: string): number {
    const since = this.now() - DAY_MS;
    return (this.submissions.get(mailbox) ?? []).filter((s) => s.at > since).reduce((sum, s) => sum + s.recipients, 0);
  }

  /** True when `recipients` more would go over `perDay`, or the quota was marked exhausted. */
  overQuota(mailbox: string, recipients: number, perDay: number): boolean {
    return this.exhausted.has(mailbox) || this.recipientsLastDay(mailbox) + recipients > perDay;
  }

  /** Marks the daily quota of `mailbox` as exhausted. */
  exhaust(mailbox: string): void {
    this.exhausted.add(mailbox);
  }

  /** Forgets quota marks and counted recipients (of one mailbox, or all). */
  resetQuota(mailbox?: string): void {
    if (mailbox === undefined) {
      this.exhausted.clear();
      this.submissions.clear();
      return;
    }
    this.exhausted.delete(mailbox);
    this.submissions.delete(mailbox);
  }
}
