/**
 * The Graph emulator's public types: settings, faults, what it records (requests,
 * sent messages, drafts) and the running emulator's interface. `startGraph` in
 * graph.ts builds it.
 */
import type { Directory } from './directory.js';
import type { RequestTooLargeCode, UnknownUserCode } from './graph-errors.js';
import type { IdentityEmulator } from './identity-types.js';
import type { MailboxLimits } from './mailbox-limits.js';

/** Limits and behaviour switches; change them at any time. */
export interface GraphSettings {
  /** Largest request body in bytes; beyond it 413. Default 4,194,304 (Graph's 4 MB). */
  maxRequestBytes: number;
  /** Code of that 413: `RequestBodyTooLarge` (default) or `ErrorMessageSizeExceeded`. */
  requestTooLargeCode: RequestTooLargeCode;
  /** Largest message a mailbox sends (MIME size, or a draft's estimate); beyond it 413 ErrorMessageSizeExceeded. Default 35 MiB. */
  maxMessageSize: number;
  /** Requests in flight at once per concurrency key; the next gets 429 MailboxConcurrency. Default 4. */
  maxConcurrentRequests: number;
  /** The concurrency key: `app` (per app across its mailboxes, default) or `mailbox` (per app and mailbox). */
  concurrencyScope: 'app' | 'mailbox';
  /** Retry-After of a concurrency 429, in seconds. Default 1. */
  concurrencyRetryAfterSeconds: number;
  /** Requests per app and mailbox within `requestWindowSeconds`; beyond it 429. Default 10,000. */
  requestsPerWindow: number;
  /** Default 600 (10 minutes). */
  requestWindowSeconds: number;
  /** Request body bytes (POST, PUT, PATCH) per app and mailbox within `uploadWindowSeconds`; beyond it 429 IncomingBytes. Default 150 MiB. */
  uploadBytesPerWindow: number;
  /** Default 300 (5 minutes). */
  uploadWindowSeconds: number;
  /** Recipients per mailbox in a rolling 24 hours (counted with SMTP's); beyond it 429 ErrorSubmissionQuotaExceeded. Default 10,000. */
  recipientsPerDay: number;
  /** A MIME message whose only recipients are in Bcc: `reject` with ErrorInvalidRecipients (default, as reported) or `deliver`. */
  bccOnlyMime: 'reject' | 'deliver';
  /** An unknown mailbox in a mail request: `ErrorInvalidUser` (default) or `ResourceNotFound`, both 404. */
  unknownUserError: UnknownUserCode;
  /** createUploadSession refuses smaller attachments (ErrorAttachmentSizeShouldNotBeLessThanMinimumSize). Default 3 MiB. */
  uploadSessionMinBytes: number;
  /** Byte ranges other than the last must be a multiple of this. Default 327,680 (320 KiB). */
  uploadChunkMultiple: number;
  /** Lifetime of an upload URL. Default 7200 s. */
  uploadSessionLifetimeSeconds: number;
}

/** Options of `startGraph`. */
export interface GraphOptions {
  directory: Directory;
  /** Verifies tokens, supplies the clock and takes the Graph URL as a token resource. */
  identity: Pick<IdentityEmulator, 'verifyAccessToken' | 'now' | 'graphResources'>;
  /** Recipients per mailbox shared with the Exchange emulator; default a new one. */
  mailboxLimits?: MailboxLimits;
  /** Port on 127.0.0.1 (and [::1]); default 0. */
  port?: number;
  settings?: Partial<GraphSettings>;
}

/** The requests the emulator knows, by name. */
export type GraphRoute =
  'sendMail' | 'getUser' | 'createDraft' | 'addAttachment' | 'createUploadSession' | 'upload' | 'cancelUpload' | 'sendDraft';

/**
 * A one-shot fault for the next matching request (any route unless given): an
 * answer with that status (Graph's code and message for it unless given, and
 * Retry-After when given), or a dropped connection.
 */
export type GraphFault = { route?: GraphRoute; count?: number } & (
  { status: number; code?: string; message?: string; retryAfterSeconds?: number } | { drop: true }
);

