/**
 * Vitest's global set-up: one private PostgreSQL server for the whole run, so
 * that the tests of both engines run (test/helpers/engines.ts). Each test gets
 * its own database on it. Without Debian's postgresql package the PostgreSQL
 * variants are skipped, except in CI, where that is a failure.
 */
import type { TestProject } from 'vitest/node';
import { postgresBin, startPostgres, type PostgresServer } from './helpers/postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test server's superuser URL, or null when PostgreSQL is not installed. */
    postgresUrl: string | null;
  }
}

let server: PostgresServer | null = null;

export async function setup(project: TestProject): Promise<void> {
  if (postgresBin() === null) {
    if (process.env.CI === 'true') throw new Error('PostgreSQL is not installed: apt-get install -y postgresql');
    project.provide('postgresUrl', null);
    return;
  }
  server = await startPostgres();
  project.provide('postgresUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
