/**
 * Debian's Chromium for the browser tests, started the one way this project
 * allows: playwright-core, /usr/bin/chromium, headless with background
 * networking off, a fresh profile each time. Missing in CI is a failure.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** True when Chromium is there; throws in CI (CI=true), where a missing browser is a failure. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env['CI'] === 'true') {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests`);
  }
  console.warn(`skipping the browser tests: ${CHROMIUM} is missing (apt-get install chromium)`);
  return false;
}

export interface Chromium {
  context: BrowserContext;
  /** The window's page: the one Chromium opens with, else a new one. */
  page(): Promise<Page>;
  close(): Promise<void>;
}

/** Starts Chromium with a fresh profile. The emulator's https pages are accepted in this context only (Chromium ignores NODE_EXTRA_CA_CERTS). */
export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(path.join(tmpdir(), 'relay365-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    ignoreHTTPSErrors: true,
    timeout: 30_000,
  });
  context.setDefaultTimeout(10_000);
  return {
    context,
    page: async () => context.pages()[0] ?? (await context.newPage()),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Fills in the panel's sign-in form on the page shown now and submits it. */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
