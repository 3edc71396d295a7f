/**
 * `relay365 send-test --server S --to ADDR [--subject TEXT] [--body TEXT]`:
 * sends one test email through an email server right now and prints the SMTP
 * conversation (AUTH redacted), Microsoft's reply and, when it failed, what
 * the reply means and how to fix it. It connects on its own, next to a
 * running relay, and takes the form the panel's Send Test Email takes.
 */
import { Readable } from 'node:stream';
import { silentLogger } from '../log.js';
import { connectServer, type Connection } from '../relay/connect.js';
import type { Failure } from '../relay/classify.js';
import { toDeliveryError } from '../relay/upstream.js';
import { hintForFailure } from '../relay/outcomes.js';
import { buildTestMessage, ownSender, testEmailSchema } from '../relay/test-message.js';
import type { StoreSlice } from '../store/index.js';
import { noPositionals, requireFlag, serverFlag, type Print } from './flags.js';
import { command, type ParsedFlags } from './subcommands.js';
import { UsageError } from './usage-error.js';

/** The test email was sent but not accepted: the report is printed, the exit code is 1. */
export class TestEmailRefused extends Error {
  constructor() {
    super('send-test: the test email was not accepted (see above)');
    this.name = 'TestEmailRefused';
  }
}

/** What `send-test` works with. */
export interface SendTestContext {
  /** The server by name, and what connecting to it reads (secrets, the token cache). */
  store: StoreSlice<{ servers: 'findByName' | 'password' | 'clientSecret' | 'clientCertificate'; tokenCaches: 'load' | 'save' }>;
  print: Print;
}

const FLAGS = {
  server: { type: 'string' },
  to: { type: 'string' },
  subject: { type: 'string' },
  body: { type: 'string' },
} as const;

/** Sends the test email; throws UsageError on bad input and TestEmailRefused when the upstream refused. */
async function sendTest({ store, print }: SendTestContext, { values, positionals }: ParsedFlags<typeof FLAGS>): Promise<void> {
  const example = 'relay365 send-test --server office365 --to admin@contoso.com';
  noPositionals(positionals);
  const server = await serverFlag(store, requireFlag('server', values.server, example));
  const checked = testEmailSchema.safeParse({ to: requireFlag('to', values.to, example), subject: values.subject, body: values.body });
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new UsageError(`--${String(issue?.path[0] ?? 'to')} is not valid: ${issue?.message ?? 'check the value'}`);
  }
  const mail = checked.data;
  const from = ownSender(server);
  const raw = await buildTestMessage({
    from,
    to: mail.to,
    subject: mail.subject || `relay365 test email via ${server.name}`,
    body: mail.body || 'This is a test email sent with relay365 send-test.',
  });
  const transcript: string[] = [];
  let conn: Connection | null = null;
  let failure: Failure | null = null;
  try {
    conn = await connectServer(server, store, silentLogger);
    const result = await conn.upstream.sendWithTranscript({ from, to: [mail.to] }, () => Readable.from([raw]), transcript);
    const refused = result.rejected[0];
    if (refused) failure = { kind: 'smtp', code: refused.code, reply: refused.reply };
    else {
      transcript.forEach((line) => print(line));
      print(`sent from ${from} to ${mail.to} through ${server.name}: ${result.response}`);
    }
  } catch (err) {
    const error = toDeliveryError(err);
    const refused = error.rejected[0];
    failure = refused ? { kind: 'smtp', code: refused.code, reply: refused.reply } : error.failure;
  } finally {
    conn?.upstream.close();
  }
  if (failure === null) return;
  transcript.forEach((line) => print(line));
  print(`not sent through ${server.name}: ${failure.kind === 'smtp' ? failure.reply : failure.message}`);
  const hint = hintForFailure(failure);
  if (hint) print(`meaning: ${hint.meaning}\nfix: ${hint.fix}`);
  throw new TestEmailRefused();
}

/** `relay365 send-test`. */
export const SEND_TEST_COMMAND = command('send-test', FLAGS, sendTest);
