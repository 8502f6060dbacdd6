/**
 * The connection's input, validated at the client and again where it enters the workflow (design.md §3), by the same
 * checks here. Plain functions, not zod: the workflow sandbox gives every cached workflow its own instance of each
 * module it loads, and zod's held ~0.9 MB per workflow (bench/README.md, "What each holds"). The client, the CLI and
 * the activities use these checks too, so each rule and its message is written once. Holds references to secrets,
 * never secrets.
 */
import { SNAPSHOT_INTERVAL_HOURS } from './evidence';

export const CONNECTION_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const CONNECTION_RULE = 'must match /^[a-z0-9][a-z0-9_-]{0,62}$/ (lowercase letters, digits, - and _)';
export const MIN_SYNC_INTERVAL_MINUTES = 15;
export const DEFAULT_SYNC_INTERVAL_MINUTES = 60;

export const OAUTH_BASE_URLS = {
  demo: 'https://account-d.docusign.com',
  production: 'https://account.docusign.com',
} as const;

export const DOCUSIGN_CONSENT_LANDING = 'https://developers.docusign.com/platform/auth/consent';

/** Safe to evaluate by construction: literal template IDs and plain substrings, never a user-supplied pattern. */
export type SignedProofPolicy = 'none' | 'all-completed' | { templateIds?: string[]; subjectContains?: string[] };

export interface ConnectionConfig {
  connectionId: string;
  environment: 'demo' | 'production';
  integrationKey: string;
  /** The impersonated user's ID (a GUID, not an email). */
  userId: string;
  /** `file:<absolute path>` or `env:<VAR_NAME>`: a reference, never the key itself. */
  privateKeyRef: string;
  accountId?: string;
  oauthBaseUrl?: string;
  redirectUri?: string;
  syncIntervalMinutes?: number;
  backfillFrom?: string;
  snapshotIntervalHours?: number;
  /** Which completed envelopes get signed proof (certificate of completion, audit events); default 'none'. */
  signedProof?: SignedProofPolicy;
}

/** The fields `credentialsUpdated` may change: the credential references, and the signed-proof policy. */
export type CredentialsUpdate = Partial<
  Pick<ConnectionConfig, 'integrationKey' | 'userId' | 'privateKeyRef' | 'accountId' | 'signedProof'>
>;

/** One broken rule: where (empty for the whole input) and the rule. */
export interface ConfigIssue {
  path: (string | number)[];
  message: string;
}
export type Checked<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

/** The issues of one value, with paths relative to it. */
type Check = (value: unknown) => ConfigIssue[];

const broken = (message: string): ConfigIssue[] => [{ path: [], message }];
const rule =
  (keeps: (value: unknown) => boolean, message: string): Check =>
  (value) =>
    keeps(value) ? [] : broken(message);
const matching = (pattern: RegExp, message: string): Check =>
  rule((value) => typeof value === 'string' && pattern.test(value), message);

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const guid = (what: string) => matching(GUID, `must be a GUID (${what})`);

const httpUrl = rule(
  (value) => typeof value === 'string' && URL.canParse(value) && /^https?:$/.test(new URL(value).protocol),
  'must be an http(s) URL',
);

/** RFC 3339: a calendar date, a time with seconds, and Z or an offset. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const isoDateTime = rule((value) => {
  const [, year, month, day] = (typeof value === 'string' && DATE_TIME.exec(value)) || [];
  if (!year || !month || !day) return false;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  return date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
}, 'must be an ISO date-time');

const wholeNumber =
  (unit: string, min: number, max: number, rangeRule: string): Check =>
  (value) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return broken(`must be a number of ${unit}`);
    if (!Number.isInteger(value)) return broken(`must be a whole number of ${unit}`);
    return value < min || value > max ? broken(rangeRule) : [];
  };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const kindOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
const nested = (key: string | number, issues: ConfigIssue[]): ConfigIssue[] =>
  issues.map((issue) => ({ ...issue, path: [key, ...issue.path] }));

interface Field {
  check: Check;
  required?: true;
}

/** An object with exactly these fields: unknown ones are refused, required ones missing say so with their rule. */
function checkFields(value: unknown, fields: Readonly<Record<string, Field>>): ConfigIssue[] {
  if (!isRecord(value)) return broken(`expected an object, received ${kindOf(value)}`);
  const unknown = Object.keys(value).filter((key) => !Object.hasOwn(fields, key));
  const issues = unknown.length
    ? broken(`Unrecognized key${unknown.length > 1 ? 's' : ''}: ${unknown.map((key) => `"${key}"`).join(', ')}`)
    : [];
  for (const [key, { check, required }] of Object.entries(fields)) {
    const field = value[key];
    if (field !== undefined) issues.push(...nested(key, check(field)));
    else if (required) issues.push(...nested(key, check(field).map(asRequired)));
  }
  return issues;
}
const asRequired = (issue: ConfigIssue): ConfigIssue => ({ ...issue, message: `is required: ${issue.message}` });

/** An optional list of 1 to 100 items, each checked. */
const listOf =
  (item: Check): Check =>
  (value) => {
    if (!Array.isArray(value)) return broken('must be a list');
    if (value.length < 1 || value.length > 100) return broken('must have 1 to 100 items');
    return value.flatMap((element, index) => nested(index, item(element)));
  };
const subjectText: Check = (value) => {
  if (typeof value !== 'string') return broken('must be text');
  if (!value.length) return broken('must not be empty');
  return value.length > 200 ? broken('must be at most 200 characters') : [];
};
const PROOF_POLICY_RULE =
  "must be 'none', 'all-completed' or { templateIds?: [GUID, …], subjectContains?: [text, …] } with at least one list";
