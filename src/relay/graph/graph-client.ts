/**
 * Requests to Microsoft Graph for one email server. Each attempt opens a
 * session: it sends the server's access token with every request (never to an
 * upload URL, which is pre-authenticated), retries once with a fresh token
 * after `InvalidAuthenticationToken`, turns Graph's JSON errors into failures
 * the classifier understands, counts its requests and the bytes it uploaded
 * (Graph's limits count both) and, for Send Test Email, writes a transcript of
 * requests and answers that never shows a token. A `Retry-After` holds every
 * later request of the server until it elapsed. After `ErrorAccessDenied` the
 * next attempt asks for a new token: an app's roles and a user's scopes are in
 * the token, so a permission granted since shows only in a new one.
 */
import type { AccessToken, TokenProvider } from '../../auth/token-provider.js';
import type { Logger } from '../../log.js';
import type { GraphFailure } from '../classify.js';
import { DeliveryError, type UpstreamUsage } from '../upstream.js';

/** What a request is for: named in failures, hints and the transcript. */
export type GraphStep =
  'prepare' | 'sendMail' | 'createDraft' | 'addAttachment' | 'createUploadSession' | 'upload' | 'sendDraft' | 'deleteDraft';

/** A message relay365 cannot put into Graph requests as it is (status 0): it fails, Graph never saw it. */
export function unsendable(code: string, message: string): DeliveryError {
  return new DeliveryError({ kind: 'graph', step: 'prepare', status: 0, code, message, retryAfterMs: null });
}

export interface GraphRequest {
  step: GraphStep;
  method: 'POST' | 'PUT' | 'DELETE';
  /** A path on the Graph endpoint (`/v1.0/…`), or an upload URL Graph handed out (sent without the token). */
  url: string;
  body?: string | Buffer;
  contentType?: string;
  /** Extra request headers (`Content-Range` of an upload). */
  headers?: Record<string, string>;
}

export interface GraphAnswer {
  status: number;
  /** The JSON body, or undefined when there was none. */
  json: unknown;
  /** Graph's `request-id`, which Microsoft support asks for. */
  requestId: string | null;
}

/** The requests of one delivery attempt. */
export interface GraphSession {
  /** Sends a request; resolves with a 2xx answer, rejects with a DeliveryError otherwise. */
  send(request: GraphRequest): Promise<GraphAnswer>;
  /** Requests sent so far and the bytes of their bodies. */
  readonly usage: UpstreamUsage;
}

export interface GraphClient {
  /** Starts the requests of one attempt; `transcript` receives a line per request and answer. */
  session(options?: { transcript?: string[]; queueId?: string }): GraphSession;
}

export interface GraphClientOptions {
  /** Graph's base URL, e.g. https://graph.microsoft.com (no trailing slash). */
  endpoint: string;
  tokens: TokenProvider;
  /** The server's name, for log lines. */
  server: string;
  log: Logger;
  now: () => number;
  /** Ask for a new token before the first request (the server is held for a permission Graph refused). */
  staleToken?: boolean;
}

/** A request that gets no answer in this long is given up (a network failure: retried later). */
const REQUEST_TIMEOUT_MS = 120_000;
/** An error body is read up to this size; Graph's are a few hundred bytes. */
const ERROR_BODY_LIMIT = 64 * 1024;

/** `Retry-After` in ms: seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null || header.trim() === '') return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The path of a URL for the eye: no query (an upload URL's carries its credential), escapes decoded. */
function shownPath(url: URL): string {
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    return url.pathname;
  }
}

/** Reads at most `limit` bytes of a body; the rest is dropped. */
async function readCapped(res: Response, limit: number): Promise<{ text: string; bytes: number }> {
  if (!res.body) return { text: '', bytes: 0 };
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of res.body) {
    bytes += chunk.length;
    if (bytes > limit) {
      await res.body.cancel().catch(() => undefined);
      break;
    }
    chunks.push(Buffer.from(chunk));
  }
  return { text: Buffer.concat(chunks).toString('utf8'), bytes };
}

/** Graph's `{"error": {"code", "message"}}`, or null for any other body. */
function graphError(text: string): { code: string; message: string } | null {
  try {
    const error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    if (typeof error?.code === 'string') return { code: error.code, message: typeof error.message === 'string' ? error.message : '' };
  } catch {
    // Not JSON: said below without repeating it.
  }
  return null;
}

/** A failed fetch (no HTTP answer) as a network failure with the system's code. */
function networkFailure(step: GraphStep, err: unknown): DeliveryError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? (e.name === 'TimeoutError' ? 'ETIMEDOUT' : 'ERROR');
  return new DeliveryError({ kind: 'network', code, message: `Microsoft Graph ${step}: ${e.cause?.message ?? e.message ?? String(err)}` });
}

