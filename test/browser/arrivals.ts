/**
 * What reached the Microsoft 365 emulator, one line per message, for the
 * demo: which way it came (Exchange SMTP or Microsoft Graph, and over Graph
 * as MIME, JSON or a draft), its subject, sender, recipients and size, so
 * that a person trying the demo sees every message arrive once, with the
 * recipients it was delivered to.
 */
import type { Emulator } from '../emulator/index.js';

/** How often the demo looks for new arrivals. */
const POLL_MS = 500;

const size = (bytes: number): string =>
  bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The Subject header of a raw message, unfolded; empty when it has none. */
function subjectOf(raw: Buffer): string {
  const head = raw.subarray(0, 64 * 1024).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const block = (end < 0 ? head : head.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  return /^subject:[ \t]*(.*)$/im.exec(block)?.[1]?.trim() ?? '';
}

/** The lines for the messages the emulator holds from index `fromExchange` and `fromGraph` on. */
export function arrivalLines(emu: Emulator, fromExchange: number, fromGraph: number): string[] {
  const exchange = emu.exchange.messages
    .slice(fromExchange)
    .map((m) => `Exchange SMTP   "${subjectOf(m.raw)}" from ${m.mailFrom} as ${m.user} to ${m.rcptTo.join(', ')} (${size(m.raw.length)})`);
  const graph = emu.graph.messages.slice(fromGraph).map((m) => {
    const bytes = m.raw?.length ?? m.body.content.length + m.attachments.reduce((n, a) => n + a.bytes.length, 0);
    const attached = m.attachments.length ? `, ${m.attachments.length} attachment${m.attachments.length === 1 ? '' : 's'}` : '';
    return `Microsoft Graph "${m.subject}" from ${m.from} (${m.via}) to ${m.recipients.join(', ')} (${size(bytes)}${attached})`;
  });
  return [...exchange, ...graph];
}

/** Prints each message as the emulator receives it; returns the function that stops watching. */
export function watchArrivals(emu: Emulator, print: (line: string) => void): () => void {
  let exchange = emu.exchange.messages.length;
  let graph = emu.graph.messages.length;
  const timer = setInterval(() => {
    for (const line of arrivalLines(emu, exchange, graph)) print(`emulator received: ${line}`);
    exchange = emu.exchange.messages.length;
    graph = emu.graph.messages.length;
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
