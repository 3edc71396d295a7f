/**
 * Step 2 of `relay365 doctor`: is this machine's clock right? Tokens carry
 * `nbf` and `exp` in Microsoft's time; a clock minutes off makes relay365 use
 * tokens Exchange thinks expired, or not yet valid. The reference is the `Date`
 * header of the identity platform's answer to the server's OpenID
 * configuration (any answer has one, even an error for an unknown tenant).
 */
import { authorityFor } from '../auth/msal-client.js';
import type { EmailServer } from '../store/servers.js';
import { failed, passed, type DoctorStep } from './report.js';

/** Beyond this the clock step fails: Entra itself tolerates about five minutes. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface ClockOutcome {
  step: DoctorStep;
  /** False when the identity platform could not be reached: the token step cannot run. */
  reachable: boolean;
}

/** The most useful words of a failed fetch: the cause's code (ENOTFOUND, CERT_HAS_EXPIRED) or message. */
export function fetchProblem(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if ((err as Error).name === 'TimeoutError') return 'no answer in time';
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

function describeSkew(ms: number): string {
  const seconds = Math.round(Math.abs(ms) / 1000);
  const amount = seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
  if (seconds === 0) return '0 s';
  return `${amount} ${ms > 0 ? 'ahead of' : 'behind'}`;
}

/** Compares `now()` with the identity platform's clock. */
export async function clockStep(server: EmailServer, now: () => number, timeoutMs: number): Promise<ClockOutcome> {
  const url = `${authorityFor(server)}v2.0/.well-known/openid-configuration`;
  const host = new URL(url).origin;
  const sentAt = now();
  let date: string | null;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    date = res.headers.get('date');
    await res.body?.cancel();
  } catch (err) {
    const problem = fetchProblem(err);
    return {
      reachable: false,
      step: failed(
        'clock',
        `could not reach the identity platform at ${host}: ${problem}`,
        [{ name: 'identity platform', saw: problem, want: `an answer from ${host}`, ok: false }],
        'The identity platform cannot be reached',
        `Check that this machine resolves and reaches ${new URL(url).host} over HTTPS (DNS, firewall, proxy), and the Office 365 Cloud setting. relay365 needs it for every token.`,
      ),
    };
  }
  const answeredAt = now();
  const theirs = date === null ? Number.NaN : Date.parse(date);
  if (Number.isNaN(theirs)) {
    return { reachable: true, step: passed('clock', `${host} sent no usable Date header; the clock could not be compared`) };
  }
  // The header has whole seconds; the midpoint of the request stands for the moment it was written.
  const skew = (sentAt + answeredAt) / 2 - theirs - 500;
  const ok = Math.abs(skew) <= MAX_CLOCK_SKEW_MS;
  const check = {
    name: 'clock skew',
    saw: `${describeSkew(skew)}${Math.round(Math.abs(skew) / 1000) === 0 ? '' : ' the identity platform'} (local ${new Date(answeredAt).toISOString()}, ${host} ${new Date(theirs).toISOString()})`,
    want: `within ${MAX_CLOCK_SKEW_MS / 60_000} minutes`,
    ok,
  };
  if (ok) return { reachable: true, step: passed('clock', `this clock is ${describeSkew(skew)} from the identity platform's`, [check]) };
  return {
    reachable: true,
    step: failed(
      'clock',
      `this clock is ${describeSkew(skew)} the identity platform's`,
      [check],
      "The clock is off: tokens look expired or not yet valid (their nbf and exp are in Microsoft's time)",
      'Turn on time synchronisation (e.g. timedatectl set-ntp true, or chrony/ntpd pointed at a reachable time server) and check the time zone setting.',
    ),
  };
}
