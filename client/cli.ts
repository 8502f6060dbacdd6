/**
 * `docusign-connector`: the command line (design.md §4). Temporal connection from the environment, as the worker's:
 * TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, TLS / API key, PAYLOAD_CODEC_KEYS.
 *
 * Exit codes: 0 success; 1 a failure (one line on stderr: unknown connection, Temporal unreachable, a sync that ended
 * in needs_attention, a failed doctor check); 2 bad input (one line on stderr naming the flag or variable and the
 * rule; nothing is started or sent).
 *
 * Only commander, the config schema and the trust rules load up front, so bad input is rejected fast; the Temporal
 * client, the worker, the demo and the doctor's DocuSign client are loaded (require) by the commands that need them.
 */
import { Command, CommanderError } from 'commander';
import {
  KeyRefViolation,
  keyRefViolation,
  oauthUrlViolation,
  resolveKeyFile,
  type TrustPolicy,
} from '../activities/trust';
import {
  CONNECTION_ID,
  CONNECTION_RULE,
  connectionConfigSchema,
  InvalidConfigError,
  oauthBaseUrlOf,
  type ConnectionConfig,
} from '../workflows/config';
import type { ConnectionStatus } from '../workflows/messages';
import type { WorkerConfig } from '../worker/config';
import type { ConnectorClient, ConnectionSummary } from './client';
// Type-only imports: the modules themselves are loaded lazily.
import type * as ClientModule from './client';
import type * as CodecModule from '../common/codec';
import type * as CodecServerModule from './codec-server';
import type * as ConsentServerModule from './consent-server';
import type * as DemoModule from './demo';
import type * as DoctorModule from './doctor';
import type * as LoggerModule from '../worker/logger';
import type * as WorkerConfigModule from '../worker/config';
import type * as WorkerMainModule from '../worker/main';

/* eslint-disable @typescript-eslint/no-require-imports */
const load = {
  client: () => require('./client') as typeof ClientModule,
  codec: () => require('../common/codec') as typeof CodecModule,
  codecServer: () => require('./codec-server') as typeof CodecServerModule,
  consentServer: () => require('./consent-server') as typeof ConsentServerModule,
  demo: () => require('./demo') as typeof DemoModule,
  doctor: () => require('./doctor') as typeof DoctorModule,
  logger: () => require('../worker/logger') as typeof LoggerModule,
  workerConfig: () => require('../worker/config') as typeof WorkerConfigModule,
  workerMain: () => require('../worker/main') as typeof WorkerMainModule,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Bad input: exit 2, nothing started. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Connection config field → the `connect` flag that sets it. */
export const FLAG_OF: Record<keyof ConnectionConfig, string> = {
  connectionId: '--connection',
  environment: '--environment',
  integrationKey: '--integration-key',
  userId: '--user-id',
  privateKeyRef: '--private-key-ref',
  accountId: '--account-id',
  oauthBaseUrl: '--oauth-base-url',
  redirectUri: '--redirect-uri',
  syncIntervalMinutes: '--sync-interval',
  backfillFrom: '--backfill-from',
};

const REQUIRED: { field: keyof ConnectionConfig; what: string }[] = [
  { field: 'connectionId', what: 'the connection ID, e.g. acme-prod' },
  { field: 'environment', what: "'demo' or 'production'" },
  { field: 'integrationKey', what: 'the Integration Key GUID' },
  { field: 'userId', what: 'the GUID of the impersonated user, not an email' },
  { field: 'privateKeyRef', what: "'file:<absolute path>' or 'env:<VAR_NAME>'" },
];

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Raw writes (help text). */
  write: (text: string) => void;
  /** Progress output (stderr); `isTTY` decides between a rewritten line and plain lines. */
  progress: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

const defaultIo = (): Io => ({
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  write: (text) => process.stdout.write(text),
  progress: process.stderr,
  env: process.env,
});

// ---------------------------------------------------------------------------------------------------------------------
// Input checks (all before anything is started)

function connectionIdOf(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new UsageError('--connection: is required (the connection ID)');
  if (!CONNECTION_ID.test(value)) {
    throw new UsageError(`--connection: ${CONNECTION_RULE}`);
  }
  return value;
}

/** Builds and validates the connection config from `connect`'s flags; the error names the flag, not the field. */
export function configFromFlags(flags: Record<string, unknown>): ConnectionConfig {
  for (const { field, what } of REQUIRED) {
    if (flags[field === 'connectionId' ? 'connection' : field] === undefined) {
      throw new UsageError(`${FLAG_OF[field]}: is required (${what})`);
    }
  }
  const input: Record<string, unknown> = {
    connectionId: flags.connection,
    environment: flags.environment,
    integrationKey: flags.integrationKey,
    userId: flags.userId,
    privateKeyRef: flags.privateKeyRef,
  };
  const optional = ['accountId', 'oauthBaseUrl', 'redirectUri', 'backfillFrom'] as const;
  for (const key of optional) if (flags[key] !== undefined) input[key] = flags[key];
  const interval = flags.syncInterval;
  if (typeof interval === 'string')
    input.syncIntervalMinutes = /^-?\d+(\.\d+)?$/.test(interval) ? Number(interval) : interval;
  const parsed = connectionConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => {
      const field = issue.path[0] as keyof ConnectionConfig | undefined;
      return `${field && field in FLAG_OF ? FLAG_OF[field] : 'config'}: ${issue.message}`;
    });
    throw new UsageError(issues.join('; '));
  }
  return parsed.data;
}

