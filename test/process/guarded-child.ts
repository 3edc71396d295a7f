/**
 * A child process for test/process/process-guard.test.ts: installs the guard
 * on the real `process`, then lets the error named by argv[2] go unhandled
 * and, one turn of the event loop later, says whether it is still serving.
 */
import { createLogger } from '../../src/log.js';
import { installProcessGuard } from '../../src/process-guard.js';

installProcessGuard({ log: createLogger('info'), exit: (code) => process.exit(code) });

const errors: Record<string, () => void> = {
  rejection: () => void Promise.reject(new Error('nobody awaited this')),
  'socket exception': () =>
    setImmediate(() => {
      throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    }),
  exception: () =>
    setImmediate(() => {
      throw new TypeError('cannot read properties of undefined');
    }),
};
errors[process.argv[2] ?? '']?.();
// Runs after the error's turn: printed only by a process that survived it.
setImmediate(() => setImmediate(() => process.stdout.write('still serving\n')));
