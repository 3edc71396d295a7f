/**
 * Envelope fidelity over Microsoft Graph. Graph has no envelope: it delivers
 * to the To, Cc and Bcc headers. Before a message goes to Graph its header
 * block is made to name exactly the envelope's recipients: a To or Cc
 * recipient the envelope does not name is removed (it must not get the
 * message), and every envelope recipient that To and Cc do not name is
 * written into one Bcc field, in place of any Bcc there was. Only the header
 * block changes, and only when it has to; the body streams through as it is.
 */
import type { Readable } from 'node:stream';
import { Headers, type HeaderLine } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import addressparser, { type Address } from 'nodemailer/lib/addressparser';
import { rewriteHeaders } from '../header-block.js';
import { unsendable } from './graph-client.js';

/** Who the rewritten header block names. */
export interface RecipientPlan {
  /** Addresses left in To and in Cc, as written there. */
  to: string[];
  cc: string[];
  /** Envelope recipients To and Cc do not name: the Bcc field. */
  bcc: string[];
}

/**
 * The header block is buffered up to this size to find its end (a To of 500 recipients takes
 * some 20 KB); a message with a longer one is not sent via Graph: its recipients cannot be checked.
 */
const HEADER_BLOCK_LIMIT = 1024 * 1024;

/** A display name or group name as RFC 5322 wants it: atoms and encoded words as they are, anything else quoted. */
function phrase(name: string): string {
  if (
    /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(name) ||
    /^=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=(\s+=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)*$/.test(name)
  ) {
    return name;
  }
  return `"${name.replace(/["\\]/g, '\\$&')}"`;
}

function formatAddress(entry: Address): string {
  if (entry.group) return `${phrase(entry.name)}: ${entry.group.map(formatAddress).join(', ')};`;
  return entry.name ? `${phrase(entry.name)} <${entry.address}>` : entry.address;
}

/** How an address compares: header bytes read as UTF-8 (as the envelope was), any case. */
const compared = (address: string): string => Buffer.from(address, 'latin1').toString('utf8').trim().toLowerCase();

/**
 * The entries of an address list with only envelope recipients left (groups keep their name
 * with the members left); `removed` counts the mailboxes taken out.
 */
function keepEnvelope(entries: Address[], envelope: ReadonlySet<string>, kept: string[]): { entries: Address[]; removed: number } {
  let removed = 0;
  const out: Address[] = [];
  for (const entry of entries) {
    if (entry.group) {
      const inner = keepEnvelope(entry.group, envelope, kept);
      removed += inner.removed;
      out.push({ ...entry, group: inner.entries });
    } else if (envelope.has(compared(entry.address))) {
      kept.push(Buffer.from(entry.address, 'latin1').toString('utf8'));
      out.push(entry);
    } else {
      removed++;
    }
  }
  return { entries: out, removed };
}

/**
 * Rewrites a header block (the fields, each with its line end, without the empty line after
 * them) so that To, Cc and Bcc name exactly `envelope`; returns the block unchanged (the same
 * bytes) when they already do.
 */
export function rewriteRecipients(block: Buffer, envelope: readonly string[]): { block: Buffer; plan: RecipientPlan } {
  const wanted = new Set(envelope.map((address) => address.trim().toLowerCase()));
  const headers = new Headers(block);
  const lines = headers.getList();
  const plan: RecipientPlan = { to: [], cc: [], bcc: [] };
  const out: HeaderLine[] = [];
  let changed = false;
  // mailsplit reads a first line `From : …` as an mbox preamble; it is the From field (header-block.ts).
  if (headers.mbox !== false && /^From[ \t]*:/i.test(headers.mbox)) out.push({ key: 'from', line: headers.mbox });
  for (const line of lines) {
    if (line.key === 'bcc') {
      changed = true;
      continue;
    }
    if (line.key !== 'to' && line.key !== 'cc') {
      out.push(line);
      continue;
    }
    const colon = line.line.indexOf(':');
    const value = line.line.slice(colon + 1).replace(/\r?\n(?=[ \t])/g, '');
    const { entries, removed } = keepEnvelope(addressparser(value), wanted, plan[line.key]);
    if (removed === 0) {
      out.push(line);
      continue;
    }
    changed = true;
    if (entries.length > 0) {
      out.push({ key: line.key, line: libmime.foldLines(`${line.line.slice(0, colon)}: ${entries.map(formatAddress).join(', ')}`, 76) });
    }
  }
  const named = new Set([...plan.to, ...plan.cc].map((address) => address.toLowerCase()));
  for (const address of envelope) {
    const key = address.trim().toLowerCase();
    if (named.has(key)) continue;
    named.add(key);
    plan.bcc.push(address);
  }
  if (plan.bcc.length > 0) {
    out.push({
      key: 'bcc',
      line: libmime.foldLines(`Bcc: ${plan.bcc.map((a) => Buffer.from(a, 'utf8').toString('latin1')).join(', ')}`, 76),
    });
    changed = true;
  }
  if (!changed) return { block, plan };
  const eol = block.includes('\r\n') || block.length === 0 ? '\r\n' : '\n';
  const rebuilt = new Headers(out);
  if (headers.mbox !== false && !/^From[ \t]*:/i.test(headers.mbox)) rebuilt.mbox = headers.mbox;
  const built = rebuilt.build(eol);
  // build() ends with the empty line; the caller's rest of the message starts with it.
  return { block: built.subarray(0, built.length - eol.length), plan };
}

/**
 * The message from `source` with its To, Cc and Bcc made to name exactly `envelope`; `onPlan`
 * hears who they name once the header block went through. Only the header block is buffered.
 */
export function withEnvelopeRecipients(
  source: Readable,
  envelope: readonly string[],
  onPlan: (plan: RecipientPlan) => void = () => undefined,
): Readable {
  return rewriteHeaders(source, {
    limit: HEADER_BLOCK_LIMIT,
    rewrite: (head) => {
      const { block, plan } = rewriteRecipients(head, envelope);
      onPlan(plan);
      return block;
    },
    tooLong: () => {
      throw unsendable(
        'HeaderBlockTooLarge',
        `the message's header block is over ${HEADER_BLOCK_LIMIT} bytes; its recipients cannot be checked`,
      );
    },
  });
}