/**
 * The worker's trust rules (activities/trust.ts) applied to `connect` before anything starts. The CLI cannot see the
 * worker's settings, so a rule applies when its variable is set here: DOCUSIGN_KEYS_DIR (`file:` references, symlinks
 * followed when the file exists on this machine), DOCUSIGN_KEY_ENV_PREFIX (`env:` references), DOCUSIGN_ALLOWED_HOSTS
 * (--oauth-base-url). Without DOCUSIGN_ALLOWED_HOSTS only the environment's DocuSign host passes silently; another host
 * is started with a note, and the worker refuses it unless its own list has it. Returns that note.
 */
export async function checkTrust(
  config: ConnectionConfig,
  env: NodeJS.ProcessEnv,
  trust: TrustPolicy,
): Promise<string | undefined> {
  const isSet = (name: string) => !!env[name]?.trim();
  const ref = config.privateKeyRef;
  const isFile = ref.startsWith('file:');
  if (isSet(isFile ? 'DOCUSIGN_KEYS_DIR' : 'DOCUSIGN_KEY_ENV_PREFIX')) {
    let rule = keyRefViolation(ref, trust);
    if (!rule && isFile) {
      rule = await resolveKeyFile(ref.slice(5), trust.keysDir).then(
        () => undefined,
        // A file this machine does not have is the worker's to resolve.
        (err: unknown) => (err instanceof KeyRefViolation ? err.message : undefined),
      );
    }
    if (rule) throw new UsageError(`${FLAG_OF.privateKeyRef}: ${ref} ${rule}`);
  }
  const untrusted = oauthUrlViolation(oauthBaseUrlOf(config), config.environment, trust);
  if (!untrusted) return undefined;
  if (isSet('DOCUSIGN_ALLOWED_HOSTS')) throw new UsageError(`${FLAG_OF.oauthBaseUrl}: ${untrusted}`);
  return (
    `note: ${FLAG_OF.oauthBaseUrl}: ${untrusted} (DOCUSIGN_ALLOWED_HOSTS is not set here, so the connection is ` +
    "started and the worker's own list decides)"
  );
}

function portOf(value: unknown, flag = '--port'): number {
  const text = String(value);
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65535) throw new UsageError(`${flag}: must be a whole number from 0 to 65535`);
  return n;
}

function hostOf(value: unknown): string {
  const text = String(value);
  if (!/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+|[A-Za-z0-9.-]+)$/.test(text)) {
    throw new UsageError('--host: must be a host name or IP address to bind, e.g. 127.0.0.1 or 0.0.0.0');
  }
  return text.replace(/^\[(.*)\]$/, '$1');
}

