/**
 * The Microsoft Graph emulator, the mail part of https://graph.microsoft.com: an
 * HTTPS server on loopback (the test certificate) with sendMail (MIME or JSON),
 * drafts, attachment upload sessions, GET users, Graph's 4 MB request limit,
 * Outlook's throttling (concurrency, requests and upload bytes per window, the
 * mailbox's daily recipients) with Retry-After, Graph-shaped errors, a fault
 * queue, and a record of every request and of every message it would deliver.
 * Its URL is accepted as the Graph resource by the identity emulator, as a
 * national cloud's Graph host would be.
 */
import { once, EventEmitter } from 'node:events';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultQueue } from './faults.js';
import { authenticateGraphCaller, findPathMailbox, graphAudiences, type GraphCaller } from './graph-auth.js';
import { DraftStore, type UploadState } from './graph-drafts.js';
import { faultError, graphError, graphErrors, isGraphError, newRequestId, type GraphError } from './graph-errors.js';
import { matchRoute, readBody, writeAnswer, type Answer, type RouteMatch } from './graph-http.js';
import { GraphLimits } from './graph-limits.js';
import { answerGraphRoute, answerUpload, type RouteContext } from './graph-routes.js';
import type { GraphEmulator, GraphFault, GraphMessage, GraphOptions, GraphRequestRecord, GraphSettings } from './graph-types.js';
import { listenOnLoopback, localhostTls } from './loopback.js';
import { MailboxLimits } from './mailbox-limits.js';

export type * from './graph-types.js';

const DEFAULT_SETTINGS: GraphSettings = {
  maxRequestBytes: 4 * 1024 * 1024,
  requestTooLargeCode: 'RequestBodyTooLarge',
  maxMessageSize: 35 * 1024 * 1024,
  maxConcurrentRequests: 4,
  concurrencyScope: 'app',
  concurrencyRetryAfterSeconds: 1,
  requestsPerWindow: 10000,
  requestWindowSeconds: 600,
  uploadBytesPerWindow: 150 * 1024 * 1024,
  uploadWindowSeconds: 300,
  recipientsPerDay: 10000,
  bccOnlyMime: 'reject',
  unknownUserError: 'ErrorInvalidUser',
  uploadSessionMinBytes: 3 * 1024 * 1024,
  uploadChunkMultiple: 320 * 1024,
  uploadSessionLifetimeSeconds: 7200,
};

/** Who a request acts for: a token's caller, or an upload URL's session. */
type Requester = { clientId: string; mailboxKey: string } & (
  { caller: GraphCaller; session?: undefined } | { session: UploadState; caller?: undefined }
);

interface Gate {
  promise: Promise<void>;
  open: () => void;
}

