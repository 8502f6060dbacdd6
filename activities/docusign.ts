/**
 * The one DocuSign client every activity uses: JWT Grant token exchange, userinfo, envelope listing.
 * Written from ../shared/docs/docusign-api.md (never from the emulator). Every response is validated with zod
 * before use (an envelope list page as a whole; an envelope in it that fails on its own is handed back apart, for the
 * sync's quarantine); every failure becomes a ConnectorError with a stable code. Secrets (assertion, access token)
 * are sent but never put into an error message or a log line, and only to hosts the trust policy (trust.ts) accepts:
 * the last line of defence, whatever URL a caller or a DocuSign response hands in.
 */
import got, { RequestError, type Headers as GotHeaders } from 'got';
import { z } from 'zod';
import type { ErrorCode } from '../workflows/errors';
import { ConnectorError } from './errors';
import { instantKey, isEnvelopeId } from './store/identity';
import { oauthUrlViolation, restUrlViolation, type TrustPolicy } from './trust';

/** REST lists the snapshots read (docusign-api.md §6); also the `endpoint` label of their calls. */
export type RestListEndpoint =
  'users' | 'groups' | 'group-members' | 'permission-profiles' | 'signing-groups' | 'envelope-templates';
/** REST objects the snapshots read. */
export type RestObjectEndpoint = 'settings' | 'password-rules';
/** Signed proof (docusign-api.md §3.2): the certificate of completion and the audit events. */
export type ProofEndpoint = 'certificate' | 'audit-events';

/** What DocuSign's rate-limit headers said on the last response (docusign-api.md §4). */
export interface RateLimitSnapshot {
  hourlyLimit?: number;
  hourlyRemaining?: number;
  /** Epoch ms when the hourly budget resets. */
  hourlyResetAt?: number;
  burstLimit?: number;
  burstRemaining?: number;
}

export interface CallObservation {
  endpoint: 'token' | 'userinfo' | 'envelopes' | RestListEndpoint | RestObjectEndpoint | ProofEndpoint;
  status: number | 'network_error';
  durationMs: number;
  traceToken?: string;
  rateLimit?: RateLimitSnapshot;
}

export interface DocuSignClientOptions {
  timeoutMs: number;
  /** Which hosts may receive an assertion or a bearer token; also what the token service and activities enforce. */
  trust: TrustPolicy;
  /** Called after every HTTP exchange: metrics and logs hang off this. */
  observe?: (call: CallObservation) => void;
  now?: () => number;
  /** How long to back off after a burst-limit error: DocuSign documents no reset header for the burst window. */
  burstRetryMs?: number;
}

/** The bearer token was refused (HTTP 401): the caller re-mints once and retries. */
export class AccessTokenRejectedError extends Error {
  override name = 'AccessTokenRejectedError';
}

// ---- response shapes: tolerant of unknown fields, strict on the fields the connector uses ----

/**
 * A DocuSign boolean: a JSON boolean, or a string in either casing ("True" in user lists, "true" in settings,
 * docusign-api.md §10). Undefined for anything else. Every boolean the connector reads goes through this.
 */
export function parseDocuSignBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  const text = typeof value === 'string' ? value.toLowerCase() : undefined;
  return text === 'true' ? true : text === 'false' ? false : undefined;
}

const docusignBoolean = z.unknown().transform((value, ctx) => {
  const parsed = parseDocuSignBoolean(value);
  if (parsed !== undefined) return parsed;
  ctx.addIssue({ code: 'custom', message: 'must be true or false' });
  return z.NEVER;
});

const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', 'must be Bearer'),
  expires_in: z.coerce.number().int().positive(),
});

const userInfoSchema = z.looseObject({
  sub: z.string(),
  accounts: z.array(
    z.looseObject({
      account_id: z.string().min(1),
      is_default: docusignBoolean,
      account_name: z.string().optional(),
      base_uri: z.url(),
    }),
  ),
});
export type UserInfo = z.infer<typeof userInfoSchema>;

