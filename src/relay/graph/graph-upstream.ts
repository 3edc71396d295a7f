/**
 * The Microsoft Graph transport (upstream.ts), for email servers whose
 * `Office 365 Send Via` is graph. A message goes as MIME, its header block
 * rewritten so that To, Cc and Bcc name exactly the envelope's recipients
 * (recipients.ts), with sendMail: `/users/{Mailbox}` for Application sign-in,
 * `/me` for Authorize Account. One request carries at most 4 MB, which is
 * about 3 MB of MIME once base64-encoded; a larger message, and one whose
 * recipients are all Bcc, goes as Graph's JSON message (large-message.ts).
 * Graph accepts or refuses a message as a whole: 202 delivers every
 * recipient, an error answer is a DeliveryError with the requests it cost.
 */
import { Readable } from 'node:stream';
import { graphEndpoint } from '../../auth/clouds.js';
import type { TokenProvider } from '../../auth/token-provider.js';
import type { Logger } from '../../log.js';
import type { EmailServer } from '../../store/servers.js';
import { DeliveryError, toDeliveryError, type Envelope, type SendResult, type Upstream } from '../upstream.js';
import { createGraphClient, type GraphAnswer, type GraphSession } from './graph-client.js';
import { sendAsJson, sendViaDraft } from './large-message.js';
import { withEnvelopeRecipients, type RecipientPlan } from './recipients.js';

/**
 * Largest MIME message sent in one sendMail request: its base64 (4/3 of it) stays under Graph's
 * 4 MB request limit, whether Microsoft means 4,000,000 or 4,194,304 bytes, with a margin.
 */
export const MIME_REQUEST_LIMIT = 2_900_000;

export interface GraphUpstreamOptions {
  server: EmailServer;
  tokens: TokenProvider;
  log: Logger;
  now: () => number;
}

/** Where the server's mail is sent from: the mailbox for Application sign-in, the signed-in user (or a mailbox it may use) otherwise. */
export function mailboxPath(server: Pick<EmailServer, 'signInMode' | 'mailbox' | 'authorizedAccount'>): string {
  const { signInMode, mailbox, authorizedAccount } = server;
  const other = mailbox !== null && mailbox.toLowerCase() !== (authorizedAccount ?? '').toLowerCase();
  // `@` stays as it is, as Microsoft's examples write a user principal name in the path.
  if (signInMode === 'application' || (other && authorizedAccount !== null)) {
    return `/v1.0/users/${encodeURIComponent(mailbox ?? '').replace(/%40/g, '@')}`;
  }
  return '/v1.0/me';
}

/** The message's bytes if they are at most `limit`, else null (the stream is left unread). */
async function readUpTo(source: Readable, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      source.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Creates the Graph upstream for one email server. */
export function createGraphUpstream({ server, tokens, log, now }: GraphUpstreamOptions): Upstream {
  // Held for a permission: the fix (admin consent) shows only in a new token.
  const staleToken = server.statusCode === 'ErrorAccessDenied';
  const client = createGraphClient({ endpoint: graphEndpoint(server), tokens, server: server.name, log, now, staleToken });
  const base = mailboxPath(server);

  /** Sends one message in the session's requests; resolves with Graph's answer to the request that sent it. */
  const sendMessage = async (session: GraphSession, envelope: Envelope, raw: () => Readable): Promise<GraphAnswer> => {
    const rewritten: { plan?: RecipientPlan } = {};
    const open = (): Readable =>
      withEnvelopeRecipients(raw(), envelope.to, (plan) => {
        rewritten.plan = plan;
      });
    const small = await readUpTo(open(), MIME_REQUEST_LIMIT);
    if (small === null) return sendViaDraft(session, base, open);
    if (rewritten.plan && rewritten.plan.to.length + rewritten.plan.cc.length > 0) {
      return session.send({
        step: 'sendMail',
        method: 'POST',
        url: `${base}/sendMail`,
        body: small.toString('base64'),
        contentType: 'text/plain',
      });
    }
    // Only Bcc recipients: Exchange would ignore the Bcc field of a MIME message without To or Cc.
    const fromMemory = (): Readable => Readable.from([small]);
    return (await sendAsJson(session, base, fromMemory)) ?? sendViaDraft(session, base, fromMemory);
  };

  const deliver = async (envelope: Envelope, raw: () => Readable, transcript?: string[]): Promise<SendResult> => {
    const session = client.session({ ...(transcript ? { transcript } : {}), ...(envelope.queueId ? { queueId: envelope.queueId } : {}) });
    let answer: GraphAnswer;
    try {
      answer = await sendMessage(session, envelope, raw);
    } catch (err) {
      const error = toDeliveryError(err);
      throw new DeliveryError(error.failure, error.rejected, { ...session.usage });
    }
    const reply = `${answer.status} Accepted by Microsoft Graph${answer.requestId ? ` (request-id ${answer.requestId})` : ''}`;
    return {
      // Graph takes a message for all its recipients or for none.
      accepted: envelope.to.map((address) => ({ address, code: answer.status, reply })),
      rejected: [],
      response: reply,
      usage: { ...session.usage },
    };
  };

  return {
    send: (envelope, raw) => deliver(envelope, raw),
    sendWithTranscript: (envelope, raw, transcript) => deliver(envelope, raw, transcript),
    // Each attempt makes one request at a time: the lanes' limits bound the requests in flight.
    setConnectionLimit: () => undefined,
    // fetch's connections close by themselves when idle.
    close: () => undefined,
  };
}