function workerConfigOf(env: NodeJS.ProcessEnv): WorkerConfig {
  const { ConfigError, loadWorkerConfig } = load.workerConfig();
  try {
    return loadWorkerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message.split('\n').join('; '));
    throw err;
  }
}

/** One line for a commander parse error, naming the flag or command. */
function usageLine(err: CommanderError): string {
  const message = err.message.replace(/^error:\s*/, '').split('\n')[0] ?? err.message;
  const flag = /'(-{1,2}[A-Za-z0-9-]+)/.exec(message)?.[1];
  switch (err.code) {
    case 'commander.unknownOption':
      return `${flag ?? message}: unknown option (see --help)`;
    case 'commander.optionMissingArgument':
      return `${flag ?? message}: needs a value`;
    case 'commander.missingMandatoryOptionValue':
      return `${flag ?? message}: is required`;
    case 'commander.unknownCommand': {
      const name = /'([^']+)'/.exec(message)?.[1];
      return `${name ?? message}: unknown command (see docusign-connector --help)`;
    }
    case 'commander.excessArguments':
      return `${message} (options take the form --flag value; see --help)`;
    default:
      return message;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The program

/** Runs the CLI on `args` (without node and script); resolves with the exit code. */
export async function run(args: string[], io: Io = defaultIo()): Promise<number> {
  let code = 0;
  let client: ConnectorClient | undefined;
  let workerConfig: WorkerConfig | undefined;
  // The environment is read and checked once per command (a bad variable: exit 2 before anything connects).
  const config = (): WorkerConfig => (workerConfig ??= workerConfigOf(io.env));
  const getClient = async (): Promise<ConnectorClient> =>
    (client ??= await load.client().ConnectorClient.fromConfig(config()));
  const trust = (): TrustPolicy => config().trust;

  const program = new Command('docusign-connector')
    .description('DocuSign evidence source for Iru Compliance: connections run as Temporal workflows.')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.write(s),
      writeErr: (s) => process.stderr.write(s),
      outputError: () => undefined, // reported as one line below
    })
    .addHelpText(
      'after',
      '\nTemporal from the environment: TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE.\n' +
        'Exit codes: 0 ok, 1 failure, 2 bad input (nothing started).',
    );

  program
    .command('worker')
    .description('run the worker (same as npm start); with TEMPORAL_ADDRESS it never starts an embedded server')
    .action(async () => {
      const { runWorker } = load.workerMain();
      await runWorker(config());
    });

  program
    .command('connect')
    .description('validate the config, start the connection workflow and print the consent URL')
    .option('--connection <id>', 'connection ID (/^[a-z0-9][a-z0-9_-]{0,62}$/)')
    .option('--environment <env>', "DocuSign environment: 'demo' or 'production'")
    .option('--integration-key <guid>', 'Integration Key (GUID)')
    .option('--user-id <guid>', 'GUID of the impersonated user (not an email)')
    .option('--private-key-ref <ref>', "'file:<absolute path>' or 'env:<VAR_NAME>' (a reference, never the key)")
    .option('--account-id <guid>', "DocuSign account ID (default: the user's default account)")
    .option('--oauth-base-url <url>', 'OAuth base URL override (default by environment)')
    .option('--redirect-uri <url>', "consent redirect URI (default: the worker's CONSENT_REDIRECT_URI)")
    .option('--sync-interval <minutes>', 'minutes between syncs, >= 15 (default 60)')
    .option('--backfill-from <iso>', 'first sync starts here (default 365 days back)')
    .action(async (flags: Record<string, unknown>) => {
      const config = configFromFlags(flags);
      const note = await checkTrust(config, io.env, trust());
      if (note) io.err(note);
      const c = await getClient();
      const result = await c.connect(config);
      if (result.created) {
        io.out(`connection ${config.connectionId} started (workflow ${result.workflowId}, run ${result.runId})`);
      } else {
        io.out(
          `connection ${config.connectionId} already exists (workflow ${result.workflowId}, run ${result.runId}); nothing started`,
        );
        if (result.comparisonError !== undefined) {
          io.err(
            `note: could not compare the flags with the running connection's config (${result.comparisonError}); ` +
              'flags that differ were not applied',
          );
        } else if (result.differingFields.length) {
          io.err(
            `note: not applied to the running connection: ${result.differingFields.map((f) => FLAG_OF[f]).join(', ')} ` +
              '(it keeps its current values; disconnect and connect again to change them)',
          );
        }
      }
      let status: ConnectionStatus;
      try {
        status = await c.waitForConsentUrl(config.connectionId);
      } catch (err) {
        if (err instanceof load.client().ConnectorClientError) {
          io.err(`note: ${err.message}; the consent URL appears in \`status\` once a worker runs`);
          return;
        }
        throw err;
      }
      if (status.consentUrl) {
        io.out(`consent URL: ${status.consentUrl}`);
        io.out(
          'Open it signed in as the DocuSign user and accept; the consent callback (or `consent`) continues the connection.',
        );
      } else {
        io.out(
          `phase: ${status.phase}${status.phase === 'awaiting_consent' ? ' (consent URL not built yet; see `status`)' : ''}`,
        );
      }
    });

  program
    .command('consent')
    .description('deliver consentGranted (exit 0 whenever the connection exists)')
    .option('--connection <id>', 'connection ID')
    .action(async (flags: { connection?: string }) => {
      const id = connectionIdOf(flags.connection);
      const c = await getClient();
      await c.consent(id);
      io.out(`consentGranted delivered to connection ${id}`);
    });

  program
    .command('status')
    .description('print the status query (exactly the JSON with --json)')
    .option('--connection <id>', 'connection ID')
    .option('--json', 'print the status as JSON')
    .action(async (flags: { connection?: string; json?: boolean }) => {
      const id = connectionIdOf(flags.connection);
      const status = await (await getClient()).status(id);
      if (flags.json) io.out(JSON.stringify(status, null, 2));
      else for (const line of load.client().describeStatus(status)) io.out(line);
    });

  program
    .command('sync')
    .description('deliver syncNow; with --wait, return when the sync it triggered has finished')
    .option('--connection <id>', 'connection ID')
    .option('--wait', 'wait for the sync: exit 0 and lastSync, or exit 1 and lastError (needs_attention)')
    .option('--json', 'with --wait: print lastSync / lastError as JSON')
    .action(async (flags: { connection?: string; wait?: boolean; json?: boolean }) => {
      const id = connectionIdOf(flags.connection);
      const c = await getClient();
      if (!flags.wait) {
        await c.syncNow(id);
        io.out(`syncNow delivered to connection ${id}`);
        return;
      }
      // The status query first: it proves a worker answers (else the update would wait for one indefinitely), and
      // a connection that awaits consent has nothing to sync yet.
      const before = await c.status(id);
      const { ConnectionClosedError } = load.client();
      if (before.phase === 'disconnected') throw new ConnectionClosedError(id, 'COMPLETED');
      if (before.phase === 'awaiting_consent') {
        io.err(`connection ${id} is awaiting consent; it syncs once consent is granted (consent URL in \`status\`)`);
        code = 1;
        return;
      }
      const status = await withProgress(c, id, io, c.syncAndWait(id));
      if (status.phase === 'needs_attention' && status.lastError) {
        const e = status.lastError;
        if (flags.json) io.out(JSON.stringify(e));
        io.err(`sync ended in needs_attention: ${e.code}: ${e.message} (fix: ${e.hint})`);
        code = 1;
      } else if (status.phase === 'disconnected') {
        io.err(`connection ${id} was disconnected before the sync finished`);
        code = 1;
      } else if (flags.json) {
        io.out(JSON.stringify(status.lastSync ?? null));
      } else if (status.lastSync) {
        const s = status.lastSync;
        io.out(
          `synced: ${s.envelopes} envelope${s.envelopes === 1 ? '' : 's'} new or changed` +
            `${s.pages === undefined ? '' : ` in ${s.pages} page${s.pages === 1 ? '' : 's'}`}, finished ${s.finishedAt ?? '?'}; ` +
            `${status.totals.envelopes} stored in total`,
        );
      }
    });

  program
    .command('disconnect')
    .description('deliver disconnect (the workflow completes; evidence is kept)')
    .option('--connection <id>', 'connection ID')
    .action(async (flags: { connection?: string }) => {
      const id = connectionIdOf(flags.connection);
      const c = await getClient();
      const final = await c.disconnect(id, { wait: true, timeoutMs: 20_000 });
      if (final) {
        io.out(`connection ${id} disconnected; ${final.totals.envelopes} envelopes kept in the evidence store`);
      } else {
        io.out(`disconnect delivered to connection ${id}; it completes when a worker processes it`);
      }
    });

  program
    .command('list')
    .description('all connections from visibility (search attributes)')
    .option('--json', 'print [{ connectionId, environment, phase, lastSyncAt? }]')
    .action(async (flags: { json?: boolean }) => {
      const connections = await (await getClient()).list();
      if (flags.json) io.out(JSON.stringify(connections, null, 2));
      else printTable(connections, io);
    });

  program
    .command('evidence')
    .description('the stored envelope records (one JSON object per line with --json)')
    .option('--connection <id>', 'connection ID')
    .option('--json', 'one JSON record per line')
    .option('--quarantined', 'the quarantined envelopes instead: listed by DocuSign, not valid yet, with the reason')
    .action(async (flags: { connection?: string; json?: boolean; quarantined?: boolean }) => {
      const id = connectionIdOf(flags.connection);
      const spec = config().evidenceStore;
      let count = 0;
      if (flags.quarantined) {
        for (const entry of await load.client().readQuarantined(spec, id)) {
          count += 1;
          io.out(flags.json ? JSON.stringify(entry) : `${entry.envelopeId}  ${entry.quarantinedAt}  ${entry.reason}`);
        }
      } else {
        for await (const record of load.client().readEvidence(spec, id)) {
          count += 1;
          if (flags.json) {
            io.out(JSON.stringify(record));
          } else {
            const subject = typeof record.envelope.emailSubject === 'string' ? `  ${record.envelope.emailSubject}` : '';
            io.out(`${record.envelopeId}  ${record.status.padEnd(9)}  ${record.statusChangedDateTime}${subject}`);
          }
        }
      }
      if (count === 0) {
        await (await getClient()).describe(id); // throws ConnectionNotFoundError for an unknown connection
        if (!flags.json) {
          io.err(
            flags.quarantined
              ? `no quarantined envelopes for connection ${id}`
              : `no evidence stored yet for connection ${id}`,
          );
        }
      } else if (!flags.json) {
        const what = flags.quarantined ? 'quarantined envelope' : 'envelope record';
        io.err(`${count} ${what}${count === 1 ? '' : 's'}`);
      }
      // Lines no reader can use are skipped everywhere; say so (on stderr, so --json output stays clean).
      const unreadable = flags.quarantined ? [] : await load.client().readUnreadableLines(spec, id);
      if (unreadable.length) {
        io.err(
          `warning: ${unreadable.length} unreadable stored line${unreadable.length === 1 ? '' : 's'} skipped ` +
            `(${unreadable.map((l) => `${l.file} at byte ${l.offset}`).join(', ')}); see \`doctor\``,
        );
      }
    });

  program
    .command('doctor')
    .description('run the troubleshooting checks live; PASS/FAIL with the fix for each')
    .option('--connection <id>', 'connection ID')
    .action(async (flags: { connection?: string }) => {
      const id = connectionIdOf(flags.connection);
      const { consent, rateLimitReservePercent, docusignHttpTimeoutMs, trust } = config();
      const c = await getClient();
      const connectionConfig = await c.configOf(id);
      const doctor = load.doctor();
      let status: ConnectionStatus | undefined;
      try {
        status = await c.status(id);
      } catch (err) {
        io.out(`connection ${id}: ${(err as Error).message}`);
      }
      if (status) io.out(`connection ${id} (${connectionConfig.environment}): phase ${status.phase}`);
      const checks = await doctor.runDoctor(connectionConfig, {
        trust,
        env: io.env,
        ...(status?.consentUrl ? { consentUrl: status.consentUrl } : {}),
        ...(consent.redirectUri ? { defaultRedirectUri: consent.redirectUri } : {}),
        reservePercent: rateLimitReservePercent,
        timeoutMs: docusignHttpTimeoutMs,
      });
      checks.push(await doctor.evidenceStoreCheck(config().evidenceStore, id));
      for (const check of checks) for (const line of doctor.formatCheck(check)) io.out(line);
      const failed = checks.filter((c) => c.result !== 'PASS').length;
      io.out(failed ? `${failed} of ${checks.length} checks did not pass` : `all ${checks.length} checks passed`);
      if (failed) code = 1;
    });

  program
    .command('demo')
    .description('the whole flow on embedded defaults: dev server + UI, DocuSign emulator, worker, consent, first sync')
    .option('--keep', 'leave everything running until Ctrl-C')
    .option('--data-dir <dir>', 'where the demo keeps its files', './data/demo')
    .option('--envelopes <n>', 'envelopes in the emulated account', '300')
    .action(async (flags: { keep?: boolean; dataDir: string; envelopes: string }) => {
      const envelopes = Number(flags.envelopes);
      if (!/^\d{1,5}$/.test(flags.envelopes) || envelopes < 1) {
        throw new UsageError('--envelopes: must be a whole number from 1 to 99999');
      }
      const { runDemo } = load.demo();
      await runDemo({ keep: !!flags.keep, dataDir: flags.dataDir, envelopes, log: io.out });
    });

  program
    .command('consent-server')
    .description('serve the DocuSign consent callback (GET /docusign/consent/callback) and /healthz')
    .option('--port <port>', 'port to listen on', '8787')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .action(async (flags: { port: string; host: string }) => {
      const port = portOf(flags.port);
      const host = hostOf(flags.host);
      const { logLevel, consent } = config();
      const { createLogger } = load.logger();
      const { startConsentServer } = load.consentServer();
      const logger = createLogger({ level: logLevel, base: { service: 'docusign-connector-consent' } });
      const c = await getClient();
      if (!consent.stateSecret) {
        logger.warn('CONSENT_STATE_SECRET is not set: every callback is refused with 503 until it is');
      }
      const server = await startConsentServer({
        port,
        host,
        client: c,
        stateSecret: consent.stateSecret,
        onCallback: (event) => logger.info(event, 'consent callback'),
      });
      logger.info({ url: server.callbackUrl }, 'consent callback listening');
      io.out(`consent callback listening on ${server.callbackUrl}`);
      await untilSignal();
      await server.close();
    });

  program
    .command('codec-server')
    .description('serve /encode and /decode for the Temporal UI (PAYLOAD_CODEC_KEYS, optional CODEC_SERVER_TOKEN)')
    .option('--port <port>', 'port to listen on', '8888')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--allowed-origin <url...>', 'browser origin(s) of the Temporal UI', ['http://localhost:8233'])
    .action(async (flags: { port: string; host: string; allowedOrigin: string[] }) => {
      const port = portOf(flags.port);
      const host = hostOf(flags.host);
      const origins = flags.allowedOrigin
        .flatMap((o) => o.split(','))
        .map((o) => o.trim())
        .filter(Boolean);
      for (const origin of origins) {
        if (!URL.canParse(origin) || !/^https?:$/.test(new URL(origin).protocol)) {
          throw new UsageError('--allowed-origin: must be an http(s) origin, e.g. http://localhost:8233');
        }
      }
      const keys = io.env.PAYLOAD_CODEC_KEYS?.trim();
      if (!keys)
        throw new UsageError('PAYLOAD_CODEC_KEYS: is required by codec-server (keyId:base64key[,keyId:base64key])');
      let codec;
      try {
        codec = load.codec().codecFromKeys(keys);
      } catch (err) {
        throw new UsageError(`PAYLOAD_CODEC_KEYS: ${(err as Error).message}`);
      }
      if (!codec) throw new UsageError('PAYLOAD_CODEC_KEYS: is required by codec-server');
      const token = io.env.CODEC_SERVER_TOKEN?.trim();
      const { startCodecServer } = load.codecServer();
      const server = await startCodecServer({
        port,
        host,
        codec,
        allowedOrigin: origins,
        ...(token ? { bearerToken: token } : {}),
      });
      io.out(
        `codec server listening on ${server.url} (keys ${codec.keyIds.join(', ')}; origins ${origins.join(', ')})`,
      );
      await untilSignal();
      await server.close();
    });

  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    code = exitCodeOf(err, io);
  } finally {
    await client?.close().catch(() => undefined);
  }
  return code;
}

