/**
 * What needs a person's attention, computed from state rather than from log
 * lines: one pure function over a snapshot of the store. Each condition has a
 * stable key, so the engine can tell a new alert from one that still lasts,
 * and says which email server it concerns, Microsoft's code and the fix from
 * the same hint table the relay shows (src/auth/hints.ts).
 */
import { AADSTS_HINTS, hintForSmtpReply, hintForTokenError, type Hint } from '../auth/hints.js';
import { CREDENTIAL_NAMES, credentialExpiry, daysLeft, type CredentialExpiry } from '../auth/secret-expiry.js';
import type { AlertContent } from '../store/alerts.js';
import type { ServerStatus } from '../store/servers.js';

/** A condition that holds now; the engine fires, repeats and resolves alerts from these. */
export interface ActiveCondition extends AlertContent {
  /** Keys of alerts about the same problem that this one takes the place of: they end without a resolved notice. */
  replaces?: readonly string[];
}

/**
 * Client secret (or certificate) expiry thresholds, widest first, with their severity as in
 * deploy/prometheus/relay365-rules.yml (30 days a warning, 7 days critical).
 * A server has one expiry alert, at the nearest threshold reached.
 */
export const SECRET_EXPIRY_STAGES = [
  { days: 30, severity: 'warning' },
  { days: 7, severity: 'critical' },
  { days: 1, severity: 'critical' },
] as const;

export interface ServerFacts {
  id: number;
  name: string;
  method: string;
  status: ServerStatus;
  statusCode: string | null;
  statusMessage: string | null;
  /** "meaning. fix" as the relay stored it with the status. */
  statusHint: string | null;
  /** `Office 365 Client Secret Expires`, YYYY-MM-DD. */
  clientSecretExpires: string | null;
  /** When the Office 365 Client Certificate expires (ms); null without one. It signs in instead of the secret. */
  clientCertificateExpiresAt: number | null;
  /** Messages held for this server. */
  held: number;
}

/** What the conditions read, taken from the store at one moment. */
export interface AlertSnapshot {
  servers: ServerFacts[];
  oldestWaiting: { id: string; receivedAt: number; status: string; serverName: string | null; lastReply: string | null } | null;
  failuresLastHour: { count: number; lastReply: string | null; serverName: string | null };
  lockouts: { address: string; lockedUntil: number; strikes: number; lastUsername: string | null }[];
}

/** The thresholds the conditions use (the panel's alert settings). */
export interface ConditionSettings {
  /** The oldest waiting message alerts once older than this. */
  oldestMinutes: number;
  /** Failed messages within the last hour that raise an alert. */
  failuresPerHour: number;
}

/** Microsoft's code in a reply: an AADSTS number or an enhanced SMTP status code. */
export function codeInReply(reply: string | null): string | null {
  if (!reply) return null;
  return /AADSTS\d+/.exec(reply)?.[0] ?? /\b[245]\.\d{1,3}\.\d{1,3}\b/.exec(reply)?.[0] ?? null;
}

/** The hint for a stored server status: its AADSTS or OAuth code first, then the SMTP reply. */
function statusHint(code: string | null, message: string | null): Hint | null {
  const aadsts = /^AADSTS(\d+)$/.exec(code ?? '')?.[1] ?? null;
  return hintForTokenError(aadsts, aadsts ? null : code) ?? (message ? hintForSmtpReply(message) : null);
}

