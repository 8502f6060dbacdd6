/**
 * `npm run report:screenshot [-- --connection ID] [--since ISO] [--out FILE.png]`: renders the HTML report in headless
 * Chromium and saves a full-page PNG (and the HTML beside it), for people to look at. With --connection the report is
 * built from EVIDENCE_STORE (default ./data/evidence), offline (no live status); without it, from a built-in sample
 * account (test/helpers/report-account.ts) in a temporary store. Prints the PNG's path.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createEvidenceStore, DEFAULT_EVIDENCE_STORE, DirectoryStore } from '../activities/store';
import { buildReport } from '../client/report';
import type { LoadReportOptions } from '../client/report/load';
import { withChromium } from '../test/helpers/chromium';
import { FakeProofStore, liveStatus, NOW, proofEntries, scriptAccount } from '../test/helpers/report-account';

const SAMPLE = 'sample';

async function reportHtml(connection: string | undefined, since: string | undefined): Promise<string> {
  if (connection) {
    const store = createEvidenceStore(process.env.EVIDENCE_STORE || DEFAULT_EVIDENCE_STORE);
    try {
      await store.init();
      return (await buildReport('html', { store, connectionId: connection, since, now: new Date() })).text;
    } finally {
      await store.close();
    }
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'report-sample-'));
  const store = new DirectoryStore(dir);
  try {
    await store.init();
    await scriptAccount(store, SAMPLE);
    const options: LoadReportOptions = {
      store,
      connectionId: SAMPLE,
      since,
      now: NOW,
      status: liveStatus(SAMPLE),
      policy: 'all-completed',
      proof: new FakeProofStore(proofEntries()),
    };
    return (await buildReport('html', options)).text;
  } finally {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { connection: { type: 'string' }, since: { type: 'string' }, out: { type: 'string' } },
  });
  const out = path.resolve(values.out ?? path.join('data', 'report-screenshot', `${values.connection ?? SAMPLE}.png`));
  const html = await reportHtml(values.connection, values.since);
  await fs.mkdir(path.dirname(out), { recursive: true });
  const htmlFile = out.replace(/\.png$/i, '') + '.html';
  await fs.writeFile(htmlFile, html);
  await withChromium(
    async (context) => {
      const page = await context.newPage();
      await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
      await page.screenshot({ path: out, fullPage: true });
    },
    { viewport: { width: 1200, height: 900 } },
  );
  console.log(out);
}

main().catch((err: unknown) => {
  console.error(`report:screenshot: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
