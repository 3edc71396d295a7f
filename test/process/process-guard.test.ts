import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { installProcessGuard, verdictFor, type ErrorOrigin } from '../../src/process-guard.js';

const withCode = (code: string): Error => Object.assign(new Error(`failed: ${code}`), { code });

describe('the process guard rule', () => {
  it.each<[ErrorOrigin, unknown, 'keep-serving' | 'exit']>([
    ['unhandledRejection', new Error('a promise nobody awaited'), 'keep-serving'],
    ['unhandledRejection', 'a rejection with a string', 'keep-serving'],
    ['unhandledRejection', withCode('ETIMEDOUT'), 'keep-serving'],
    ['unhandledRejection', withCode('SQLITE_CORRUPT'), 'exit'],
    ['unhandledRejection', withCode('SQLITE_IOERR_WRITE'), 'exit'],
    ['uncaughtException', withCode('ECONNRESET'), 'keep-serving'],
    ['uncaughtException', withCode('EPIPE'), 'keep-serving'],
    ['uncaughtException', withCode('ERR_STREAM_DESTROYED'), 'keep-serving'],
    ['uncaughtException', new TypeError('x is undefined'), 'exit'],
    ['uncaughtException', withCode('SQLITE_NOTADB'), 'exit'],
  ])('%s of %s: %s', (origin, err, verdict) => {
    expect(verdictFor(origin, err)).toBe(verdict);
  });
});

describe('the process guard on an emitter', () => {
  function guarded() {
    const target = new EventEmitter();
    const lines: Record<string, unknown>[] = [];
    const exits: number[] = [];
    const log = createLogger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    const uninstall = installProcessGuard({ log, exit: (code) => exits.push(code), target });
    return { target, lines, exits, uninstall };
  }

  it('logs an unhandled rejection with "alert":true and does not exit', () => {
    const { target, lines, exits } = guarded();
    target.emit('unhandledRejection', new Error('nobody awaited this'), Promise.resolve());
    expect(exits).toEqual([]);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'error', alert: true, origin: 'unhandledRejection', error: 'nobody awaited this' }),
    ]);
  });

  it('logs a fatal uncaught exception with "alert":true and exits once with code 1', () => {
    const { target, lines, exits } = guarded();
    target.emit('uncaughtException', new TypeError('boom'), 'uncaughtException');
    target.emit('uncaughtException', new TypeError('boom again'), 'uncaughtException');
    expect(exits).toEqual([1]);
    expect(lines[0]).toMatchObject({ alert: true, origin: 'uncaughtException', error: 'boom' });
    expect(String(lines[0]?.msg)).toContain('exiting');
  });

  it('keeps its verdict when the log cannot be written', () => {
    const target = new EventEmitter();
    const exits: number[] = [];
    const log = createLogger('info', () => {
      throw withCode('EPIPE');
    });
    installProcessGuard({ log, exit: (code) => exits.push(code), target });
    expect(() => target.emit('unhandledRejection', new Error('x'))).not.toThrow();
    target.emit('uncaughtException', new Error('y'));
    expect(exits).toEqual([1]);
  });

  it('stops listening once uninstalled', () => {
    const { target, uninstall } = guarded();
    uninstall();
    expect(target.listenerCount('unhandledRejection') + target.listenerCount('uncaughtException')).toBe(0);
  });
});

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'guarded-child.ts');

/** Runs the guarded child with `what` going unhandled; bounded by 20 s. */
function runChild(what: string): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, what], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`guarded child (${what}) did not finish within 20 s`));
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, lines: out.split('\n').filter(Boolean) });
    });
  });
}

describe('the process guard in a real process', () => {
  it('logs an unhandled rejection with "alert":true and keeps serving (Node alone would exit)', async () => {
    const { code, lines } = await runChild('rejection');
    expect(code).toBe(0);
    expect(JSON.parse(lines[0]!)).toMatchObject({ alert: true, origin: 'unhandledRejection', error: 'nobody awaited this' });
    expect(lines.at(-1)).toBe('still serving');
  });

  it('keeps serving after a socket error nobody handled', async () => {
    const { code, lines } = await runChild('socket exception');
    expect(code).toBe(0);
    expect(JSON.parse(lines[0]!)).toMatchObject({ alert: true, code: 'ECONNRESET' });
    expect(lines.at(-1)).toBe('still serving');
  });

  it('exits with code 1 after logging any other uncaught exception, so that a supervisor restarts it', async () => {
    const { code, lines } = await runChild('exception');
    expect(code).toBe(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ alert: true, origin: 'uncaughtException', error: 'cannot read properties of undefined' });
    expect(lines).not.toContain('still serving');
  });
});