/** One request to the Graph emulator. */
export interface GraphRequestRecord {
  method: string;
  /** The path, without the query (upload URLs carry their token there). */
  path: string;
  route?: GraphRoute;
  /** When it arrived, on the emulator's clock (epoch ms). */
  at: number;
  /** The answer's status; 0 for a dropped connection (or while unanswered). */
  status: number;
  /** Graph error code of a failure. */
  code?: string;
  retryAfterSeconds?: number;
  /** The app of the token (or of the upload session). */
  clientId?: string;
  tokenKind?: 'app' | 'delegated';
  /** The mailbox addressed, lower case (the path's id when it names no mailbox). */
  mailbox?: string;
  /** Request body bytes received. */
  bytes: number;
  /** The request carried an Authorization header. */
  authorization: boolean;
  /** Requests of its concurrency key in flight when it arrived, itself included (0 before that point). */
  concurrent: number;
}

/** An attachment of a sent message or a draft. */
export interface GraphAttachment {
  name: string;
  contentType: string;
  bytes: Buffer;
  isInline: boolean;
  contentId?: string;
}

/** A message Graph accepted (202) and would deliver. */
export interface GraphMessage {
  id: string;
  /** MIME sendMail, JSON sendMail, or a draft sent with /send. */
  via: 'mime' | 'json' | 'draft';
  /** The sending mailbox (lower case). */
  mailbox: string;
  tokenKind: 'app' | 'delegated';
  /** The app's client id, or the signed-in user's UPN. */
  principal: string;
  /** The From address (the mailbox when the message named none). */
  from: string;
  /** Who it is delivered to: To, Cc and Bcc, each address once, lower case. */
  recipients: string[];
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  body: { contentType: 'text' | 'html'; content: string };
  attachments: GraphAttachment[];
  /** The MIME message as received (decoded from base64), for MIME sends. */
  raw?: Buffer;
  /** A copy was kept in Sent Items (always for MIME and drafts; `saveToSentItems` for JSON). */
  savedToSentItems: boolean;
  receivedAt: Date;
}

/** A draft created with POST /messages and not yet sent. */
export interface GraphDraft {
  id: string;
  mailbox: string;
  clientId: string;
  subject: string;
  attachments: GraphAttachment[];
  /** Upload sessions opened for it, finished or not. */
  uploads: GraphUploadSession[];
  createdAt: number;
}

/** An attachment upload session and its progress. */
export interface GraphUploadSession {
  id: string;
  draftId: string;
  name: string;
  contentType: string;
  size: number;
  /** Bytes received so far (the next expected offset). */
  received: number;
  expiresAt: number;
  completed: boolean;
}

/** A running Graph emulator. */
export interface GraphEmulator {
  readonly host: 'localhost';
  readonly port: number;
  /** `https://localhost:PORT`: the Custom cloud's Graph Endpoint, also accepted as the token resource. */
  readonly graphUrl: string;
  readonly settings: GraphSettings;
  readonly messages: GraphMessage[];
  /** Every request, in order of arrival. */
  readonly requests: GraphRequestRecord[];
  /** Drafts not yet sent. */
  readonly drafts: GraphDraft[];
  /** Most requests of one concurrency key in flight at once, over the emulator's life. */
  readonly peakConcurrency: number;
  /** The same per concurrency key (client id, or `clientId mailbox` with `concurrencyScope: 'mailbox'`). */
  readonly peakConcurrencyByKey: ReadonlyMap<string, number>;
  /** Requests in flight now (all keys). */
  inFlight(): number;
  /** Messages of `mailbox` kept in Sent Items. */
  sentItems(mailbox: string): GraphMessage[];
  /** Resolves with the messages once at least `count` were accepted; rejects after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<GraphMessage[]>;
  /**
   * Resolves once at least `count` requests arrived (each has passed the concurrency and
   * rate checks by then, or been refused by them); rejects after `timeoutMs`.
   */
  waitForRequests(count: number, timeoutMs?: number): Promise<GraphRequestRecord[]>;
  /** Resolves once at least `count` requests are in flight; rejects after `timeoutMs`. */
  waitForInFlight(count: number, timeoutMs?: number): Promise<void>;
  /**
   * Holds every request admitted from now on (past the concurrency and rate checks)
   * until `release()`, so tests can see how many a client keeps in flight.
   */
  holdRequests(): { release(): void };
  failNext(fault: GraphFault): void;
  clearFaults(): void;
  /** Makes every further send of `mailbox` fail with 429 ErrorSubmissionQuotaExceeded. */
  exceedQuota(mailbox: string): void;
  /** Forgets quota triggers and counted recipients (of one mailbox, or all). */
  resetQuota(mailbox?: string): void;
  /** Recipients counted for `mailbox` in the last 24 hours (Graph and SMTP). */
  recipientsLastDay(mailbox: string): number;
  close(): Promise<void>;
}