/** Creates the Graph client of one email server. */
export function createGraphClient({ endpoint, tokens, server, log, now, staleToken = false }: GraphClientOptions): GraphClient {
  // Microsoft's Retry-After holds the server's next requests, also those of attempts already running.
  let held: { until: number; failure: GraphFailure } | null = null;
  let stale = staleToken;

  const session = ({ transcript, queueId }: { transcript?: string[]; queueId?: string } = {}): GraphSession => {
    const usage: UpstreamUsage = { requests: 0, uploadedBytes: 0 };
    let token: AccessToken | null = null;
    let retried = false;
    const note = (line: string): void => {
      transcript?.push(line);
    };

    /** One HTTP exchange; a failure comes back as data so the token retry can look at it. */
    const exchange = async (request: GraphRequest, url: URL, bearer: string | null): Promise<GraphAnswer | GraphFailure> => {
      const body = request.body;
      const size = body === undefined ? 0 : Buffer.byteLength(body);
      const headers: Record<string, string> = { ...request.headers };
      if (request.contentType) headers['content-type'] = request.contentType;
      if (bearer !== null) headers['authorization'] = `Bearer ${bearer}`;
      const extra = request.headers?.['content-range'] ? `, ${request.headers['content-range']}` : '';
      note(
        `C: ${request.method} ${shownPath(url)}${body === undefined ? '' : ` (${request.contentType ?? 'body'}, ${size} bytes${extra})`}`,
      );
      usage.requests++;
      usage.uploadedBytes += size;
      let res: Response;
      try {
        res = await fetch(url, {
          method: request.method,
          headers,
          body: typeof body === 'string' || body === undefined ? body : new Uint8Array(body),
          redirect: 'error',
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (err) {
        note(`S: (no answer: ${(err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message})`);
        throw networkFailure(request.step, err);
      }
      const requestId = res.headers.get('request-id');
      const ids = requestId ? ` (request-id ${requestId})` : '';
      if (res.ok) {
        const text = res.status === 204 ? '' : await res.text();
        note(`S: ${res.status} ${res.statusText}${ids}`.trimEnd());
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        return { status: res.status, json, requestId };
      }
      const { text, bytes } = await readCapped(res, ERROR_BODY_LIMIT);
      const error = graphError(text);
      const wait = retryAfterMs(res.headers.get('retry-after'), now());
      // An answer that is no Graph error is not repeated: the endpoint is the admin's to choose.
      const failure: GraphFailure = {
        kind: 'graph',
        step: request.step,
        status: res.status,
        code: error?.code ?? `HTTP${res.status}`,
        message: error ? error.message : `the endpoint answered without a Microsoft Graph error (${bytes} bytes)`,
        retryAfterMs: wait,
        ...(requestId ? { requestId } : {}),
      };
      note(`S: ${res.status} ${failure.code}: ${failure.message}${ids}${wait === null ? '' : ` Retry-After ${wait / 1000} s`}`);
      return failure;
    };

    const send = async (request: GraphRequest): Promise<GraphAnswer> => {
      const t = now();
      if (held && t < held.until) {
        note(`C: (${request.method} ${request.step} not sent: Microsoft asked to wait until ${new Date(held.until).toISOString()})`);
        throw new DeliveryError({ ...held.failure, step: request.step, retryAfterMs: held.until - t });
      }
      const upload = /^https?:\/\//i.test(request.url);
      const url = new URL(upload ? request.url : `${endpoint}${request.url}`);
      // An upload URL is pre-authenticated: a Graph token there is refused (InvalidAudienceForResource).
      const bearer = async (forceRefresh: boolean): Promise<string | null> => {
        if (upload) return null;
        const force = forceRefresh || (token === null && stale);
        if (!token || force) {
          token = await tokens.getAccessToken({ forceRefresh: force });
          if (force) stale = false;
        }
        return token.token;
      };
      let answer = await exchange(request, url, await bearer(false));
      if ('kind' in answer && answer.code === 'InvalidAuthenticationToken' && !upload && !retried) {
        // Graph refused the token: once per attempt, with a fresh one (PRODUCT.md, Tokens).
        retried = true;
        log.info('Microsoft Graph refused the token; retrying once with a new one', { queueId, server });
        answer = await exchange(request, url, await bearer(true));
      }
      if (!('kind' in answer)) return answer;
      if (answer.code === 'ErrorAccessDenied') stale = true;
      if ((answer.status === 429 || answer.status === 503) && answer.retryAfterMs !== null) {
        const until = now() + answer.retryAfterMs;
        if (!held || until > held.until) held = { until, failure: answer };
      }
      throw new DeliveryError(answer);
    };

    return { send, usage };
  };

  return { session };
}
