/**
 * The PostgreSQL pool when the server ends a connection in the middle of a
 * transaction (a server stopped, a failover): the transaction rejects, the
 * process keeps running (an unheard 'error' event would end it), and the next
 * statement gets a new connection.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPool, type Pg } from '../../../src/store/postgres/pool.js';
import { ENGINES, freshDatabase } from '../../helpers/engines.js';

let database: { url: string; drop(): Promise<void> };
let pg: Pg;
let admin: Pg;

beforeEach(async () => {
  database = await freshDatabase();
  pg = openPool(database.url, { applicationName: 'relay365 pool test' });
  admin = openPool(database.url, { applicationName: 'relay365 pool test admin' });
});

afterEach(async () => {
  await pg.close();
  await admin.close();
  await database.drop();
});

describe.skipIf(!ENGINES.includes('postgres'))('the PostgreSQL pool', () => {
  it('rejects a transaction whose connection the server ends, and carries on with a new one', async () => {
    const running = pg.tx((sql) => sql.run('SELECT pg_sleep(30)'));
    const outcome = running.then(
      () => 'committed',
      (err: Error) => err.message,
    );
    // Wait (bounded) until the transaction's statement runs on the server, then end its connection.
    let ended = 0;
    for (let tries = 0; tries < 100 && ended === 0; tries++) {
      ended = await admin.run(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = 'relay365 pool test' AND query = 'SELECT pg_sleep(30)'`,
      );
      if (ended === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(ended).toBe(1);
    expect(await outcome).toMatch(/terminat/);
    expect(await pg.rows<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(await pg.tx((sql) => sql.rows<{ two: number }>('SELECT 2 AS two'))).toEqual([{ two: 2 }]);
  });
});