/** The configured account (IDs compare case-insensitively) or, without one, the user's default account. */
export function accountOf(info: UserInfo, accountId: string | undefined): UserInfo['accounts'][number] | undefined {
  return accountId
    ? info.accounts.find((a) => a.account_id.toLowerCase() === accountId.toLowerCase())
    : (info.accounts.find((a) => a.is_default) ?? info.accounts[0]);
}

/** DocuSign sends counts as JSON strings ("100"; an empty page has endPosition "-1"); accept numbers too. */
const count = z.union([z.string().regex(/^-?\d+$/, 'must be a decimal count'), z.number().int()]).transform(Number);
/** A DocuSign date-time; one without a zone is UTC (docusign-api.md §10), as the evidence store reads it. */
const docusignTime = z.string().refine((t) => instantKey(t) !== undefined, 'must be an ISO date-time');

// z.object, not looseObject: the output (unused: the item itself is kept) then holds only the checked fields. Copying
// every field DocuSign sent cost about 2.5 ms of CPU per 100-envelope page (bench/README.md).
const envelopeSchema = z.object({
  envelopeId: z.string(),
  status: z.string().min(1, 'must be a non-empty string'),
  statusChangedDateTime: docusignTime,
});
/** DocuSign's envelope object, with the fields the connector relies on checked. */
export type Envelope = z.infer<typeof envelopeSchema> & Record<string, unknown>;

/**
 * An envelope object checked as a listing's items are (DocuSign's object returned untouched), or the rule it breaks:
 * for envelopes that arrive another way (a Connect event's envelopeSummary).
 */
export function checkEnvelope(item: Record<string, unknown>): { envelope: Envelope } | { reason: string } {
  const checked = envelopeSchema.safeParse(item);
  return checked.success ? { envelope: item as Envelope } : { reason: describeIssue(checked.error) };
}

/**
 * A page of a DocuSign list: its counts, and an ID on every item (under `itemsKey`, absent when the list is empty:
 * `GET /signing_groups` answers `{}`). Paging follows the counts (nextPageUrl), so a page whose counts contradict
 * it is refused. Lists that are not paged send no counts; envelope lists always send resultSetSize.
 */
function listPageSchema<K extends string>(
  itemsKey: K,
  idField: string,
  isId: (id: string) => boolean,
  counts: 'required' | 'optional',
) {
  const resultSetSize = counts === 'required' ? count : count.optional();
  // Only the IDs and counts are checked: other fields pass unchecked and stay out of the output (callers keep the items
  // as sent), as with envelopeSchema.
  return z
    .object({
      [itemsKey]: z.array(z.object({ [idField]: z.string().refine(isId, `must be an ID (${idField})`) })).optional(),
      resultSetSize,
      totalSetSize: count.optional(),
      startPosition: count.optional(),
      endPosition: count.optional(),
      nextUri: z.string().nullish(),
    } as Record<K | 'resultSetSize' | 'totalSetSize' | 'startPosition' | 'endPosition' | 'nextUri', z.ZodType>)
    .superRefine((raw, ctx) => {
      const page = raw as unknown as PagingFields & Record<K, unknown[] | undefined>;
      const size = page[itemsKey]?.length ?? 0;
      const { startPosition: start, endPosition: end, totalSetSize: total } = page;
      const issue = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
      if (page.resultSetSize !== undefined && page.resultSetSize !== size) {
        issue('resultSetSize', `must equal the number of ${itemsKey} (${size})`);
      } else if (size > 0 && start !== undefined && end !== undefined && end !== start + size - 1) {
        issue('endPosition', `must be startPosition + resultSetSize - 1 (${start + size - 1})`);
      } else if (end !== undefined && total !== undefined && (size > 0 ? end >= total : end + 1 < total)) {
        issue(
          'totalSetSize',
          size > 0 ? 'must exceed endPosition' : `says more ${itemsKey} remain after an empty page`,
        );
      }
    });
}

