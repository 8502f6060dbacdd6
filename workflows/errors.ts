/**
 * The troubleshooting table (design.md §3): every failure the connector reports has a stable code, which is also the
 * `type` of the ApplicationFailure an activity throws, and a human fix. The README repeats this table.
 */
export const ERROR_HINTS = {
  consent_required: 'Finish browser consent for impersonation (open consentUrl).',
  consent_denied: 'Consent was declined in DocuSign; open consentUrl again and accept.',
  invalid_grant:
    'Private key must match the uploaded public key; server clock must be accurate; keys and OAuth hosts must match the environment (demo vs production).',
  account_not_found: "The configured account ID is not among the user's accounts.",
  wrong_base_uri: 'Resolve the regional REST host from account metadata (/oauth/userinfo).',
  rate_limited: "DocuSign's hourly or burst API limit is exhausted; syncing resumes after the reset.",
  private_key_unavailable: 'The private key reference cannot be read or is not an RSA PEM key.',
  docusign_unavailable: 'DocuSign did not answer or answered with a server error; the connector retries with backoff.',
  invalid_response:
    'DocuSign returned a response that does not match the documented shape; nothing from it was stored. Retried on the next sync.',
  evidence_store_unavailable:
    'The evidence store (EVIDENCE_STORE) cannot be written; check the directory or Postgres URL.',
  request_rejected:
    'DocuSign rejected a request the connector built (its errorCode is in message); report it with the DocuSign trace token.',
  invalid_config: 'Fix the named field of the connection config and send credentialsUpdated.',
  untrusted_oauth_host:
    "OAuth hosts are https://account-d.docusign.com (demo) and https://account.docusign.com (production); list any other host as host:port in the worker's DOCUSIGN_ALLOWED_HOSTS, or disconnect and connect again without the override.",
  untrusted_base_uri:
    "userinfo named a REST base URI that is neither https on *.docusign.net / *.docusign.com nor in the worker's DOCUSIGN_ALLOWED_HOSTS; no token was sent there. Check the account's region in DocuSign (or the allowlist), then send syncNow.",
  internal_error:
    'A fault in the connector itself, not in DocuSign or the store: report it with the message; it is retried on the usual schedule.',
} as const;

export type ErrorCode = keyof typeof ERROR_HINTS;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && value in ERROR_HINTS;
}

/** Codes an activity must not retry: only a person (or a signal) can fix them. */
export const NON_RETRYABLE_CODES: ErrorCode[] = [
  'consent_required',
  'consent_denied',
  'account_not_found',
  'private_key_unavailable',
  'invalid_config',
  'untrusted_oauth_host',
  'untrusted_base_uri',
];

/**
 * Failures of the connection itself (consent, keys, account, region), whatever evidence was being collected: the
 * sync pass fails with them. Any other failure while taking a snapshot or collecting proof is that evidence's own.
 */
export const CONNECTION_FAILURES: readonly ErrorCode[] = [
  'consent_required',
  'invalid_grant',
  'private_key_unavailable',
  'untrusted_oauth_host',
  'untrusted_base_uri',
  'account_not_found',
  'wrong_base_uri',
  'invalid_config',
];

/**
 * Codes the bulk activities (sync, snapshots, proof) do not retry besides NON_RETRYABLE_CODES: a region move and a
 * revoked grant need the workflow; a response or request DocuSign refused would be refused again.
 */
export const BULK_NON_RETRYABLE_CODES: readonly ErrorCode[] = [
  'wrong_base_uri',
  'invalid_response',
  'request_rejected',
  'consent_required',
  'invalid_grant',
];
