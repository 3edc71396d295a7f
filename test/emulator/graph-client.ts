/**
 * What the Graph emulator's tests share: Graph requests over real HTTPS with
 * `fetch`, tokens for the seeded app and user, and small MIME messages.
 */
import { SEED, type Emulator } from './index.js';

/** A Graph answer: status, headers and the parsed JSON body (if any). */
export interface GraphReply {
  status: number;
  headers: Headers;
  json: Record<string, unknown> | undefined;
  /** `error.code` of a Graph error. */
  code: string | undefined;
  message: string | undefined;
}

/** Options of {@link graphRequest}. */
export interface GraphRequestOptions {
  method?: string;
  token?: string;
  /** A JSON value (sent as application/json), or raw text/bytes with `contentType`. */
  json?: unknown;
  body?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Sends one request to `path` (absolute URL, or a path on the emulator's Graph URL). */
export async function graphRequest(emu: Emulator, path: string, options: GraphRequestOptions = {}): Promise<GraphReply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  let body: string | Buffer | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  }
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  const url = path.startsWith('https://') ? path : `${emu.graphUrl}${path}`;
  const method = options.method ?? (body === undefined ? 'GET' : 'POST');
  const res = await fetch(url, { method, headers, body: typeof body === 'string' || body === undefined ? body : new Uint8Array(body) });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  const error = json?.['error'] as { code?: string; message?: string } | undefined;
  return { status: res.status, headers: res.headers, json, code: error?.code, message: error?.message };
}

/** An app-only Graph token for the seeded app (no secret check). */
export function graphAppToken(emu: Emulator, resource = 'https://graph.microsoft.com'): string {
  return emu.identity.issueAppToken({ tenant: SEED.tenantId, clientId: SEED.clientId, resource });
}

/** A delegated Graph token for `user` (default the seeded mailbox) with `scopes`. */
export function graphUserToken(emu: Emulator, scopes = ['Mail.Send', 'User.Read'], user: string = SEED.mailbox): string {
  return emu.identity.issueDelegatedToken({
    tenant: SEED.tenantId,
    clientId: SEED.clientId,
    user,
    resource: 'https://graph.microsoft.com',
    scopes,
  });
}

/** A small MIME message; `headers` replace the default From/To lines. */
export function mimeMessage(
  headers: string[] = [`From: Relay <${SEED.mailbox}>`, 'To: someone@fabrikam.test'],
  body = 'Hello from the printer',
): string {
  return [
    ...headers,
    'Subject: =?utf-8?Q?Scan_fertig?=',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');
}

/** POST /users/{mailbox}/sendMail with `mime` base64-encoded, as relay365 sends it. */
export function sendMime(
  emu: Emulator,
  mime: string | Buffer,
  token = graphAppToken(emu),
  mailbox: string = SEED.mailbox,
): Promise<GraphReply> {
  return graphRequest(emu, `/v1.0/users/${encodeURIComponent(mailbox)}/sendMail`, {
    token,
    body: Buffer.from(mime).toString('base64'),
    contentType: 'text/plain',
  });
}