function exitCodeOf(err: unknown, io: Io): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') {
      return err.exitCode === 0 ? 0 : 2; // help asked for: 0; help shown because no command was given: 2
    }
    io.err(usageLine(err));
    return 2;
  }
  if (err instanceof UsageError || err instanceof InvalidConfigError) {
    io.err(err.message);
    return 2;
  }
  if (
    err instanceof Error &&
    require.cache[require.resolve('./client')] &&
    err instanceof load.client().ConnectorClientError
  ) {
    io.err(err.message);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/Unknown encoding: binary\/encrypted/.test(message)) {
    io.err("error: the connection's payloads are encrypted: set PAYLOAD_CODEC_KEYS to the worker's keys");
    return 1;
  }
  io.err(`error: ${message.split('\n')[0] ?? message}`);
  return 1;
}

/** Runs `work` while showing the sync's progress on stderr: a rewritten line on a TTY, else a line per change. */
async function withProgress<T>(client: ConnectorClient, id: string, io: Io, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const tty = !!io.progress.isTTY;
  let done = false;
  let last = '';
  const settled = work.finally(() => {
    done = true;
  });
  const poll = (async () => {
    while (!done) {
      await Promise.race([settled.catch(() => undefined), new Promise((r) => setTimeout(r, tty ? 500 : 1000))]);
      if (done) break;
      const p = await client.syncProgress(id).catch(() => undefined);
      if (!p || done) continue;
      const pages = p.pages === undefined ? '' : `, ${p.pages} page${p.pages === 1 ? '' : 's'} stored`;
      const retry =
        p.attempt && p.attempt > 1 ? `, attempt ${p.attempt}${p.lastFailure ? ` after: ${p.lastFailure}` : ''}` : '';
      const line = `sync ${id}: ${p.phase}${pages}${retry}`;
      if (tty) {
        io.progress.write(`\r\x1b[K${line} (${Math.round((Date.now() - started) / 1000)} s)`);
      } else if (line !== last) {
        io.err(line);
      }
      last = line;
    }
    if (tty && last) io.progress.write('\r\x1b[K');
  })();
  try {
    return await settled;
  } finally {
    await poll;
  }
}

function printTable(rows: ConnectionSummary[], io: Io): void {
  if (!rows.length) {
    io.out('no connections');
    return;
  }
  const header = ['CONNECTION', 'ENVIRONMENT', 'PHASE', 'LAST SYNC'];
  const cells = rows.map((r) => [r.connectionId, r.environment, r.phase, r.lastSyncAt ?? '-']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  for (const row of [header, ...cells])
    io.out(
      row
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** Entry point of bin/docusign-connector.js and `tsx client/cli.ts`. */
export function main(argv: string[] = process.argv): void {
  run(argv.slice(2)).then(exitAfterFlush, (err: unknown) => {
    console.error(`error: ${(err as Error).message}`);
    exitAfterFlush(1);
  });
}

/**
 * Exits once stdout and stderr have flushed: process.exit() drops what is still queued for a pipe (a large
 * `evidence --json` lost records), and exiting explicitly stops open Temporal connections from keeping us alive.
 */
function exitAfterFlush(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

if (require.main === module) main();
