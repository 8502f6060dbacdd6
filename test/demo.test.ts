/**
 * `npm run demo` end to end: spawned exactly as a user runs it (tsx client/cli.ts demo), into a temporary data directory,
 * within a time limit. It must finish, store evidence through the whole path (its own dev server, emulator, consent
 * redirect, worker) and print the Temporal UI URL.
 *
 *   npx tsx test/run.ts demo
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

const ROOT = path.resolve(__dirname, '..');
const LIMIT_MS = 120_000;

describe('demo', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'demo-test-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test(
    'runs to completion, stores evidence and prints the Temporal UI URL',
    { timeout: LIMIT_MS + 10_000 },
    async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
      delete env.EVIDENCE_STORE;
      delete env.TEMPORAL_ADDRESS;
      const started = Date.now();
      const result = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
        (resolve, reject) => {
          const child = spawn(
            process.execPath,
            ['--import', 'tsx', 'client/cli.ts', 'demo', '--data-dir', dataDir, '--envelopes', '200'],
            { cwd: ROOT, env },
          );
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
          // SIGTERM first: the demo shuts its dev server down; SIGKILL if it does not.
          const timer = setTimeout(() => {
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
          }, LIMIT_MS);
          child.on('error', reject);
          child.on('close', (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, stdout, stderr });
          });
        },
      );
      const seconds = (Date.now() - started) / 1000;
      assert.equal(
        result.code,
        0,
        `exit ${result.code} ${result.signal ?? ''} after ${seconds} s\n${result.stdout}\n${result.stderr}`,
      );
      assert.ok(seconds < LIMIT_MS / 1000);

      const out = result.stdout;
      const ui =
        /^Temporal UI: (http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/docusign-connection-demo)$/m.exec(
          out,
        )?.[1];
      assert.ok(ui, out);
      assert.match(
        out,
        /emulator approved consent and redirected to http:\/\/127\.0\.0\.1:\d+\/docusign\/consent\/callback/,
      );
      assert.match(out, /consent callback: Connected — you can close this window/);
      assert.match(out, /^\s+phase\s+idle$/m);

      // The evidence really is in the store: the files match the printed summary.
      const envelopesDir = path.join(dataDir, 'evidence', 'demo', 'envelopes');
      assert.ok(existsSync(envelopesDir), 'evidence directory written');
      const files = readdirSync(envelopesDir).filter((f) => f.endsWith('.json'));
      assert.ok(files.length > 0, 'evidence stored');
      const printed = Number(/^evidence: (\d+) envelope records in /m.exec(out)?.[1]);
      assert.equal(printed, files.length);
      const record = JSON.parse(readFileSync(path.join(envelopesDir, files[0] ?? ''), 'utf8')) as Record<
        string,
        unknown
      >;
      assert.equal(record.connectionId, 'demo');
      assert.ok(record.envelope && typeof record.envelope === 'object');

      // The generated key is a file reference (PKCS#1), never part of the output.
      assert.match(readFileSync(path.join(dataDir, 'private-key.pem'), 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----/);
      assert.doesNotMatch(out + result.stderr, /BEGIN RSA PRIVATE KEY/);
    },
  );
});
