/**
 * The transport seam: what the runner asks of an upstream (delivery.ts over
 * SMTP; a Microsoft Graph transport implements the same) and what comes
 * back. A transport only delivers and reports: it resolves with the replies
 * per recipient or rejects with a `DeliveryError`; the runner and the
 * outcomes decide everything else.
 */
import type { Readable } from 'node:stream';
import { TokenError } from '../auth/token-error.js';
import type { Failure } from './classify.js';

export interface RecipientReply {
  address: string;
  code: number;
  reply: string;
}

/**
 * What an attempt used of Microsoft Graph's per-mailbox windows (10,000 requests per 10 minutes,
 * 150 MB of uploads per 5 minutes); a Graph transport reports it, SMTP reports none.
 */
export interface UpstreamUsage {
  /** HTTP requests made to Graph, upload PUTs and retries included. */
  requests: number;
  /** Bytes of request bodies sent (Microsoft counts POST and PUT bodies). */
  uploadedBytes: number;
}

export interface SendResult {
  accepted: RecipientReply[];
  /** Recipients the upstream refused, each with its own reply. */
  rejected: RecipientReply[];
  response: string;
  usage?: UpstreamUsage;
}

export interface Envelope {
  from: string;
  to: string[];
  /** The message's queue ID, for log lines (never sent upstream). */
  queueId?: string;
  /** `BODY=8BITMIME`, as the client declared it. */
  body8bit?: boolean;
  /** `SIZE=`: the message's size as received (RFC 1870 asks for an estimate). */
  size?: number;
}

/** A delivery attempt failed as a whole; `failure` says how. */
export class DeliveryError extends Error {
  readonly failure: Failure;
  /** Per-recipient replies when every recipient was refused. */
  readonly rejected: RecipientReply[];
  /** What the failed attempt used of Graph's windows, when the transport knows. */
  readonly usage: UpstreamUsage | undefined;

  constructor(failure: Failure, rejected: RecipientReply[] = [], usage?: UpstreamUsage) {
    super(failure.kind === 'smtp' ? failure.reply : failure.message);
    this.name = 'DeliveryError';
    this.failure = failure;
    this.rejected = rejected;
    this.usage = usage;
  }
}

/** One email server's way out (delivery.ts over SMTP). */
export interface Upstream {
  /** Sends one message; `raw` opens the bytes to forward (it may be called twice for the auth retry). */
  send(envelope: Envelope, raw: () => Readable): Promise<SendResult>;
  /** Sends one message on a connection of its own, recording the conversation (credentials redacted). */
  sendWithTranscript(envelope: Envelope, raw: () => Readable, transcript: string[]): Promise<SendResult>;
  /** Changes how many connections the upstream may keep open (lowered after a 432 4.3.2). */
  setConnectionLimit(limit: number): void;
  close(): void;
}

/**
 * Turns what an attempt threw into a DeliveryError: a DeliveryError as it is, a TokenError (or an
 * error caused by one) as a token failure, anything else as a network failure with its code.
 */
export function toDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof TokenError) {
    return new DeliveryError({ kind: 'token', code: err.code, transient: err.transient, message: err.message });
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: string; message?: string; cause?: unknown };
  // nodemailer wraps a provisioning failure; the TokenError travels as the cause.
  if (e.cause instanceof TokenError) return toDeliveryError(e.cause);
  return new DeliveryError({ kind: 'network', code: e.code ?? 'ERROR', message: e.message ?? String(err) });
}
