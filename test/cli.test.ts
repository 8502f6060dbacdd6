/**
 * The CLI end to end (design.md §4): every command runs as a SPAWNED process (`bin/docusign-connector.js`) against the
 * run's shared dev server, with the connector worker in this process on a private task queue and the DocuSign
 * emulator behind it.
 *
 *   npx tsx test/run.ts cli
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError } from '@temporalio/client';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FLAG_OF, run } from '../client/cli';
import type { Report } from '../client/report';
import { loadWorkerConfig } from '../worker/config';
import { createLogger } from '../worker/logger';
import { createConnectorWorker, type ConnectorWorker } from '../worker/worker';
import { ERROR_HINTS } from '../workflows/errors';
import { statusQuery, workflowIdOf, type ConnectionStatus } from '../workflows/messages';
import { startEmulator, type Emulator } from '../emulator';
import { rsaKeys } from './helpers/connector';
import { devServerEnv, uniqueTaskQueue, workflowCode } from './helpers/temporal';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'docusign-connector.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as a spawned process (`bin/docusign-connector.js`), with exactly `env`. */
const spawnCli = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });

const IK = randomUUID();
const USER = randomUUID();
const ID = `cli-${randomUUID().slice(0, 8)}`;
const keys = rsaKeys();
const PUBLIC = keys.publicPem;
const OTHER_PUBLIC = rsaKeys().publicPem;

/**
 * Exactly the keys design.md §3 defines, plus `evidence` (the snapshot kinds, §7); lastSync.pages is the one
 * documented addition inside them.
 */
const STATUS_KEYS = new Set([
  'connectionId',
  'environment',
  'phase',
  'consentUrl',
  'account',
  'token',
  'lastSync',
  'lastError',
  'totals',
  'nextSyncAt',
  'evidence',
]);