/** Starts the Graph emulator on https://localhost:PORT. */
export async function startGraph(options: GraphOptions): Promise<GraphEmulator> {
  const { directory, identity } = options;
  const now = (): number => identity.now();
  const settings: GraphSettings = { ...DEFAULT_SETTINGS, ...options.settings };
  const limits = new GraphLimits(now);
  const mailboxLimits = options.mailboxLimits ?? new MailboxLimits(now);
  const faults = new FaultQueue<GraphFault>();
  const drafts = new DraftStore();
  const messages: GraphMessage[] = [];
  const requests: GraphRequestRecord[] = [];
  const events = new EventEmitter();
  const tls = localhostTls();
  let graphUrl = '';
  let gate: Gate | undefined;
  let closing: Promise<void> | undefined;

  const accept = (message: GraphMessage): void => {
    messages.push(message);
    events.emit('message');
  };

  /** The caller of a Graph request, or the session of an upload URL. */
  const identify = (match: RouteMatch, req: IncomingMessage, url: URL): Requester | GraphError => {
    if (match.sessionId !== undefined) {
      const session = drafts.findUpload(match.sessionId, url.searchParams.get('authtoken') ?? '', now());
      if (!session) return graphErrors.itemNotFound();
      // Upload URLs are pre-authenticated; a Graph token sent along has the wrong audience there.
      if (req.headers.authorization !== undefined) return graphErrors.invalidAudienceForResource(`${url.origin}${url.pathname}`);
      return { clientId: session.clientId, mailboxKey: session.mailbox, session };
    }
    const caller = authenticateGraphCaller(req.headers.authorization, {
      directory,
      verify: identity.verifyAccessToken,
      audiences: graphAudiences(graphUrl),
    });
    if (isGraphError(caller)) return caller;
    const found = findPathMailbox(caller, match.user);
    const mailboxKey = found && !isGraphError(found) ? found.address : (match.user ?? 'me').toLowerCase();
    return { clientId: caller.app.clientId, mailboxKey, caller };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', graphUrl);
    const method = req.method ?? 'GET';
    const ids = { requestId: newRequestId(), clientRequestId: headerValue(req, 'client-request-id') };
    const record: GraphRequestRecord = {
      method,
      path: url.pathname,
      at: now(),
      status: 0,
      bytes: 0,
      authorization: req.headers.authorization !== undefined,
      concurrent: 0,
    };
    requests.push(record);
    events.emit('request');
    /** Writes the answer; a body not read yet is drained first so the client can finish sending. */
    const finish = async (answer: Answer, bodyRead = false): Promise<void> => {
      if (!bodyRead) record.bytes = (await readBody(req, 0)).total;
      Object.assign(record, writeAnswer(res, answer, ids, now()));
    };
    const match = matchRoute(method, url.pathname);
    if ('unknownSegment' in match) return finish(graphErrors.unknownSegment(match.unknownSegment));
    record.route = match.route;
    const fault = faults.take((f) => f.route === undefined || f.route === match.route);
    if (fault && 'drop' in fault) {
      req.socket.destroy();
      return;
    }
    if (fault) return finish(faultAnswer(fault));
    if (Number(req.headers['content-length']) > settings.maxRequestBytes) {
      return finish(graphErrors.requestTooLarge(settings.requestTooLargeCode, settings.maxRequestBytes));
    }
    const requester = identify(match, req, url);
    if (isGraphError(requester)) return finish(requester);
    record.clientId = requester.clientId;
    record.mailbox = requester.mailboxKey;
    if (requester.caller) record.tokenKind = requester.caller.kind;

    const key = settings.concurrencyScope === 'app' ? requester.clientId : `${requester.clientId} ${requester.mailboxKey}`;
    record.concurrent = limits.enter(key);
    events.emit('inflight');
    res.once('close', () => {
      limits.leave(key);
      events.emit('inflight');
    });
    if (record.concurrent > settings.maxConcurrentRequests) {
      return finish(graphErrors.throttled('MailboxConcurrency', settings.concurrencyRetryAfterSeconds));
    }
    const windowKey = `${requester.clientId} ${requester.mailboxKey}`;
    const rateWait = limits.take('requests', windowKey, 1, settings.requestsPerWindow, settings.requestWindowSeconds);
    if (rateWait > 0) return finish(graphErrors.throttled('MailboxRequestRate', rateWait));
    if (gate) await gate.promise;

    const read = await readBody(req, settings.maxRequestBytes);
    record.bytes = read.total;
    if (read.tooLarge) return finish(graphErrors.requestTooLarge(settings.requestTooLargeCode, settings.maxRequestBytes), true);
    if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const wait = limits.take('uploads', windowKey, read.total, settings.uploadBytesPerWindow, settings.uploadWindowSeconds);
      if (wait > 0) return finish(graphErrors.throttled('IncomingBytes', wait), true);
    }
    const request = { match, body: read.body, contentType: headerValue(req, 'content-type') ?? '' };
    const ctx: RouteContext = { directory, settings, drafts, mailboxLimits, now: now(), graphUrl, accept };
    const answer = requester.session
      ? answerUpload(requester.session, { ...request, contentRange: headerValue(req, 'content-range') }, ctx)
      : answerGraphRoute(requester.caller, request, ctx);
    return finish(answer, true);
  };

  const server = https.createServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      const answer = graphError(500, 'UnknownError', `The emulator failed: ${String(err)}`);
      writeAnswer(res, answer, { requestId: newRequestId() }, now());
    });
  });
  // A client that hangs up mid-handshake is not the emulator's problem.
  server.on('tlsClientError', () => undefined);
  server.on('clientError', (_err, socket) => socket.destroy());
  const listener = await listenOnLoopback(server, options.port ?? 0);
  graphUrl = `https://localhost:${listener.port}`;
  identity.graphResources.push(graphUrl);

  return {
    host: 'localhost',
    port: listener.port,
    graphUrl,
    settings,
    messages,
    requests,
    get drafts() {
      return drafts.list();
    },
    get peakConcurrency() {
      return limits.peak;
    },
    peakConcurrencyByKey: limits.peakByKey,
    inFlight: () => limits.totalInFlight,
    sentItems: (mailbox) => messages.filter((m) => m.savedToSentItems && m.mailbox === mailbox.toLowerCase()),
    async waitForMessages(count, timeoutMs = 5000) {
      await waitFor(
        events,
        'message',
        () => messages.length >= count,
        timeoutMs,
        () => `${messages.length} message(s)`,
        count,
      );
      return messages.slice();
    },
    async waitForRequests(count, timeoutMs = 5000) {
      await waitFor(
        events,
        'request',
        () => requests.length >= count,
        timeoutMs,
        () => `${requests.length} request(s)`,
        count,
      );
      return requests.slice();
    },
    async waitForInFlight(count, timeoutMs = 5000) {
      const describe = (): string => `${limits.totalInFlight} request(s) in flight`;
      await waitFor(events, 'inflight', () => limits.totalInFlight >= count, timeoutMs, describe, count);
    },
    holdRequests() {
      if (!gate) {
        let open = (): void => undefined;
        const promise = new Promise<void>((resolve) => (open = resolve));
        gate = { promise, open };
      }
      const held = gate;
      return {
        release: () => {
          if (gate === held) gate = undefined;
          held.open();
        },
      };
    },
    failNext: (fault) => faults.push(fault),
    clearFaults: () => faults.clear(),
    exceedQuota: (mailbox) => mailboxLimits.exhaust(mailbox.toLowerCase()),
    resetQuota: (mailbox) => mailboxLimits.resetQuota(mailbox?.toLowerCase()),
    recipientsLastDay: (mailbox) => mailboxLimits.recipientsLastDay(mailbox.toLowerCase()),
    close() {
      closing ??= (async () => {
        gate?.open();
        gate = undefined;
        const index = identity.graphResources.indexOf(graphUrl);
        if (index >= 0) identity.graphResources.splice(index, 1);
        server.closeAllConnections();
        await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), listener.closeCompanion()]);
      })();
      return closing;
    },
  };
}

/** The answer of an injected fault: its status, with Graph's code and text for it unless given. */
function faultAnswer(fault: { status: number; code?: string; message?: string; retryAfterSeconds?: number }): GraphError {
  const base = faultError(fault.status, fault.retryAfterSeconds);
  return { ...base, code: fault.code ?? base.code, message: fault.message ?? base.message };
}

/** Resolves once `done()` holds, re-checking on each `event`; rejects after `timeoutMs`. */
async function waitFor(
  events: EventEmitter,
  event: string,
  done: () => boolean,
  timeoutMs: number,
  describe: () => string,
  wanted: number,
): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    while (!done()) await once(events, event, { signal: controller.signal });
  } catch {
    throw new Error(`expected ${wanted} within ${timeoutMs} ms, got ${describe()}`);
  } finally {
    clearTimeout(timer);
  }
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
