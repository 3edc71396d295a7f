/**
 * The process-level safety net: an error no edge caught (an unhandled promise
 * rejection, an exception thrown from an event handler) is logged with
 * `"alert":true`, and the relay keeps serving unless the error is fatal. Then
 * it logs that too and exits with code 1 so that a supervisor restarts it;
 * the spool and SQLite make that restart lose nothing.
 */
import type { Logger } from './log.js';

/** Where the error surfaced: Node's two process events for errors nobody handled. */
export type ErrorOrigin = 'uncaughtException' | 'unhandledRejection';

export type GuardVerdict = 'keep-serving' | 'exit';

/** Exit code after a fatal error (a supervisor restarts the relay). */
export const FATAL_EXIT_CODE = 1;

/** Error codes that concern one connection or stream: the rest of the process is unaffected. */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNABORTED',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTCONN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_SOCKET_CLOSED',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Codes after which the process cannot go on: the database file is damaged or its storage fails. */
const FATAL_CODE = /^(SQLITE_CORRUPT|SQLITE_NOTADB|SQLITE_IOERR|SQLITE_READONLY_DBMOVED|ERR_OUT_OF_MEMORY)/;

const codeOf = (err: unknown): string =>
  typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : '';

/**
 * The rule, as data over (origin, error code):
 * - a fatal code (damaged database, failing storage, out of memory) exits, whatever the origin;
 * - an unhandled rejection keeps serving: a promise nobody awaited failed, and the work it belonged to is over;
 * - an uncaught exception with a connection code keeps serving: it concerns one socket;
 * - any other uncaught exception exits: Node leaves the process in an undefined state after it.
 */
export function verdictFor(origin: ErrorOrigin, err: unknown): GuardVerdict {
  const code = codeOf(err);
  if (FATAL_CODE.test(code)) return 'exit';
  if (origin === 'unhandledRejection') return 'keep-serving';
  return CONNECTION_CODES.has(code) ? 'keep-serving' : 'exit';
}

/** The part of `process` the guard listens on. */
export interface ProcessEvents {
  on(event: ErrorOrigin, listener: (err: unknown) => void): unknown;
  off(event: ErrorOrigin, listener: (err: unknown) => void): unknown;
}

export interface ProcessGuardOptions {
  log: Logger;
  /** Ends the process; `process.exit` in the relay. */
  exit: (code: number) => void;
  /** `process` unless a test passes an emitter. */
  target?: ProcessEvents;
}

const errorFields = (err: unknown): { error: string; stack?: string } =>
  err instanceof Error ? { error: err.message, stack: err.stack?.split('\n').slice(1, 6).join('\n').trim() } : { error: String(err) };

/** Installs the handlers; returns a function that removes them again. */
export function installProcessGuard({ log, exit, target = process }: ProcessGuardOptions): () => void {
  let exiting = false;
  const handler =
    (origin: ErrorOrigin) =>
    (err: unknown): void => {
      const verdict = verdictFor(origin, err);
      try {
        const fields = { alert: true, origin, code: codeOf(err) || undefined, ...errorFields(err) };
        if (verdict === 'exit') log.error('fatal error: exiting so that a supervisor restarts relay365', fields);
        else log.error('unexpected error: relay365 keeps serving', fields);
      } catch {
        // The log itself failed (stdout gone); the verdict still stands.
      }
      if (verdict === 'exit' && !exiting) {
        exiting = true;
        exit(FATAL_EXIT_CODE);
      }
    };
  const onException = handler('uncaughtException');
  const onRejection = handler('unhandledRejection');
  target.on('uncaughtException', onException);
  target.on('unhandledRejection', onRejection);
  return () => {
    target.off('uncaughtException', onException);
    target.off('unhandledRejection', onRejection);
  };
}
