/**
 * Headless Chromium for looking at the report the way a person would: Debian's `chromium` package (a test tool's own
 * browser download cannot work on machines that reach only package registries), driven by playwright-core, with a
 * fresh profile per launch and the background services that would reach the network turned off.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why Chromium cannot run here, in one line naming the fix; undefined when it is installed. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `Chromium not found at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH`;
}

/** Runs `fn` in a new headless Chromium with a throwaway profile, then closes it and removes the profile. */
export async function withChromium<T>(
  fn: (context: BrowserContext) => Promise<T>,
  options: { javaScriptEnabled?: boolean; viewport?: { width: number; height: number } } = {},
): Promise<T> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'report-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
      headless: true,
      timeout: 60_000,
      ...options,
    });
    try {
      return await fn(context);
    } finally {
      await context.close();
    }
  } finally {
    await fs.rm(profile, { recursive: true, force: true });
  }
}
