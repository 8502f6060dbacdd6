/**
 * Input checks shared by the commands, all made before anything is started: a bad flag is a UsageError (exit 2, one
 * line naming the flag and the rule).
 */
import { CONNECTION_ID, CONNECTION_RULE, checkConnectionConfig, type ConnectionConfig } from '../../workflows/config';
import { EVIDENCE_KINDS, isEvidenceKind, type EvidenceKind } from '../../workflows/evidence';

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
  snapshotIntervalHours: '--snapshot-interval',
  signedProof: '--signed-proof',
};

const REQUIRED: { field: keyof ConnectionConfig; what: string }[] = [
  { field: 'connectionId', what: 'the connection ID, e.g. acme-prod' },
  { field: 'environment', what: "'demo' or 'production'" },
  { field: 'integrationKey', what: 'the Integration Key GUID' },
  { field: 'userId', what: 'the GUID of the impersonated user, not an email' },
  { field: 'privateKeyRef', what: "'file:<absolute path>' or 'env:<VAR_NAME>'" },
];

/** `--connection`: required, and a valid connection ID. */
export function connectionIdOf(value: unknown): string {
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
  if (typeof interval === 'string') input.syncIntervalMinutes = numberOrText(interval);
  if (typeof flags.snapshotInterval === 'string') input.snapshotIntervalHours = numberOrText(flags.snapshotInterval);
  if (typeof flags.signedProof === 'string') input.signedProof = signedProofOf(flags.signedProof);
  const parsed = checkConnectionConfig(input);
  if (!parsed.ok) {
    const issues = parsed.issues.map((issue) => {
      const [field, ...within] = issue.path as [keyof ConnectionConfig | undefined, ...(string | number)[]];
      const where = within.length ? ` ${within.join('.')}` : ''; // inside a JSON flag, e.g. `templateIds.0`
      return `${field && field in FLAG_OF ? FLAG_OF[field] : 'config'}${where}: ${issue.message}`;
    });
    throw new UsageError(issues.join('; '));
  }
  return parsed.value;
}

/** A number flag stays text when it is not a number, so the schema's rule names it. */
const numberOrText = (value: string): number | string => (/^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value);

/** `--signed-proof`: none, all-completed, or a JSON object ({"templateIds":[…]} / {"subjectContains":[…]}). */
function signedProofOf(value: string): unknown {
  if (!value.trim().startsWith('{')) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new UsageError(
      `--signed-proof: is not valid JSON; give none, all-completed, or e.g. '{"subjectContains":["NDA"]}'`,
    );
  }
}

/** `--kind k`: one evidence kind. */
export function kindOf(value: unknown): EvidenceKind {
  if (!isEvidenceKind(value)) throw new UsageError(`--kind: must be one of ${EVIDENCE_KINDS.join(', ')}`);
  return value;
}

/** `--kinds a,b`: evidence kinds, each one of EVIDENCE_KINDS. */
export function kindsOf(value: unknown, flag = '--kinds'): EvidenceKind[] {
  const kinds = String(value)
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const unknown = kinds.filter((k) => !isEvidenceKind(k));
  if (!kinds.length || unknown.length) {
    throw new UsageError(
      `${flag}: must be a comma list of ${EVIDENCE_KINDS.join(', ')}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}`,
    );
  }
  return kinds as EvidenceKind[];
}

export function portOf(value: unknown, flag = '--port'): number {
  const text = String(value);
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65535) throw new UsageError(`${flag}: must be a whole number from 0 to 65535`);
  return n;
}

export function hostOf(value: unknown): string {
  const text = String(value);
  if (!/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+|[A-Za-z0-9.-]+)$/.test(text)) {
    throw new UsageError('--host: must be a host name or IP address to bind, e.g. 127.0.0.1 or 0.0.0.0');
  }
  return text.replace(/^\[(.*)\]$/, '$1');
}