/** The paging fields of a DocuSign list page (counts arrive as strings; parsed to numbers). */
export interface PagingFields {
  resultSetSize?: number;
  totalSetSize?: number;
  startPosition?: number;
  endPosition?: number;
  nextUri?: string | null;
}

/**
 * An item with an ID but wrong otherwise is quarantined by the sync; one without a usable ID could be neither stored
 * nor fetched again, so it fails the page.
 */
const envelopesPageSchema = listPageSchema('envelopes', 'envelopeId', isEnvelopeId, 'required');

/** A list item with an envelope ID that failed validation otherwise: the sync quarantines it. */
export interface RejectedEnvelope {
  envelopeId: string;
  /** The field and the rule, e.g. `field statusChangedDateTime must be an ISO date-time`. */
  reason: string;
  /** The item exactly as DocuSign sent it. */
  envelope: Record<string, unknown>;
}

/** One page of Envelopes:listStatusChanges: the valid envelopes, the rejected ones, and the paging fields. */
export interface EnvelopesPage {
  envelopes: Envelope[];
  rejected: RejectedEnvelope[];
  resultSetSize: number;
  totalSetSize?: number;
  startPosition?: number;
  endPosition?: number;
  nextUri?: string | null;
}

/**
 * The URL of the page after `page` of a DocuSign list fetched from `url`, or undefined after the last one
 * (docusign-api.md §10). When DocuSign sends the counts they decide whether more remain; `nextUri` (relative, without
 * /restapi/v2.1) is followed when present, and when it is missing although more remain, the next page is the same
 * query from endPosition + 1. `restBase` is `{base_uri}/restapi`.
 */
export function nextPageUrl(
  url: string,
  page: Pick<EnvelopesPage, 'endPosition' | 'totalSetSize' | 'nextUri'>,
  restBase: string,
): string | undefined {
  const { endPosition: end, totalSetSize: total, nextUri } = page;
  const follow = nextUri ? `${restBase}/v2.1${nextUri}` : undefined;
  if (end === undefined || total === undefined) return follow;
  if (end + 1 >= total) return undefined;
  if (follow) return follow;
  const next = new URL(url);
  const from = Number(next.searchParams.get('start_position') ?? 0);
  if (end + 1 <= from) {
    // The same page again would loop forever.
    throw new ConnectorError('invalid_response', `DocuSign list: endPosition ${end} does not advance past ${from}`);
  }
  next.searchParams.set('start_position', String(end + 1));
  return next.toString();
}

/** `{ auditEvents: [{ eventFields: [{ name, value }] }] }` (docusign-api.md §10); an envelope without events has none. */
const auditEventsSchema = z.looseObject({
  auditEvents: z
    .array(z.looseObject({ eventFields: z.array(z.looseObject({ name: z.string(), value: z.unknown() })) }))
    .optional(),
});

/** `…/accounts/{accountId}/…` in a REST path (docusign-api.md §2): whose budget a response reports. */
const ACCOUNT_IN_PATH = /\/accounts\/([^/]+)/;

const oauthErrorSchema = z.looseObject({ error: z.string(), error_description: z.string().optional() });
const restErrorSchema = z.looseObject({ errorCode: z.string(), message: z.string().optional() });

const RATE_LIMIT_CODES = new Set([
  'HOURLY_APIINVOCATION_LIMIT_EXCEEDED',
  'BURST_APIINVOCATION_LIMIT_EXCEEDED',
  'HOURLY_ENVELOPE_POLLING_LIMIT_EXCEEDED',
  'BURST_ENVELOPE_POLLING_LIMIT_EXCEEDED',
]);
/** DocuSign's burst window is 30 s (docusign-api.md §4). */
const DEFAULT_BURST_RETRY_MS = 30_000;