/** Whether a server's status is a problem: an error, or Not Authorized after a refusal (a new server has no code yet). */
export function statusBroken(server: Pick<ServerFacts, 'status' | 'statusCode'>): boolean {
  return server.status === 'error' || (server.status === 'not_authorized' && server.statusCode !== null);
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function serverCondition(server: ServerFacts): ActiveCondition | null {
  const broken = statusBroken(server);
  if (!broken && server.held === 0) return null;
  const hint = statusHint(server.statusCode, server.statusMessage);
  const heldText = server.held > 0 ? `${plural(server.held, 'message')} held until it is fixed.` : null;
  const title = !broken
    ? `Email server ${server.name} holds ${plural(server.held, 'message')}`
    : server.status === 'not_authorized'
      ? `Email server ${server.name} lost its authorization`
      : `Email server ${server.name} cannot authenticate`;
  const what = [hint?.meaning, server.statusMessage].filter(Boolean).join(': ');
  return {
    key: `server:${server.id}:authorization`,
    severity: 'critical',
    title,
    server: server.name,
    code: server.statusCode,
    fix: hint?.fix ?? server.statusHint,
    detail: [what, heldText].filter(Boolean).join(' — ') || null,
    repeats: true,
  };
}

const expiryKey = (server: ServerFacts, expiry: CredentialExpiry, days: number): string =>
  `server:${server.id}:${expiry.credential}-expiry:${days}`;

/** What an expiry alert says about each credential: Microsoft's code once expired, the fix and the setting. */
const EXPIRY_TEXTS = {
  secret: {
    code: 'AADSTS7000222',
    fix: (AADSTS_HINTS['7000222'] as Hint).fix,
    detail: (expires: string) => `Office 365 Client Secret Expires is ${expires}`,
  },
  certificate: {
    code: 'AADSTS700027',
    fix: 'Create a new certificate, upload it to the app registration (Certificates & secrets → Certificates), then save it with its private key as Office 365 Client Certificate.',
    detail: (expires: string) => `Office 365 Client Certificate is valid until ${expires}`,
  },
} as const;

function secretCondition(server: ServerFacts, now: number): ActiveCondition | null {
  // Counted as the panel's banner counts it.
  const expiry = credentialExpiry(server);
  if (!expiry) return null;
  const left = daysLeft(expiry, now);
  const stage = SECRET_EXPIRY_STAGES.filter(({ days }) => left <= days).at(-1);
  if (!stage) return null;
  const when = left > 1 ? `expires in ${left} days` : left === 1 ? 'expires tomorrow' : left === 0 ? 'expires today' : 'has expired';
  const texts = EXPIRY_TEXTS[expiry.credential];
  return {
    key: expiryKey(server, expiry, stage.days),
    severity: stage.severity,
    title: `The ${CREDENTIAL_NAMES[expiry.credential]} of ${server.name} ${when} (${expiry.expires})`,
    server: server.name,
    code: left < 0 ? texts.code : null,
    fix: `${texts.fix} Mail stops when it expires.`,
    detail: `${texts.detail(expiry.expires)}, within the ${stage.days}-day threshold (${stage.severity}).`,
    repeats: false,
    replaces: SECRET_EXPIRY_STAGES.filter(({ days }) => days !== stage.days).map(({ days }) => expiryKey(server, expiry, days)),
  };
}

function minutesText(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  return minutes >= 120 ? `${Math.floor(minutes / 60)} hours` : plural(minutes, 'minute');
}

function queueCondition(oldest: AlertSnapshot['oldestWaiting'], settings: ConditionSettings, now: number): ActiveCondition | null {
  if (!oldest || now - oldest.receivedAt < settings.oldestMinutes * 60_000) return null;
  const hint = oldest.lastReply ? hintForSmtpReply(oldest.lastReply) : null;
  return {
    key: 'queue:oldest',
    severity: 'warning',
    title: `Mail has been waiting for ${minutesText(now - oldest.receivedAt)}`,
    server: oldest.serverName,
    code: codeInReply(oldest.lastReply),
    fix: hint?.fix ?? 'Open the relay log, look at the oldest waiting message and its last reply, and fix what it names.',
    detail: `The oldest waiting message is ${oldest.id} (${oldest.status}${oldest.serverName ? `, for ${oldest.serverName}` : ''}), received ${new Date(oldest.receivedAt).toISOString()}${
      oldest.lastReply ? `; last reply: ${oldest.lastReply}` : ''
    }. Alert threshold: ${plural(settings.oldestMinutes, 'minute')}.`,
    repeats: true,
  };
}

function failureCondition(failures: AlertSnapshot['failuresLastHour'], settings: ConditionSettings): ActiveCondition | null {
  if (failures.count < settings.failuresPerHour) return null;
  const hint = failures.lastReply ? hintForSmtpReply(failures.lastReply) : null;
  return {
    key: 'failures:hour',
    severity: 'warning',
    title: `${plural(failures.count, 'message')} failed within the last hour`,
    server: failures.serverName,
    code: codeInReply(failures.lastReply),
    fix: hint?.fix ?? 'Open the relay log filtered by status failed and fix what the replies name.',
    detail: `Alert threshold: ${plural(settings.failuresPerHour, 'failed message')} an hour.${
      failures.serverName ? ` The newest failed through ${failures.serverName}.` : ''
    }${failures.lastReply ? ` The last reply: ${failures.lastReply}` : ''}`,
    repeats: true,
  };
}

function lockoutCondition(lockout: AlertSnapshot['lockouts'][number]): ActiveCondition {
  return {
    key: `lockout:${lockout.address}`,
    severity: 'warning',
    title: `Client address ${lockout.address} is locked out of SMTP AUTH`,
    server: null,
    code: null,
    fix: 'Put the right relay user password into the device at this address (or find who guesses passwords), then Unlock it on the Relay users page.',
    detail: `Too many wrong passwords${lockout.lastUsername ? ` (last username tried: ${lockout.lastUsername})` : ''}; locked until ${new Date(
      lockout.lockedUntil,
    ).toISOString()}, lockout ${lockout.strikes} in a row.`,
    repeats: true,
  };
}

/** Every condition that holds in `snapshot` at `now`, each under its stable key. */
export function evaluate(snapshot: AlertSnapshot, settings: ConditionSettings, now: number): ActiveCondition[] {
  const conditions: (ActiveCondition | null)[] = [];
  for (const server of snapshot.servers) {
    conditions.push(serverCondition(server), secretCondition(server, now));
  }
  conditions.push(queueCondition(snapshot.oldestWaiting, settings, now), failureCondition(snapshot.failuresLastHour, settings));
  conditions.push(...snapshot.lockouts.filter((l) => l.lockedUntil > now).map(lockoutCondition));
  return conditions.filter((c): c is ActiveCondition => c !== null);
}
