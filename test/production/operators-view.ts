/**
 * What an operator sees in the stack's Temporal Web UI, checked in headless Chromium (test/helpers/chromium.ts): the
 * connections listed, filtered by `DocuSignPhase`, a connection's current details (workflows/summary.ts), and its
 * encrypted payloads shown decoded through the codec server (the browser calls it, as in compose).
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ENCRYPTED_ENCODING } from '../../common/codec';
import { configQuery, type ConnectionStatus } from '../../workflows/messages';
import { currentDetailsOf } from '../../workflows/summary';
import { withChromium } from '../helpers/chromium';

export interface OperatorsView {
  uiUrl: string;
  codecUrl: string;
  namespace: string;
  client: Client;
  /** A synced connection and its status. */
  idle: { handle: WorkflowHandle; status: ConnectionStatus };
  /** A connection awaiting consent. */
  waiting: WorkflowHandle;
  /** Where to keep the screenshots (undefined: none are written). */
  screenshotDir?: string;
}

/** Every frame's text: the UI renders some panels (the markdown of the current details) in frames of their own. */
async function pageText(page: Page): Promise<string> {
  const texts = await Promise.all(
    page.frames().map((f) =>
      f
        .locator('body')
        .innerText()
        .catch(() => ''),
    ),
  );
  return texts.join('\n');
}

/** Waits until the page shows every one of `present` (then none of `absent` may show). */
async function shows(page: Page, what: string, present: string[], absent: string[] = []): Promise<string> {
  const deadline = Date.now() + 30_000;
  let text = '';
  while (Date.now() < deadline) {
    text = await pageText(page);
    if (present.every((p) => text.includes(p))) break;
    await page.waitForTimeout(250);
  }
  const missing = present.filter((p) => !text.includes(p));
  assert.deepEqual(missing, [], `${what}: not shown (page text: ${text.slice(0, 1500)})`);
  const shown = absent.filter((a) => text.includes(a));
  assert.deepEqual(shown, [], `${what}: shown but should not be`);
  return text;
}

export async function checkOperatorsView(view: OperatorsView): Promise<void> {
  const { uiUrl, namespace, idle, waiting } = view;
  const idleId = idle.handle.workflowId;
  // The UI can show the workflow's input only by decoding it: what the server holds is ciphertext.
  const history = await view.client.workflowService.getWorkflowExecutionHistory({
    namespace,
    execution: { workflowId: idleId },
  });
  const input = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  assert.equal(Buffer.from(input?.metadata?.encoding ?? []).toString(), ENCRYPTED_ENCODING);

  const decodes: number[] = [];
  const failed: string[] = [];
  await withChromium(
    async (context) => {
      const page = await context.newPage();
      page.on('response', (r) => {
        if (r.url().startsWith(`${view.codecUrl}/decode`) && r.request().method() === 'POST') decodes.push(r.status());
      });
      page.on('requestfailed', (r) => {
        // Not the UI's news feed (on the internet, which this machine may not reach), nor the UI's long polls that
        // a navigation cancels (ERR_ABORTED).
        const local = r.url().startsWith(uiUrl) || r.url().startsWith(view.codecUrl);
        if (local && r.failure()?.errorText !== 'net::ERR_ABORTED')
          failed.push(`${r.url()}: ${r.failure()?.errorText}`);
      });
      const shot = async (name: string) => {
        if (!view.screenshotDir) return;
        mkdirSync(view.screenshotDir, { recursive: true });
        await page.screenshot({ path: path.join(view.screenshotDir, `${name}.png`), fullPage: true });
      };
      const workflows = `${uiUrl}/namespaces/${namespace}/workflows`;
      const filtered = (phase: string) => `${workflows}?query=${encodeURIComponent(`DocuSignPhase = "${phase}"`)}`;

      await page.goto(workflows);
      await shows(page, 'the connections list', [idleId, waiting.workflowId]);
      await shot('1-connections');

      await page.goto(filtered('idle'));
      await shows(page, 'DocuSignPhase = "idle"', [idleId, 'DocuSignPhase'], [waiting.workflowId]);
      await shot('2-filter-idle');
      await page.goto(filtered('awaiting_consent'));
      await shows(page, 'DocuSignPhase = "awaiting_consent"', [waiting.workflowId], [idleId]);
      await shot('3-filter-awaiting-consent');

      const { runId } = await idle.handle.describe();
      const details = currentDetailsOf(idle.status).replaceAll('**', '').split('\n');
      const lastSync = details.find((l) => l.startsWith('last sync: '));
      await page.goto(`${workflows}/${idleId}/${runId}/user-metadata`);
      await shows(page, 'the current details', ['Current Details', details[0]!, lastSync!]);
      await shot('4-current-details');

      await page.goto(`${workflows}/${idleId}/${runId}/history`);
      const config = await idle.handle.query(configQuery);
      await shows(page, 'the decoded input', [`"integrationKey": "${config.integrationKey}"`], [ENCRYPTED_ENCODING]);
      await shot('5-input-decoded');
    },
    { viewport: { width: 1400, height: 1000 } },
  );
  assert.ok(decodes.length > 0, 'the UI called the codec server');
  assert.deepEqual([...new Set(decodes)], [200], 'every decode answered 200');
  assert.deepEqual(failed, [], 'failed requests to the UI or the codec server');
}