const PROOF_POLICY_FIELDS = {
  templateIds: { check: listOf(guid('a template ID')) },
  subjectContains: { check: listOf(subjectText) },
};
const signedProof: Check = (value) => {
  if (value === 'none' || value === 'all-completed') return [];
  if (!isRecord(value)) return broken(PROOF_POLICY_RULE);
  const issues = checkFields(value, PROOF_POLICY_FIELDS);
  if (value.templateIds === undefined && value.subjectContains === undefined)
    issues.push(...broken('must name templateIds or subjectContains (or both)'));
  return issues;
};

const KEY_REF_RULE = "must be 'file:<absolute path>' or 'env:<VAR_NAME>' (a reference, never the key itself)";
const CREDENTIAL_FIELDS = {
  integrationKey: { check: guid('the Integration Key') },
  userId: { check: guid('the impersonated user ID, not an email') },
  privateKeyRef: { check: matching(/^(file:\/.+|env:[A-Za-z_][A-Za-z0-9_]*)$/, KEY_REF_RULE) },
  accountId: { check: guid('the DocuSign account ID') },
  signedProof: { check: signedProof },
} satisfies Record<keyof CredentialsUpdate, Field>;

const { min, max } = SNAPSHOT_INTERVAL_HOURS;
const REQUIRED = { required: true } as const;
const CONFIG_FIELDS_CHECKS = {
  connectionId: { check: matching(CONNECTION_ID, CONNECTION_RULE), ...REQUIRED },
  environment: {
    check: rule((v) => v === 'demo' || v === 'production', "must be 'demo' or 'production'"),
    ...REQUIRED,
  },
  integrationKey: { ...CREDENTIAL_FIELDS.integrationKey, ...REQUIRED },
  userId: { ...CREDENTIAL_FIELDS.userId, ...REQUIRED },
  privateKeyRef: { ...CREDENTIAL_FIELDS.privateKeyRef, ...REQUIRED },
  accountId: CREDENTIAL_FIELDS.accountId,
  oauthBaseUrl: { check: httpUrl },
  redirectUri: { check: httpUrl },
  syncIntervalMinutes: {
    check: wholeNumber(
      'minutes',
      MIN_SYNC_INTERVAL_MINUTES,
      Infinity,
      `must be >= ${MIN_SYNC_INTERVAL_MINUTES} (DocuSign polling rule)`,
    ),
  },
  backfillFrom: { check: isoDateTime },
  snapshotIntervalHours: { check: wholeNumber('hours', min, max, `must be from ${min} to ${max} hours`) },
  signedProof: CREDENTIAL_FIELDS.signedProof,
} satisfies Record<keyof ConnectionConfig, Field>;

/** Every field of the config, in order. */
export const CONFIG_FIELDS = Object.keys(CONFIG_FIELDS_CHECKS) as (keyof ConnectionConfig)[];

function checked<T>(value: unknown, fields: Readonly<Record<string, Field>>): Checked<T> {
  const issues = checkFields(value, fields);
  return issues.length ? { ok: false, issues } : { ok: true, value: value as T };
}
export const checkConnectionConfig = (input: unknown) => checked<ConnectionConfig>(input, CONFIG_FIELDS_CHECKS);
export const checkCredentialsUpdate = (input: unknown) => checked<CredentialsUpdate>(input, CREDENTIAL_FIELDS);

/** One line naming the field and the rule, e.g. `userId: must be a GUID (...)`. */
export function describeIssues(issues: ConfigIssue[]): string {
  return issues.map((issue) => `${issue.path.length ? issue.path.join('.') : 'config'}: ${issue.message}`).join('; ');
}

function valueOrThrow<T>(result: Checked<T>): T {
  if (!result.ok) throw new InvalidConfigError(describeIssues(result.issues));
  return result.value;
}
export const parseConnectionConfig = (input: unknown) => valueOrThrow(checkConnectionConfig(input));
export const parseCredentialsUpdate = (input: unknown) => valueOrThrow(checkCredentialsUpdate(input));

export class InvalidConfigError extends Error {
  override name = 'InvalidConfigError';
}

export function oauthBaseUrlOf(config: Pick<ConnectionConfig, 'environment' | 'oauthBaseUrl'>): string {
  return (config.oauthBaseUrl ?? OAUTH_BASE_URLS[config.environment]).replace(/\/+$/, '');
}

/** JWT `aud`: the bare host of the OAuth base URL, no scheme, no slash (docusign-api.md §1.2). */
export function oauthAudienceOf(config: Pick<ConnectionConfig, 'environment' | 'oauthBaseUrl'>): string {
  return new URL(oauthBaseUrlOf(config)).host;
}

export function consentUrlOf(
  config: Pick<ConnectionConfig, 'environment' | 'oauthBaseUrl' | 'integrationKey' | 'redirectUri'>,
  defaultRedirectUri: string | undefined,
  state?: string,
): string {
  const params = [
    'response_type=code',
    'scope=signature%20impersonation',
    `client_id=${encodeURIComponent(config.integrationKey)}`,
    `redirect_uri=${encodeURIComponent(config.redirectUri ?? defaultRedirectUri ?? DOCUSIGN_CONSENT_LANDING)}`,
  ];
  if (state) params.push(`state=${encodeURIComponent(state)}`);
  return `${oauthBaseUrlOf(config)}/oauth/auth?${params.join('&')}`;
}
