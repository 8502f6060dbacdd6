/**
 * The HTML report in a real browser (issue 13 point 5): headless Chromium (Debian's package) opens the file and finds
 * it non-empty, without console errors or network requests, with every section heading and a drawn chart, on screen
 * and in print; with JavaScript off too, since the report needs none. Without Chromium this test
 * fails and says how to install it: it never passes without having looked.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DirectoryStore, type EvidenceStore } from '../activities/store';
import { buildReport } from '../client/report';
import { SECTIONS } from '../client/report/model';
import { chromiumMissing, withChromium } from './helpers/chromium';
import { ENVELOPES, FakeProofStore, liveStatus, NOW, proofEntries, scriptAccount } from './helpers/report-account';

let dir: string;
let store: EvidenceStore;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'report-browser-'));
  store = new DirectoryStore(path.join(dir, 'evidence'));
  await store.init();
  await scriptAccount(store, 'acme');
});
after(async () => {
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Bar segments the scripted account's chart must have: one per month and status. */
const expectedBars = new Set(ENVELOPES.map((e) => `${e.statusChangedDateTime.slice(0, 7)} ${e.status}`)).size;

async function look(html: string, name: string, javaScriptEnabled: boolean) {
  const file = path.join(dir, `${name}.html`);
  await fs.writeFile(file, html);
  return withChromium(
    async (context) => {
      const problems: string[] = [];
      const requests: string[] = [];
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('dialog', (d) => problems.push(`dialog: ${d.message()}`));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

      const text = await page.locator('body').innerText();
      const headings = await page.locator('h2').allInnerTexts();
      // The bars' boxes as laid out: a bar that is not drawn has none, or one of zero size.
      const barBoxes = async () =>
        Promise.all((await page.locator('svg.chart rect.chart-bar').all()).map((bar) => bar.boundingBox()));
      const bars = await barBoxes();
      await page.emulateMedia({ media: 'print' });
      const printedBars = (await barBoxes()).filter((box) => box && box.width > 0 && box.height > 0).length;
      const pdf = await page.pdf({ format: 'A4', printBackground: true });
      return { text, headings, bars, printedBars, pdf, problems, requests };
    },
    { javaScriptEnabled },
  );
}

describe('the HTML report in headless Chromium', () => {
  it('Chromium is installed (.ci/run installs it)', () => {
    assert.equal(chromiumMissing(), undefined);
  });

  it('a full report: non-empty, no console errors or requests, every section, the chart drawn on screen and in print', async () => {
    const { text: html } = await buildReport('html', {
      store,
      connectionId: 'acme',
      now: NOW,
      status: liveStatus('acme'),
      policy: 'all-completed',
      proof: new FakeProofStore(proofEntries()),
    });
    // Scripts on: one that slipped through escaping would be refused by the page's policy, an error in the console.
    const seen = await look(html, 'full', true);
    assert.deepEqual(seen.problems, [], 'no console errors, page errors or dialogs (the hostile <script> stays text)');
    assert.deepEqual(seen.requests, [], 'nothing fetched');
    assert.ok(seen.text.length > 2000, `the page has text (${seen.text.length} characters)`);
    assert.ok(seen.text.includes('<script>alert("owned")</script>'), 'the hostile name is shown as text');
    assert.deepEqual(
      seen.headings,
      SECTIONS.map((s) => s.title),
    );
    assert.equal(seen.bars.length, expectedBars);
    for (const bar of seen.bars)
      assert.ok(bar && bar.width > 0 && bar.height > 0, `a drawn bar: ${JSON.stringify(bar)}`);
    assert.equal(seen.printedBars, expectedBars, 'the chart prints');
    assert.ok(seen.pdf.length > 10_000 && seen.pdf.subarray(0, 5).toString() === '%PDF-', 'prints to PDF');
  });

  it('an empty report still shows every section, saying what is missing', async () => {
    const { text: html } = await buildReport('html', {
      store,
      connectionId: 'nothing',
      now: NOW,
      status: { unavailable: 'timeout' },
    });
    // Scripts off: the report needs none to be read.
    const seen = await look(html, 'empty', false);
    assert.deepEqual(seen.problems, []);
    assert.deepEqual(
      seen.headings,
      SECTIONS.map((s) => s.title),
    );
    assert.match(seen.text, /Temporal did not answer \(timeout\)/);
    assert.match(seen.text, /No envelopes in the period: nothing to chart\./);
    assert.equal(seen.bars.length, 0);
  });
});
