/**
 * `connect`: validates the flags (and the trust rules set in this environment), starts the connection workflow and
 * prints the consent URL (or, with --consent-granted, starts it consented). Idempotent: a running connection is kept,
 * and the flags it does not take are named.
 */
import {
  KeyRefViolation,
  keyRefViolation,
  oauthUrlViolation,
  resolveKeyFile,
  type TrustPolicy,
} from '../../activities/trust';
import { oauthBaseUrlOf, type ConnectionConfig } from '../../workflows/config';
import type { ConnectionStatus } from '../../workflows/messages';
import type { RegisterCommand } from './command';
import { configFromFlags, FLAG_OF, UsageError } from './flags';

export const connectCommand: RegisterCommand = (program, ctx) => {
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
    .option('--snapshot-interval <hours>', 'hours between access-review snapshots, 1 to 168 (default 24)')
    .option(
      '--signed-proof <policy>',
      'none (default), all-completed, or JSON: {"templateIds":[GUID…]} and/or {"subjectContains":["NDA"…]}',
    )
    .option(
      '--consent-granted',
      "the user's consent is already done (e.g. by an administrator): authorize at once, no consent URL",
    )
    .action(async (flags: Record<string, unknown>) => {
      const { io } = ctx;
      const config = configFromFlags(flags);
      const note = await checkTrust(config, io.env, (await ctx.config()).trust);
      if (note) io.err(note);
      const c = await ctx.client();
      const consentGranted = flags.consentGranted === true;
      const result = await c.connect(config, { consentGranted });
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
      if (consentGranted) {
        io.out('consentGranted delivered with the start: the connection authorizes at once (see `status`)');
        return;
      }
      let status: ConnectionStatus;
      try {
        status = await c.waitForConsentUrl(config.connectionId);
      } catch (err) {
        const { ConnectorClientError } = await import('../errors.js');
        if (err instanceof ConnectorClientError) {
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
};

/**
 * The worker's trust rules (activities/trust.ts) applied to `connect` before anything starts. The CLI cannot see the
 * worker's settings, so a rule applies when its variable is set here: DOCUSIGN_KEYS_DIR (`file:` references, symlinks
 * followed when the file exists on this machine), DOCUSIGN_KEY_ENV_PREFIX (`env:` references), DOCUSIGN_ALLOWED_HOSTS
 * (--oauth-base-url). Without DOCUSIGN_ALLOWED_HOSTS only the environment's DocuSign host passes silently; another host
 * is started with a note, and the worker refuses it unless its own list has it. Returns that note.
 */
async function checkTrust(
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
