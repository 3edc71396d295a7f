/**
 * The Exchange emulator's public types: settings, faults, what it records, and
 * the running emulator's interface. `startExchange` in exchange.ts builds it.
 */
import type { IdentityEmulator } from './identity.js';
import type { Directory } from './directory.js';
import type { SendAsDeniedVariant } from './exchange-replies.js';
import type { MailboxLimits } from './mailbox-limits.js';

/** Limits and behaviour switches; change them at any time. */
export interface ExchangeSettings {
  /** Authenticated sessions per mailbox that may submit; the next gets 432 4.3.2. Default 3. */
  maxConcurrentPerMailbox: number;
  /** Rolling 24 h recipient limit per mailbox; beyond it 554 5.2.0. Default 10000. */
  recipientsPerDay: number;
  /** Recipients per message; beyond it 452 4.5.3. Default 500. */
  maxRecipientsPerMessage: number;
  /** Largest accepted message in bytes; beyond it 552 5.3.4. Default 35 MiB (mailbox MaxSendSize). */
  maxMessageSize: number;
  /** XOAUTH2 failure: `direct` 535 (as seen from Exchange Online) or a `challenge` 334 first. */
  authFailure: 'direct' | 'challenge';
  /** Also advertise BINARYMIME and CHUNKING (smtp-server cannot do BDAT). Default false. */
  advertiseChunking: boolean;
  /** Wording of a denied Send As: `5.2.252` SendAsDenied (default), older `5.2.0` or `5.7.60`. */
  sendAsDenied: SendAsDeniedVariant;
}

/** Options of `startExchange`. */
export interface ExchangeOptions {
  directory: Directory;
  /** Verifies tokens and supplies the clock. */
  identity: Pick<IdentityEmulator, 'verifyAccessToken' | 'now'>;
  /** Port on 127.0.0.1 (and [::1]); default 0. */
  port?: number;
  /** Name in `[Hostname=...]`; default EMULATOR.prod.outlook.com. */
  hostname?: string;
  settings?: Partial<ExchangeSettings>;
  /** Sessions and daily recipients per mailbox, shared with the Graph emulator; default a new one. */
  mailboxLimits?: MailboxLimits;
}

/** Where a fault strikes: before the greeting, or as the reply to AUTH, MAIL, RCPT or the end of DATA. */
export type SmtpStage = 'connect' | 'auth' | 'mail' | 'rcpt' | 'data';

/** A one-shot fault: a reply line instead of the normal one, or a dropped connection. */
export type SmtpFault = { stage: SmtpStage; count?: number } & (
  | { reply: string }
  /** `keepMessage` (data stage): record the message, then drop without replying. */
  | { drop: true; keepMessage?: boolean }
);

/** An accepted message. */
export interface ReceivedMessage {
  /** The Message-ID Exchange reported in its 250 reply. */
  id: string;
  mailFrom: string;
  /** The MAIL FROM parameters the client gave (`BODY`, `SIZE`, `SMTPUTF8`), keys upper-cased. */
  mailFromArgs: Record<string, string | boolean>;
  rcptTo: string[];
  /** XOAUTH2 `user=`. */
  user: string;
  mailbox: string;
  tokenKind: 'app' | 'delegated';
  principal: string;
  /** The exact DATA bytes (dot-unstuffed, without the final dot line). */
  raw: Buffer;
  receivedAt: Date;
}

/** One AUTH attempt and its reply. */
export interface AuthAttempt {
  method: string;
  user: string;
  ok: boolean;
  reply: string;
  reason?: string;
  tokenKind?: 'app' | 'delegated';
  at: number;
}

/** A running Exchange emulator. */
export interface ExchangeEmulator {
  readonly host: 'localhost';
  readonly port: number;
  readonly hostname: string;
  readonly settings: ExchangeSettings;
  readonly messages: ReceivedMessage[];
  /** Every AUTH command answered, those refused by an injected `auth` fault included. */
  readonly authAttempts: AuthAttempt[];
  /** Connections accepted so far. */
  readonly connections: number;
  /** Most simultaneous authenticated sessions seen per mailbox. */
  readonly peakConcurrentByMailbox: Map<string, number>;
  /** Authenticated sessions open now for `mailbox`. */
  activeSessions(mailbox: string): number;
  /** Resolves with the messages once at least `count` were accepted; rejects after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  failNext(fault: SmtpFault): void;
  clearFaults(): void;
  /** Rejects RCPT TO `address` with `reply` (default 550 5.1.10 RecipientNotFound) until cleared. */
  rejectRecipient(address: string, reply?: string): void;
  clearRecipientRejections(): void;
  /** Makes every further submission of `mailbox` fail with 554 5.2.0 SubmissionQuotaExceeded. */
  exceedQuota(mailbox: string): void;
  /** Forgets quota triggers and counted recipients (of one mailbox, or all). */
  resetQuota(mailbox?: string): void;
  /** Recipients counted for `mailbox` in the last 24 hours. */
  recipientsLastDay(mailbox: string): number;
  close(): Promise<void>;
}