interface RawResponse {
  status: number;
  headers: GotHeaders;
  /** The body exactly as received (a PDF stays bytes), and as text for JSON and error bodies. */
  bytes: Buffer;
  body: string;
  rateLimit: RateLimitSnapshot;
}

export class DocuSignClient {
  private readonly now: () => number;
  readonly burstRetryMs: number;
  readonly trust: TrustPolicy;
  /** The rate headers of the last REST response per account (see lastRateLimit). */
  private readonly lastRateLimits = new Map<string, RateLimitSnapshot>();
  constructor(private readonly options: DocuSignClientOptions) {
    this.now = options.now ?? Date.now;
    this.burstRetryMs = options.burstRetryMs ?? DEFAULT_BURST_RETRY_MS;
    this.trust = options.trust;
  }

  /**
   * What DocuSign's rate headers said on the last REST response for this account, whichever activity made the call:
   * the budget is the account's, so the sync, the snapshots and signed proof share one view of it, and the reserve
   * one of them reached is kept by the next.
   */
  lastRateLimit(accountId: string): RateLimitSnapshot | undefined {
    return this.lastRateLimits.get(accountId.toLowerCase());
  }

  /** POST /oauth/token with a signed JWT assertion (docusign-api.md §1.3). */
  async requestToken(oauthBaseUrl: string, assertion: string): Promise<{ accessToken: string; expiresIn: number }> {
    const res = await this.send('token', `${oauthBaseUrl}/oauth/token`, {
      method: 'POST',
      form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion },
      headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
    });
    if (res.status === 200) {
      const token = this.validate(tokenResponseSchema, res, 'token response').data;
      return { accessToken: token.access_token, expiresIn: token.expires_in };
    }
    throw this.tokenError(res);
  }

  /** GET /oauth/userinfo (docusign-api.md §2). */
  async userInfo(oauthBaseUrl: string, accessToken: string): Promise<UserInfo> {
    const res = await this.send('userinfo', `${oauthBaseUrl}/oauth/userinfo`, {
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    if (res.status === 200) return this.validate(userInfoSchema, res, 'userinfo').data;
    throw this.restError(res, 'userinfo');
  }

  /**
   * One page of a REST list other than envelopes (users, groups, members, permission profiles, signing groups):
   * the items exactly as DocuSign sent them, each with a non-empty `idField`, and the paging fields.
   */
  async listPage(
    endpoint: RestListEndpoint,
    url: string,
    accessToken: string,
    list: { itemsKey: string; idField: string },
  ): Promise<{ items: Record<string, unknown>[]; paging: PagingFields; rateLimit: RateLimitSnapshot }> {
    const res = await this.send(endpoint, url, { method: 'GET', headers: { authorization: `Bearer ${accessToken}` } });
    if (res.status !== 200) throw this.restError(res, endpoint);
    const schema = listPageSchema(list.itemsKey, list.idField, (id) => id.length > 0, 'optional');
    const { data, json } = this.validate(schema, res, `${endpoint} list`);
    const { resultSetSize, totalSetSize, startPosition, endPosition, nextUri } = data as PagingFields;
    return {
      // As DocuSign sent them: zod's output holds only the checked fields.
      items: ((json as Record<string, unknown>)[list.itemsKey] as Record<string, unknown>[] | undefined) ?? [],
      paging: { resultSetSize, totalSetSize, startPosition, endPosition, nextUri },
      rateLimit: res.rateLimit,
    };
  }

  /** One REST object (account settings, password rules), exactly as DocuSign sent it. */
  async getObject(
    endpoint: RestObjectEndpoint,
    url: string,
    accessToken: string,
  ): Promise<{ object: Record<string, unknown>; rateLimit: RateLimitSnapshot }> {
    const res = await this.send(endpoint, url, { method: 'GET', headers: { authorization: `Bearer ${accessToken}` } });
    if (res.status !== 200) throw this.restError(res, endpoint);
    const { json } = this.validate(z.looseObject({}), res, endpoint);
    return { object: json as Record<string, unknown>, rateLimit: res.rateLimit };
  }

  /** The certificate of completion (`documents/certificate`), the PDF bytes exactly as DocuSign sent them. */
  async getDocument(
    url: string,
    accessToken: string,
  ): Promise<{ bytes: Buffer; contentType: string; rateLimit: RateLimitSnapshot }> {
    const res = await this.send('certificate', url, {
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/pdf' },
    });
    if (res.status !== 200) throw this.restError(res, 'certificate');
    const contentType = headerValue(res.headers, 'content-type') ?? '';
    // A PDF starts with %PDF-; anything else (an HTML error page, JSON) is not the certificate.
    if (!/^application\/pdf\b/i.test(contentType) || !res.bytes.subarray(0, 5).equals(Buffer.from('%PDF-'))) {
      throw new ConnectorError(
        'invalid_response',
        `DocuSign certificate: not a PDF (content-type ${contentType || 'none'})`,
        {
          httpStatus: res.status,
        },
      );
    }
    return { bytes: res.bytes, contentType: 'application/pdf', rateLimit: res.rateLimit };
  }

  /** An envelope's audit events (`audit_events`), validated, and the body exactly as DocuSign sent it. */
  async getAuditEvents(url: string, accessToken: string): Promise<{ bytes: Buffer; rateLimit: RateLimitSnapshot }> {
    const res = await this.send('audit-events', url, {
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    if (res.status !== 200) throw this.restError(res, 'audit-events');
    this.validate(auditEventsSchema, res, 'audit events');
    return { bytes: res.bytes, rateLimit: res.rateLimit };
  }

  /** One page of Envelopes:listStatusChanges; `url` is absolute (first page) or built from `nextUri`. */
  async listEnvelopes(
    url: string,
    accessToken: string,
  ): Promise<{ page: EnvelopesPage; rateLimit: RateLimitSnapshot }> {
    const res = await this.send('envelopes', url, {
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    if (res.status === 200) {
      const { data, json } = this.validate(envelopesPageSchema, res, 'envelope list');
      // Evidence is stored exactly as DocuSign sent it, once the shape is checked: zod's output holds only the checked
      // fields, and envelopeSchema transforms nothing, so DocuSign's own objects are valid Envelopes.
      const items = (json as { envelopes?: Record<string, unknown>[] }).envelopes ?? [];
      const envelopes: Envelope[] = [];
      const rejected: RejectedEnvelope[] = [];
      for (const item of items) {
        const checked = checkEnvelope(item);
        // The page schema checked the ID: only the rest of this envelope is wrong.
        if ('envelope' in checked) envelopes.push(checked.envelope);
        else rejected.push({ envelopeId: item.envelopeId as string, reason: checked.reason, envelope: item });
      }
      const { resultSetSize, totalSetSize, startPosition, endPosition, nextUri } = data as PagingFields;
      return {
        // Envelope lists always carry resultSetSize (the schema requires it).
        page: { envelopes, rejected, resultSetSize: resultSetSize!, totalSetSize, startPosition, endPosition, nextUri },
        rateLimit: res.rateLimit,
      };
    }
    throw this.restError(res, 'envelope list');
  }

  private async send(
    endpoint: CallObservation['endpoint'],
    url: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; form?: Record<string, string> },
  ): Promise<RawResponse> {
    // Token and userinfo calls go to an OAuth host; every other call to a REST host (from userinfo's base_uri).
    const oauth = endpoint === 'token' || endpoint === 'userinfo';
    const violation = oauth ? oauthUrlViolation(url, undefined, this.trust) : restUrlViolation(url, this.trust);
    if (violation) {
      const code = oauth ? 'untrusted_oauth_host' : 'untrusted_base_uri';
      throw new ConnectorError(code, `DocuSign ${endpoint} call refused, nothing sent: ${violation}`);
    }
    const started = this.now();
    let res;
    try {
      res = await got(url, {
        method: init.method,
        headers: { accept: 'application/json', ...init.headers },
        ...(init.form ? { form: init.form } : {}),
        timeout: { request: this.options.timeoutMs },
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
        responseType: 'buffer',
      });
    } catch (err) {
      this.options.observe?.({ endpoint, status: 'network_error', durationMs: this.now() - started });
      throw requestFailure(endpoint, url, err);
    }
    const traceToken = headerValue(res.headers, 'x-docusign-tracetoken');
    const rateLimit = rateLimitOf(res.headers);
    const account = ACCOUNT_IN_PATH.exec(new URL(url).pathname)?.[1];
    if (account && rateLimit.hourlyRemaining !== undefined) this.lastRateLimits.set(account.toLowerCase(), rateLimit);
    this.options.observe?.({
      endpoint,
      status: res.statusCode,
      durationMs: this.now() - started,
      ...(traceToken ? { traceToken } : {}),
      ...(endpoint === 'token' || endpoint === 'userinfo' ? {} : { rateLimit }),
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      bytes: res.body,
      body: res.body.toString('utf8'),
      rateLimit,
    };
  }

  private validate<S extends z.ZodType>(
    schema: S,
    res: RawResponse,
    what: string,
  ): { data: z.output<S>; json: unknown } {
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      throw new ConnectorError('invalid_response', `DocuSign ${what}: body is not valid JSON`, {
        httpStatus: res.status,
      });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ConnectorError('invalid_response', `DocuSign ${what}: ${describeIssue(parsed.error)}`, {
        httpStatus: res.status,
      });
    }
    return { data: parsed.data, json };
  }

  private tokenError(res: RawResponse): ConnectorError {
    if (res.status >= 500) {
      return new ConnectorError('docusign_unavailable', `DocuSign token endpoint answered HTTP ${res.status}`, {
        httpStatus: res.status,
      });
    }
    const limited = this.rateLimitError(res, safeJson(res.body, restErrorSchema)?.errorCode);
    if (limited) return limited;
    const body = safeJson(res.body, oauthErrorSchema);
    if (body?.error === 'consent_required') {
      return new ConnectorError(
        'consent_required',
        'DocuSign: consent_required (the user has not granted impersonation)',
        {
          reason: 'consent_required',
          httpStatus: res.status,
        },
      );
    }
    if (body?.error === 'invalid_grant') {
      const reason = body.error_description ?? 'invalid_grant';
      return new ConnectorError('invalid_grant', `DocuSign: invalid_grant (${reason})`, {
        reason,
        httpStatus: res.status,
      });
    }
    const reason = body?.error ?? `HTTP ${res.status}`;
    return new ConnectorError('invalid_grant', `DocuSign token endpoint refused the grant: ${reason}`, {
      reason,
      httpStatus: res.status,
    });
  }

  private restError(res: RawResponse, what: string): Error {
    // DocuSign support asks for the trace token; it is not a secret, so it goes where operators read: the message.
    const traceToken = headerValue(res.headers, 'x-docusign-tracetoken');
    const trace = traceToken ? `; DocuSign trace token ${traceToken}` : '';
    if (res.status === 401) return new AccessTokenRejectedError(`DocuSign ${what}: access token rejected (HTTP 401)`);
    const bodyCode = safeJson(res.body, restErrorSchema)?.errorCode;
    const limited = this.rateLimitError(res, bodyCode);
    if (limited) return limited;
    if (res.status >= 500) {
      return new ConnectorError('docusign_unavailable', `DocuSign ${what} answered HTTP ${res.status}${trace}`, {
        httpStatus: res.status,
      });
    }
    const errorCode = bodyCode ?? `HTTP ${res.status}`;
    const [code, explanation] = REST_ERROR_CODES[errorCode.toUpperCase()] ?? ['request_rejected', 'request rejected'];
    return new ConnectorError(code, `DocuSign ${what}: ${errorCode} (${explanation})${trace}`, {
      reason: errorCode,
      httpStatus: res.status,
    });
  }

  /** Hourly / burst / polling limits, whatever the HTTP status (400 or 429), and any 429. */
  private rateLimitError(res: RawResponse, errorCode: string | undefined): ConnectorError | undefined {
    const upper = errorCode?.toUpperCase();
    const isLimit = res.status === 429 || RATE_LIMIT_CODES.has(upper ?? '');
    if (!isLimit) return undefined;
    const rate = res.rateLimit;
    const retryAfter = Number(headerValue(res.headers, 'retry-after'));
    // Wait for the hourly reset only when the hourly budget is what ran out; a burst limit, or a bare 429 while
    // hourly calls remain, clears within the burst window.
    const hourlyExhausted = upper?.startsWith('HOURLY') === true || rate.hourlyRemaining === 0;
    let retryAfterMs: number;
    if (!Number.isNaN(retryAfter) && retryAfter > 0) retryAfterMs = retryAfter * 1000;
    else if (hourlyExhausted && rate.hourlyResetAt !== undefined) {
      retryAfterMs = Math.max(1000, rate.hourlyResetAt - this.now());
    } else retryAfterMs = this.burstRetryMs;
    return new ConnectorError('rate_limited', `DocuSign rate limit: ${errorCode ?? 'HTTP 429'}`, {
      reason: errorCode ?? 'HTTP_429',
      httpStatus: res.status,
      retryAfterMs,
    });
  }
}

/**
 * A request that got no HTTP answer. Only what got reports as a request failure (network, TLS, timeout) is DocuSign
 * being unavailable; anything else is a fault of the connector. got's messages can include the URL, never headers or
 * bodies; still only the host and the code are kept.
 */
export function requestFailure(endpoint: CallObservation['endpoint'], url: string, err: unknown): ConnectorError {
  const host = new URL(url).host;
  if (err instanceof RequestError) {
    return new ConnectorError('docusign_unavailable', `DocuSign ${endpoint} call to ${host} failed: ${err.code}`);
  }
  return new ConnectorError(
    'internal_error',
    `DocuSign ${endpoint} call to ${host} failed unexpectedly: ${(err as Error).name}`,
  );
}

/**
 * REST errorCodes with a meaning of their own. PARTNER_AUTHENTICATION_FAILED is what DocuSign answers when an account
 * is called through a REST host that does not serve it ("wrong base path", docusign-api.md §4.4): the cure is to
 * resolve base_uri again from /oauth/userinfo. Every other 4xx is a request the connector should not have built.
 */
const REST_ERROR_CODES: Record<string, [ErrorCode, string]> = {
  PARTNER_AUTHENTICATION_FAILED: ['wrong_base_uri', 'the account is not served at this base URI'],
  USER_LACKS_MEMBERSHIP: ['account_not_found', 'the user is not a member of this account'],
};

function rateLimitOf(headers: GotHeaders): RateLimitSnapshot {
  const num = (name: string): number | undefined => {
    const raw = headerValue(headers, name);
    const value = Number(raw);
    return raw === undefined || Number.isNaN(value) ? undefined : value;
  };
  const reset = num('x-ratelimit-reset');
  return {
    hourlyLimit: num('x-ratelimit-limit'),
    hourlyRemaining: num('x-ratelimit-remaining'),
    hourlyResetAt: reset === undefined ? undefined : reset * 1000,
    burstLimit: num('x-burstlimit-limit'),
    burstRemaining: num('x-burstlimit-remaining'),
  };
}

/** The first validation issue as `field <path> <rule>`. */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : '(root)';
  return `field ${field} ${issue?.message ?? 'is invalid'}`;
}

function headerValue(headers: GotHeaders, name: string): string | undefined {
  const raw = headers[name];
  return Array.isArray(raw) ? raw[0] : raw;
}

function safeJson<S extends z.ZodType>(text: string, schema: S): z.output<S> | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
