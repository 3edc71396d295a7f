/**
 * Telling a wrong key from the right one: by the check value sealed with the
 * first key, or, in a database from before it, by any sealed secret. The
 * store's key check runs on both engines; the file-level checks are SQLite's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore, SESSION_TIMES, type Store } from '../../src/store/index.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { holdsSealedValues, recordKeyCheck, testSecretKey, testSecretKeyOf } from '../../src/store/key-check.js';
import { createSecretBox, type SecretBox } from '../../src/store/secret-box.js';
import { ENGINES, openEngineStore, type Engine, type EngineStore } from '../helpers/engines.js';
import { plainServer } from '../helpers/fixture.js';

const RIGHT = createSecretBox(Buffer.from('ab'.repeat(32), 'hex'));
const WRONG = createSecretBox(Buffer.from('cd'.repeat(32), 'hex'));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'relay365-key-check-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// SQLite-specific: the check on the handle and on the database file.
describe('key check', () => {
  it('accepts any key while nothing is sealed', async () => {
    const store = createStore(dir, RIGHT);
    expect(testSecretKey(store.db, WRONG)).toBe('untested');
    expect(holdsSealedValues(path.join(dir, 'relay365.db'))).toBe(false);
    await store.close();
  });

  it('tells the wrong key from the right one by the check value alone', async () => {
    const store = createStore(dir, RIGHT);
    recordKeyCheck(store.db, RIGHT);
    expect(testSecretKey(store.db, RIGHT)).toBe('opens');
    expect(testSecretKey(store.db, WRONG)).toBe('wrong');
    await store.close();
    expect(holdsSealedValues(path.join(dir, 'relay365.db'))).toBe(true);
    expect(testSecretKeyOf(path.join(dir, 'relay365.db'), WRONG)).toBe('wrong');
  });

  it('tells them apart by a sealed secret in a database without a check value', async () => {
    const store = createStore(dir, RIGHT);
    await store.servers.add(plainServer({ method: 'password', username: 'relay', password: 'a password of some length' }));
    expect(testSecretKey(store.db, RIGHT)).toBe('opens');
    expect(testSecretKey(store.db, WRONG)).toBe('wrong');
    await store.close();
  });

  it('keeps the first check value when another key records one', async () => {
    const store = createStore(dir, RIGHT);
    recordKeyCheck(store.db, RIGHT);
    recordKeyCheck(store.db, WRONG);
    expect(testSecretKey(store.db, RIGHT)).toBe('opens');
    await store.close();
  });
});

describe.each(ENGINES)('the store key check on %s', (engine: Engine) => {
  let es: EngineStore;
  const others: Store[] = [];
  beforeEach(async () => {
    es = await openEngineStore(engine);
  });
  afterEach(async () => {
    await Promise.all(others.splice(0).map((s) => s.close()));
    await es.cleanup();
  });

  /** Another store on the same database, as another instance (or a restart) opens it, sealing with `box`. */
  async function openAgain(box: SecretBox): Promise<Store> {
    const store =
      es.url === null
        ? createStore(es.dir, box)
        : await createPostgresStore({ url: es.url, dataDir: es.dir, box, sessionTimes: SESSION_TIMES, applicationName: 'relay365 test' });
    others.push(store);
    return store;
  }

  it('accepts any key while nothing is sealed', async () => {
    expect(await es.store.keyCheck.verdict()).toBe('untested');
    expect(await es.store.keyCheck.verdict(WRONG)).toBe('untested');
  });

  it('tells the wrong key from the right one by the check value once recorded', async () => {
    await es.store.keyCheck.record();
    expect(await es.store.keyCheck.verdict()).toBe('opens');
    expect(await es.store.keyCheck.verdict(RIGHT)).toBe('opens');
    expect(await es.store.keyCheck.verdict(WRONG)).toBe('wrong');
    expect(await (await openAgain(WRONG)).keyCheck.verdict()).toBe('wrong');
  });

  it('tells them apart by a sealed secret before a check value is recorded', async () => {
    await es.store.servers.add(plainServer({ method: 'password', username: 'relay', password: 'a password of some length' }));
    expect(await es.store.keyCheck.verdict()).toBe('opens');
    expect(await es.store.keyCheck.verdict(WRONG)).toBe('wrong');
  });

  it('keeps the first check value when another key records one, also when two record at once', async () => {
    const wrong = await openAgain(WRONG);
    await Promise.all([es.store.keyCheck.record(), (await openAgain(RIGHT)).keyCheck.record()]);
    await wrong.keyCheck.record();
    expect(await es.store.keyCheck.verdict()).toBe('opens');
    expect(await wrong.keyCheck.verdict()).toBe('wrong');
  });
});