describe('docusign-connector CLI (spawned)', () => {
  let env: TestWorkflowEnvironment;
  let emu: Emulator;
  let connector: ConnectorWorker;
  let running: Promise<void>;
  let work: string;
  let keyRef: string;
  let cliEnv: NodeJS.ProcessEnv;

  const cli = (...args: string[]): Promise<Run> => spawnCli(cliEnv, ...args);

  /** The same CLI in this process (for checks that never reach Temporal): output captured, nothing spawned. */
  const inProcess = async (...args: string[]): Promise<Run> => {
    let stdout = '';
    let stderr = '';
    const code = await run(args, {
      out: (line) => (stdout += `${line}\n`),
      err: (line) => (stderr += `${line}\n`),
      write: (text) => (stdout += text),
      progress: process.stderr,
      env: cliEnv,
    });
    return { code, stdout, stderr };
  };

  const connectArgs = (id = ID) => [
    'connect',
    '--connection',
    id,
    '--environment',
    'demo',
    '--integration-key',
    IK,
    '--user-id',
    USER,
    '--private-key-ref',
    keyRef,
    '--oauth-base-url',
    emu.url,
  ];

  const query = (id = ID) => env.client.workflow.getHandle(workflowIdOf(id)).query(statusQuery);

  async function waitFor(
    predicate: (s: ConnectionStatus) => boolean,
    what: string,
    id = ID,
  ): Promise<ConnectionStatus> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const status = await query(id);
      if (predicate(status)) return status;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; status: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  before(async () => {
    env = await devServerEnv();
    emu = await startEmulator({ envelopes: 150, seed: 11 });
    emu.registerApp(IK, PUBLIC);
    emu.addUser({ userId: USER });
    work = mkdtempSync(path.join(tmpdir(), 'cli-test-'));
    const keyPath = path.join(work, 'key.pem');
    writeFileSync(keyPath, keys.privatePem, { mode: 0o600 });
    keyRef = `file:${keyPath}`;
    const taskQueue = uniqueTaskQueue('cli');
    const evidence = path.join(work, 'evidence');
    const workerEnv = {
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      EVIDENCE_STORE: evidence,
      LOG_LEVEL: 'silent',
      // The trust rules, set for the worker and (so it checks them before starting anything) the CLI alike.
      DOCUSIGN_KEYS_DIR: work,
      DOCUSIGN_KEY_ENV_PREFIX: 'DOCUSIGN_KEY_',
      DOCUSIGN_ALLOWED_HOSTS: emu.host,
    };
    cliEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...workerEnv };
    connector = await createConnectorWorker({
      config: loadWorkerConfig(workerEnv),
      connection: env.nativeConnection,
      logger: createLogger({ level: 'silent' }),
      workflowCode: await workflowCode(),
    });
    running = connector.worker.run();
  });

  after(async () => {
    connector?.worker.shutdown();
    await running;
    await connector?.close();
    await emu?.stop();
    await env?.teardown();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('--help: the bin and the tsx entry point (spawned), and every command (in process)', async () => {
    const [top, connect, sync] = await Promise.all([
      cli('--help'),
      cli('connect', '--help'),
      new Promise<Run>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'client/cli.ts', 'sync', '--help'], { cwd: ROOT });
        let stdout = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
      }),
    ]);
    const commands = ['worker', 'connect', 'consent', 'status', 'sync', 'disconnect', 'list', 'evidence', 'doctor'];
    const more = ['demo', 'consent-server', 'codec-server', 'connect-listener'];
    assert.equal(top.code, 0);
    for (const c of [...commands, ...more]) assert.match(top.stdout, new RegExp(`^\\s+${c}\\b`, 'm'), c);
    assert.equal(connect.code, 0);
    for (const flag of Object.values(FLAG_OF)) assert.ok(connect.stdout.includes(flag), flag);
    assert.equal(sync.code, 0);
    assert.match(sync.stdout, /--wait/);
    for (const c of [...commands, ...more]) {
      const r = await inProcess(c, '--help');
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, new RegExp(`^Usage: docusign-connector ${c} `), c);
    }
  });

  test('connect prints the consent URL; a second connect is idempotent (same run)', async () => {
    const first = await cli(...connectArgs());
    assert.equal(first.code, 0, first.stderr);
    const url = /^consent URL: (\S+)$/m.exec(first.stdout)?.[1];
    assert.ok(url, first.stdout);
    const consent = new URL(url);
    assert.equal(consent.origin, emu.url);
    assert.equal(consent.pathname, '/oauth/auth');
    assert.equal(consent.searchParams.get('client_id'), IK);
    const runId = /run ([0-9a-f-]{36})/.exec(first.stdout)?.[1];
    assert.ok(runId, first.stdout);

    const second = await cli(...connectArgs());
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /already exists/);
    assert.equal(/run ([0-9a-f-]{36})/.exec(second.stdout)?.[1], runId);
    assert.equal(/^consent URL: (\S+)$/m.exec(second.stdout)?.[1], url);
    const description = await env.client.workflow.getHandle(workflowIdOf(ID)).describe();
    assert.equal(description.runId, runId);

    // Nothing to sync before consent: sync --wait says so instead of waiting.
    const early = await cli('sync', '--connection', ID, '--wait');
    assert.equal(early.code, 1);
    assert.match(early.stderr, /is awaiting consent/);

    // A different config for a running connection is not applied, and the CLI says so.
    const changed = await cli(...connectArgs(), '--sync-interval', '30');
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(/run ([0-9a-f-]{36})/.exec(changed.stdout)?.[1], runId);
    assert.match(changed.stderr, /^note: not applied to the running connection: --sync-interval \(/m);
  });

  test('bad input: exit 2, one line naming the flag and the rule, nothing started', async () => {
    const base = (id: string): Record<string, string> => ({
      '--connection': id,
      '--environment': 'demo',
      '--integration-key': IK,
      '--user-id': USER,
      '--private-key-ref': keyRef,
    });
    const cases: { id: string; change: Record<string, string | undefined>; flag: string; rule: RegExp }[] = [
      { id: 'bad-missing-env', change: { '--environment': undefined }, flag: '--environment', rule: /required/ },
      { id: 'bad-missing-ik', change: { '--integration-key': undefined }, flag: '--integration-key', rule: /required/ },
      { id: 'bad-missing-user', change: { '--user-id': undefined }, flag: '--user-id', rule: /required/ },
      {
        id: 'bad-missing-key',
        change: { '--private-key-ref': undefined },
        flag: '--private-key-ref',
        rule: /required/,
      },
      { id: 'bad-env', change: { '--environment': 'staging' }, flag: '--environment', rule: /'demo' or 'production'/ },
      { id: 'bad-ik', change: { '--integration-key': 'my-app' }, flag: '--integration-key', rule: /GUID/ },
      { id: 'bad-user', change: { '--user-id': 'ops@example.com' }, flag: '--user-id', rule: /GUID.*not an email/ },
      {
        id: 'bad-key',
        change: { '--private-key-ref': '-----BEGIN RSA PRIVATE KEY-----' },
        flag: '--private-key-ref',
        rule: /file:<absolute path>/,
      },
      { id: 'bad-interval', change: { '--sync-interval': '5' }, flag: '--sync-interval', rule: />= 15/ },
      { id: 'Bad ID!', change: {}, flag: '--connection', rule: /must match/ },
    ];
    const runs = await Promise.all(
      [...cases.map((c) => ({ ...base(c.id), ...c.change })), { '--environment': 'demo' }].map((flags) =>
        cli('connect', ...Object.entries(flags).flatMap(([k, v]) => (v === undefined ? [] : [k, v]))),
      ),
    );
    const missingConnection = runs.pop();
    assert.equal(missingConnection?.code, 2);
    assert.match(missingConnection?.stderr ?? '', /^--connection: is required/);
    for (const [i, c] of cases.entries()) {
      const r = runs[i]!;
      assert.equal(r.code, 2, `${c.id}: ${r.stderr}`);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `${c.id}: exactly one line, got ${JSON.stringify(r.stderr)}`);
      assert.ok(lines[0]?.startsWith(`${c.flag}: `), `${c.id}: names ${c.flag}: ${lines[0]}`);
      assert.match(lines[0] ?? '', c.rule, c.id);
      assert.equal(r.stdout, '', c.id);
    }
    // Nothing was started for any of them.
    for (const c of cases.filter((x) => /^[a-z0-9-]+$/.test(x.id))) {
      await assert.rejects(env.client.workflow.getHandle(workflowIdOf(c.id)).describe(), WorkflowNotFoundError, c.id);
    }
    // More rules, in process (same code path, no Temporal needed before validation).
    const rules: [string, string, string, RegExp][] = [
      ['--oauth-base-url', 'ftp://x', '--oauth-base-url', /http\(s\) URL/],
      ['--redirect-uri', 'not a url', '--redirect-uri', /http\(s\) URL/],
      ['--backfill-from', 'last year', '--backfill-from', /ISO date-time/],
      ['--sync-interval', 'hourly', '--sync-interval', /number of minutes/],
      ['--sync-interval', '20.5', '--sync-interval', /whole number/],
      ['--account-id', 'acme', '--account-id', /GUID/],
      ['--signed-proof', 'some', '--signed-proof', /'none', 'all-completed' or/],
      [
        '--signed-proof',
        '{"templateIds":["nope"]}',
        '--signed-proof templateIds.0',
        /must be a GUID \(a template ID\)/,
      ],
    ];
    for (const [flag, value, named, rule] of rules) {
      const flags = Object.entries(base('in-process')).flat();
      const r = await inProcess('connect', ...flags, flag, value);
      assert.equal(r.code, 2, `${flag} ${value}`);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1);
      assert.ok(r.stderr.startsWith(`${named}: `), r.stderr);
      assert.match(r.stderr, rule);
    }
    await assert.rejects(env.client.workflow.getHandle(workflowIdOf('in-process')).describe(), WorkflowNotFoundError);

    // Other commands: missing or bad --connection, unknown options.
    const more = await Promise.all([
      cli('status'),
      cli('consent', '--connection', 'UPPER'),
      cli('sync', '--connection', ID, '--bogus'),
    ]);
    assert.deepEqual(
      more.map((r) => r.code),
      [2, 2, 2],
    );
    assert.match(more[0].stderr, /^--connection: is required\b.*\n$/);
    assert.match(more[1].stderr, /^--connection: must match .*\n$/);
    assert.match(more[2].stderr, /^--bogus: unknown option.*\n$/);
  });

  test('trust rules set in the CLI environment: exit 2, one line naming the flag and the rule, nothing started', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'cli-outside-'));
    try {
      const stray = path.join(outside, 'stray.pem'); // the right key, outside DOCUSIGN_KEYS_DIR
      writeFileSync(stray, keys.privatePem, { mode: 0o600 });
      symlinkSync(stray, path.join(work, 'linked.pem'));
      const flags = (id: string, change: Record<string, string>) =>
        Object.entries({
          '--connection': id,
          '--environment': 'demo',
          '--integration-key': IK,
          '--user-id': USER,
          '--private-key-ref': keyRef,
          '--oauth-base-url': emu.url,
          ...change,
        }).flat();
      const cases: [string, Record<string, string>, RegExp][] = [
        [
          'trust-outside',
          { '--private-key-ref': `file:${stray}` },
          /^--private-key-ref: file:\S+ must be a file inside \S+ \(DOCUSIGN_KEYS_DIR\)$/,
        ],
        [
          'trust-dotdot',
          { '--private-key-ref': `file:${work}/../${path.basename(outside)}/stray.pem` },
          /^--private-key-ref: .* must be a file inside/,
        ],
        [
          'trust-symlink',
          { '--private-key-ref': `file:${work}/linked.pem` },
          /^--private-key-ref: .* through a symlink$/,
        ],
        [
          'trust-env',
          { '--private-key-ref': 'env:HOME' },
          /^--private-key-ref: env:HOME must name an environment variable starting with DOCUSIGN_KEY_ \(DOCUSIGN_KEY_ENV_PREFIX\)$/,
        ],
        [
          'trust-host',
          { '--oauth-base-url': 'http://127.0.0.1:1' },
          /^--oauth-base-url: http:\/\/127\.0\.0\.1:1 is not a trusted OAuth host: a demo connection uses https:\/\/account-d\.docusign\.com; any other host must be listed as host:port in DOCUSIGN_ALLOWED_HOSTS$/,
        ],
        [
          'trust-host-env',
          { '--environment': 'production', '--oauth-base-url': 'https://account-d.docusign.com' },
          /^--oauth-base-url: https:\/\/account-d\.docusign\.com is not a trusted OAuth host: a production connection uses/,
        ],
      ];
      // Two as spawned processes (the real exit code), the rest in process (same code path).
      const runs = await Promise.all(
        cases.map(([id, change], i) => (i < 2 ? cli : inProcess)('connect', ...flags(id, change))),
      );
      for (const [i, [id, , rule]] of cases.entries()) {
        const r = runs[i]!;
        assert.equal(r.code, 2, `${id}: ${r.stdout}${r.stderr}`);
        const lines = r.stderr.split('\n').filter(Boolean);
        assert.equal(lines.length, 1, `${id}: one line, got ${JSON.stringify(r.stderr)}`);
        assert.match(lines[0]!, rule, id);
        assert.equal(r.stdout, '', id);
        await assert.rejects(env.client.workflow.getHandle(workflowIdOf(id)).describe(), WorkflowNotFoundError, id);
      }

      // Without the variables here the CLI cannot know the worker's settings: it starts the connection and notes
      // that the worker decides about the OAuth host.
      const bare = { ...cliEnv };
      for (const name of ['DOCUSIGN_KEYS_DIR', 'DOCUSIGN_KEY_ENV_PREFIX', 'DOCUSIGN_ALLOWED_HOSTS']) delete bare[name];
      let stderr = '';
      const code = await run(
        [
          'connect',
          ...flags('trust-unset', { '--private-key-ref': `file:${stray}`, '--oauth-base-url': 'http://127.0.0.1:1' }),
        ],
        {
          out: () => undefined,
          err: (line) => (stderr += `${line}\n`),
          write: () => undefined,
          progress: process.stderr,
          env: bare,
        },
      );
      const handle = env.client.workflow.getHandle(workflowIdOf('trust-unset'));
      try {
        assert.equal(code, 0, stderr);
        assert.match(
          stderr,
          /^note: --oauth-base-url: http:\/\/127\.0\.0\.1:1 is not a trusted OAuth host: .*\(DOCUSIGN_ALLOWED_HOSTS is not set here, so the connection is started and the worker's own list decides\)$/m,
        );
      } finally {
        await handle.terminate('test cleanup').catch(() => undefined);
      }
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('consent → idle; consent again still exits 0; status --json is the query result exactly', async () => {
    // The user consents at DocuSign (the browser part), then the platform delivers consentGranted.
    emu.grantConsent(IK, USER);
    const consent = await cli('consent', '--connection', ID);
    assert.equal(consent.code, 0, consent.stderr);
    await waitFor((s) => s.phase === 'idle' && s.totals.syncs === 1, 'the first sync');
    const again = await cli('consent', '--connection', ID);
    assert.equal(again.code, 0, again.stderr);

    const status = await cli('status', '--connection', ID, '--json');
    assert.equal(status.code, 0, status.stderr);
    const json = JSON.parse(status.stdout) as ConnectionStatus;
    assert.deepEqual(json, JSON.parse(JSON.stringify(await query())));
    for (const key of Object.keys(json)) assert.ok(STATUS_KEYS.has(key), `unexpected status key ${key}`);
    assert.equal(json.connectionId, ID);
    assert.equal(json.environment, 'demo');
    assert.equal(json.phase, 'idle');
    assert.equal(json.consentUrl, undefined);
    assert.ok(json.account?.accountId && json.account.baseUri.startsWith(emu.url));
    assert.ok(Date.parse(json.token?.expiresAt ?? '') > Date.now());
    assert.ok(json.lastSync?.finishedAt && json.lastSync.cursor && json.lastSync.envelopes > 0);
    assert.equal(json.totals.envelopes, json.lastSync.envelopes);
    assert.ok(Date.parse(json.nextSyncAt ?? '') > Date.now());
    assert.match(status.stdout, /^\{\n {2}"connectionId"/);

    const text = await cli('status', '--connection', ID);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^phase\s+idle$/m);
    assert.match(text.stdout, new RegExp(`^stored\\s+${json.totals.envelopes} envelopes`, 'm'));
  });

  test('connect --consent-granted: the user consented already, so it authorizes at once without a consent URL', async () => {
    const id = `${ID}-consented`;
    const connected = await cli(...connectArgs(id), '--consent-granted');
    assert.equal(connected.code, 0, connected.stderr);
    assert.match(connected.stdout, /^connection \S+ started \(workflow /m);
    assert.match(connected.stdout, /^consentGranted delivered with the start/m);
    assert.doesNotMatch(connected.stdout, /consent URL/);
    const idle = await waitFor((s) => s.phase === 'idle', 'the consented connection', id);
    assert.equal(idle.consentUrl, undefined);
    assert.ok(idle.totals.envelopes > 0);
    const history = await env.client.workflow.getHandle(workflowIdOf(id)).fetchHistory();
    const activities = history.events?.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    assert.ok(!activities?.includes('consentUrl'), `no consent link was built: ${activities?.join(', ')}`);
  });

  test('sync --wait --json: exit 0 and lastSync; needs_attention: exit 1 and lastError', async () => {
    const accountId = (await query()).account?.accountId ?? '';
    emu.mutate(accountId, 5);
    const ok = await cli('sync', '--connection', ID, '--wait', '--json');
    assert.equal(ok.code, 0, ok.stderr);
    const lastSync = JSON.parse(ok.stdout) as ConnectionStatus['lastSync'];
    assert.equal(lastSync?.envelopes, 5);
    assert.ok(lastSync?.finishedAt);
    assert.deepEqual(lastSync, (await query()).lastSync);
    assert.equal((await query()).totals.syncs, 2);

    // A replaced public key and revoked tokens: the next sync's re-mint fails with invalid_grant.
    emu.registerApp(IK, OTHER_PUBLIC);
    emu.faults.revokeTokens();
    const failed = await cli('sync', '--connection', ID, '--wait', '--json');
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    const lastError = JSON.parse(failed.stdout) as NonNullable<ConnectionStatus['lastError']>;
    assert.equal(lastError.code, 'invalid_grant');
    assert.match(lastError.message, /no_valid_keys_or_signatures/);
    assert.equal(lastError.hint, ERROR_HINTS.invalid_grant);
    assert.match(failed.stderr, /needs_attention: invalid_grant/);

    // Status text shows the hint; the fixed key and a sync bring it back.
    const text = await cli('status', '--connection', ID);
    assert.match(text.stdout, /^phase\s+needs_attention$/m);
    assert.ok(text.stdout.includes(ERROR_HINTS.invalid_grant));
    emu.registerApp(IK, PUBLIC);
    const recovered = await cli('sync', '--connection', ID, '--wait');
    assert.equal(recovered.code, 0, recovered.stderr);
    assert.match(recovered.stdout, /^synced: \d+ envelopes? new or changed/m);
    assert.equal((await query()).phase, 'idle');
  });

  test('list --json and evidence --json', async () => {
    const status = await query();
    let mine: unknown;
    for (let attempt = 0; attempt < 10 && !mine; attempt++) {
      const list = await cli('list', '--json');
      assert.equal(list.code, 0, list.stderr);
      const rows = JSON.parse(list.stdout) as Record<string, unknown>[];
      assert.ok(Array.isArray(rows));
      for (const row of rows) {
        for (const key of Object.keys(row)) {
          assert.ok(['connectionId', 'environment', 'phase', 'lastSyncAt'].includes(key), `list key ${key}`);
        }
      }
      mine = rows.find(
        (r) => r.connectionId === ID && r.phase === 'idle' && r.lastSyncAt === status.lastSync?.finishedAt,
      );
      if (!mine) await new Promise((r) => setTimeout(r, 300)); // visibility is eventually consistent
    }
    assert.deepEqual(mine, {
      connectionId: ID,
      environment: 'demo',
      phase: 'idle',
      lastSyncAt: status.lastSync?.finishedAt,
    });

    const evidence = await cli('evidence', '--connection', ID, '--json');
    assert.equal(evidence.code, 0, evidence.stderr);
    const lines = evidence.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, status.totals.envelopes);
    const ids = new Set<string>();
    for (const line of lines) {
      const record = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(record).sort(), [
        'connectionId',
        'envelope',
        'envelopeId',
        'status',
        'statusChangedDateTime',
        'syncedAt',
      ]);
      const envelope = record.envelope as Record<string, unknown>;
      assert.equal(record.connectionId, ID);
      assert.equal(envelope.envelopeId, record.envelopeId);
      assert.equal(envelope.status, record.status);
      assert.equal(envelope.statusChangedDateTime, record.statusChangedDateTime);
      assert.ok(envelope.recipients, 'recipients included');
      ids.add(record.envelopeId as string);
    }
    assert.equal(ids.size, lines.length);
    const text = await cli('evidence', '--connection', ID);
    assert.equal(text.stdout.split('\n').filter(Boolean).length, lines.length);
  });

  test("report: complete from the worker's store; from another EVIDENCE_STORE marked incomplete, said on stderr", async () => {
    const status = await query();
    const taken = Object.entries(status.evidence ?? {}).filter(
      ([, s]) => s && 'lastSnapshotAt' in s && s.lastSnapshotAt,
    );
    assert.ok(status.totals.envelopes > 0 && taken.length > 0, 'envelopes stored and snapshots taken');

    const good = await cli('report', '--connection', ID, '--format', 'json');
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.stderr, '');
    const complete = JSON.parse(good.stdout) as Report;
    assert.equal(complete.connection.stored.envelopes, status.totals.envelopes);
    assert.equal(complete.connection.storeBehind, undefined);

    const elsewhere = path.join(work, 'not-the-workers-store');
    const out = path.join(work, 'report.html');
    const wrongEnv = { ...cliEnv, EVIDENCE_STORE: elsewhere };
    const html = await spawnCli(wrongEnv, 'report', '--connection', ID, '--out', out);
    assert.equal(html.code, 0, html.stderr);
    const warning = html.stderr.split('\n').filter(Boolean);
    assert.equal(warning.length, 1, html.stderr);
    assert.match(
      warning[0]!,
      new RegExp(`^warning: Incomplete: .*0 stored envelopes where the workflow counted ${status.totals.envelopes}`),
    );
    assert.match(warning[0]!, /EVIDENCE_STORE/);
    assert.ok(warning[0]!.endsWith(`The store read: directory ${elsewhere}.`), warning[0]);
    assert.match(readFileSync(out, 'utf8'), /<p class="warning" role="alert">Incomplete: /);
    const json = await spawnCli(wrongEnv, 'report', '--connection', ID, '--format', 'json');
    const behind = (JSON.parse(json.stdout) as Report).connection.storeBehind;
    assert.deepEqual(behind?.envelopes, { stored: 0, counted: status.totals.envelopes });
    assert.deepEqual(
      behind?.snapshots.map((s) => s.kind).sort(),
      taken.map(([kind]) => kind).sort(),
      'every kind the workflow took is missing from the other store',
    );
  });

  test('doctor: every check passes; a replaced public key is an invalid_grant FAIL with the fix', async () => {
    const good = await cli('doctor', '--connection', ID);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    const rows = good.stdout.split('\n').filter((l) => /^(PASS|FAIL|SKIP) /.test(l));
    assert.deepEqual(
      rows.map((l) => l.split(/\s{2,}/)[1]),
      ['private key', 'environment', 'clock', 'key accepted', 'consent', 'account', 'rate limit', 'evidence store'],
    );
    assert.ok(
      rows.every((l) => l.startsWith('PASS')),
      good.stdout,
    );
    assert.match(good.stdout, /override OAuth host 127\.0\.0\.1:\d+/);
    assert.match(good.stdout, /calls left this hour/);

    const elsewhere = path.join(work, 'doctor-elsewhere');
    const counted = (await query()).totals.envelopes;
    const wrongStore = await spawnCli({ ...cliEnv, EVIDENCE_STORE: elsewhere }, 'doctor', '--connection', ID);
    assert.equal(wrongStore.code, 1, wrongStore.stdout);
    const storeLines = wrongStore.stdout.split('\n');
    const at = storeLines.findIndex((l) => /^FAIL\s+evidence store\s/.test(l));
    assert.ok(
      storeLines[at]?.endsWith(
        `directory ${elsewhere}: 0 envelopes stored, 0 quarantined, where the workflow counted ${counted} after its last sync`,
      ),
      wrongStore.stdout,
    );
    assert.match(storeLines[at + 1] ?? '', /fix: EVIDENCE_STORE here is not the worker's store/);

    emu.registerApp(IK, OTHER_PUBLIC);
    try {
      const bad = await cli('doctor', '--connection', ID);
      assert.equal(bad.code, 1, bad.stdout);
      const lines = bad.stdout.split('\n');
      const i = lines.findIndex((l) => /^FAIL\s+key accepted\s+.*invalid_grant.*no_valid_keys_or_signatures/.test(l));
      assert.ok(i >= 0, bad.stdout);
      assert.equal(lines[i + 1]?.trim(), `fix: ${ERROR_HINTS.invalid_grant}`);
      assert.match(bad.stdout, /^PASS\s+private key/m);
    } finally {
      emu.registerApp(IK, PUBLIC);
    }
  });

  test('an unreadable journal line: evidence warns (stderr, --json stays clean) and doctor FAILs, naming where', async () => {
    const journal = path.join(work, 'evidence', ID, 'changes.jsonl');
    const at = statSync(journal).size;
    appendFileSync(journal, 'not a record\n');
    const [json, doctor] = await Promise.all([
      cli('evidence', '--connection', ID, '--json'),
      cli('doctor', '--connection', ID),
    ]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stdout.split('\n').filter(Boolean).length, (await query()).totals.envelopes, 'every record');
    assert.match(
      json.stderr,
      new RegExp(`^warning: 1 unreadable stored line skipped \\(${journal} at byte ${at}\\)`, 'm'),
    );
    assert.equal(doctor.code, 1, doctor.stdout);
    assert.match(
      doctor.stdout,
      new RegExp(`^FAIL\\s+evidence store\\s+.*1 unreadable line skipped: ${journal} at byte ${at}`, 'm'),
    );
  });

  test('disconnect → status shows disconnected; unknown connections exit 1', async () => {
    const stored = (await query()).totals.envelopes;
    const disconnect = await cli('disconnect', '--connection', ID);
    assert.equal(disconnect.code, 0, disconnect.stderr);
    assert.match(disconnect.stdout, new RegExp(`disconnected; ${stored} envelopes kept`));
    const [json, text, evidence] = await Promise.all([
      cli('status', '--connection', ID, '--json'),
      cli('status', '--connection', ID),
      cli('evidence', '--connection', ID, '--json'),
    ]);
    assert.equal(json.code, 0, json.stderr);
    const status = JSON.parse(json.stdout) as ConnectionStatus;
    assert.equal(status.phase, 'disconnected');
    assert.equal(status.nextSyncAt, undefined);
    assert.match(text.stdout, /^phase\s+disconnected$/m);
    assert.equal(evidence.stdout.split('\n').filter(Boolean).length, stored, 'evidence is kept');

    const unknown = await Promise.all([
      cli('status', '--connection', 'no-such-connection'),
      cli('consent', '--connection', 'no-such-connection'),
      cli('sync', '--connection', 'no-such-connection', '--wait'),
      cli('doctor', '--connection', 'no-such-connection'),
    ]);
    for (const r of unknown) {
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /^connection no-such-connection not found .*\n$/);
    }
    const consentAfter = await cli('consent', '--connection', ID);
    assert.equal(consentAfter.code, 1);
    assert.match(consentAfter.stderr, /is disconnected/);
  });
});

// Needs no Temporal: the keys are checked before anything else.
test('connect-listener without CONNECT_HMAC_KEYS: exit 2, one line naming the variable and the rule', async () => {
  const r = await spawnCli({ PATH: process.env.PATH, HOME: process.env.HOME }, 'connect-listener', '--port', '0');
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^CONNECT_HMAC_KEYS: is required by connect-listener \(.*comma-separated.*\)\n$/);
  // Keys too short to be DocuSign's: the same exit, in process (same code path).
  let stderr = '';
  const io = { out: () => undefined, write: () => undefined, progress: process.stderr };
  const code = await run(['connect-listener'], {
    ...io,
    err: (l) => (stderr += `${l}\n`),
    env: { CONNECT_HMAC_KEYS: 'a,b' },
  });
  assert.equal(code, 2);
  assert.match(stderr, /^CONNECT_HMAC_KEYS: must be .*at least 32 characters\n$/);
});
