/**
 * The connection's input, validated at the client and again where it enters the workflow (design.md §3).
 * Pure zod: safe inside the workflow sandbox. Holds references to secrets, never secrets.
 */
import { z } from 'zod';
import { SNAPSHOT_INTERVAL_HOURS } from './evidence';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A string field whose missing or non-string value gets the same rule as a malformed one. */
const text = (rule: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `is required: ${rule}` : rule) });
const guid = (what: string) => text(`must be a GUID (${what})`).regex(GUID, `must be a GUID (${what})`);

export const CONNECTION_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const CONNECTION_RULE = 'must match /^[a-z0-9][a-z0-9_-]{0,62}$/ (lowercase letters, digits, - and _)';
export const MIN_SYNC_INTERVAL_MINUTES = 15;
export const DEFAULT_SYNC_INTERVAL_MINUTES = 60;

export const OAUTH_BASE_URLS = {
  demo: 'https://account-d.docusign.com',
  production: 'https://account.docusign.com',
} as const;

export const DOCUSIGN_CONSENT_LANDING = 'https://developers.docusign.com/platform/auth/consent';

const httpUrl = z
  .string()
  .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), 'must be an http(s) URL');

/** Safe to evaluate by construction: literal template IDs and plain substrings, never a user-supplied pattern. */
const PROOF_POLICY_RULE =
  "must be 'none', 'all-completed' or { templateIds?: [GUID, …], subjectContains?: [text, …] } with at least one list";
export const signedProofSchema = z.union(
  [
    z.enum(['none', 'all-completed']),
    z
      .object({
        templateIds: z.array(guid('a template ID')).min(1).max(100).optional(),
        subjectContains: z
          .array(text('must be text').min(1, 'must not be empty').max(200, 'must be at most 200 characters'))
          .min(1)
          .max(100)
          .optional(),
      })
      .strict()
      .refine((p) => p.templateIds || p.subjectContains, 'must name templateIds or subjectContains (or both)'),
  ],
  { error: PROOF_POLICY_RULE },
);
export type SignedProofPolicy = z.infer<typeof signedProofSchema>;

export const connectionConfigSchema = z
  .object({
    connectionId: text(CONNECTION_RULE).regex(CONNECTION_ID, CONNECTION_RULE),
    environment: z.enum(['demo', 'production'], { error: "must be 'demo' or 'production'" }),
    integrationKey: guid('the Integration Key'),
    userId: guid('the impersonated user ID, not an email'),
    privateKeyRef: text("must be 'file:<absolute path>' or 'env:<VAR_NAME>'").regex(
      /^(file:\/.+|env:[A-Za-z_][A-Za-z0-9_]*)$/,
      "must be 'file:<absolute path>' or 'env:<VAR_NAME>' (a reference, never the key itself)",
    ),
    accountId: guid('the DocuSign account ID').optional(),
    oauthBaseUrl: httpUrl.optional(),
    redirectUri: httpUrl.optional(),
    syncIntervalMinutes: z
      .number({ error: 'must be a number of minutes' })
      .int('must be a whole number of minutes')
      .min(MIN_SYNC_INTERVAL_MINUTES, `must be >= ${MIN_SYNC_INTERVAL_MINUTES} (DocuSign polling rule)`)
      .optional(),
    backfillFrom: z.iso.datetime({ offset: true, error: 'must be an ISO date-time' }).optional(),
    snapshotIntervalHours: z
      .number({ error: 'must be a number of hours' })
      .int('must be a whole number of hours')
      .min(
        SNAPSHOT_INTERVAL_HOURS.min,
        `must be from ${SNAPSHOT_INTERVAL_HOURS.min} to ${SNAPSHOT_INTERVAL_HOURS.max} hours`,
      )
      .max(
        SNAPSHOT_INTERVAL_HOURS.max,
        `must be from ${SNAPSHOT_INTERVAL_HOURS.min} to ${SNAPSHOT_INTERVAL_HOURS.max} hours`,
      )
      .optional(),
    /** Which completed envelopes get signed proof (certificate of completion, audit events); default 'none'. */
    signedProof: signedProofSchema.optional(),
  })
  .strict();

export type ConnectionConfig = z.infer<typeof connectionConfigSchema>;

/** The fields `credentialsUpdated` may change: the credential references, and the signed-proof policy. */
export const credentialsUpdateSchema = connectionConfigSchema
  .pick({ integrationKey: true, userId: true, privateKeyRef: true, accountId: true, signedProof: true })
  .partial()
  .strict();
export type CredentialsUpdate = z.infer<typeof credentialsUpdateSchema>;

/** One line naming the field and the rule, e.g. `userId: must be a GUID (...)`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'config'}: ${issue.message}`)
    .join('; ');
}

export function parseConnectionConfig(input: unknown): ConnectionConfig {
  const result = connectionConfigSchema.safeParse(input);
  if (!result.success) throw new InvalidConfigError(describeIssues(result.error));
  return result.data;
}

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
