/**
 * The one DocuSign client every activity uses: JWT Grant token exchange, userinfo, envelope listing.
 * Written from ../shared/docs/docusign-api.md (never from the emulator). Every response is validated with zod
 * before use; every failure becomes a ConnectorError with a stable code. Secrets (assertion, access token) are sent
 * but never put into an error message or a log line.
 */
import got, { RequestError, type Headers as GotHeaders } from 'got';
import { z } from 'zod';
import type { ErrorCode } from '../workflows/errors';
import { ConnectorError } from './errors';

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
  endpoint: 'token' | 'userinfo' | 'envelopes';
  status: number | 'network_error';
  durationMs: number;
  traceToken?: string;
  rateLimit?: RateLimitSnapshot;
}

export interface DocuSignClientOptions {
  timeoutMs: number;
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
      is_default: z.union([z.boolean(), z.enum(['true', 'false']).transform((s) => s === 'true')]),
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
const docusignTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/, {
  message: 'must be an ISO date-time',
});

const envelopeSchema = z.looseObject({
  envelopeId: z.string().min(1, 'must be a non-empty string'),
  status: z.string().min(1),
  statusChangedDateTime: docusignTime,
});
export type Envelope = z.infer<typeof envelopeSchema>;

const envelopesPageSchema = z.looseObject({
  envelopes: z.array(envelopeSchema).optional(),
  resultSetSize: count,
  totalSetSize: count.optional(),
  startPosition: count.optional(),
  endPosition: count.optional(),
  nextUri: z.string().nullish(),
});
export type EnvelopesPage = z.infer<typeof envelopesPageSchema>;

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
  body: string;
  rateLimit: RateLimitSnapshot;
}

export class DocuSignClient {
  private readonly now: () => number;
  readonly burstRetryMs: number;
  constructor(private readonly options: DocuSignClientOptions) {
    this.now = options.now ?? Date.now;
    this.burstRetryMs = options.burstRetryMs ?? DEFAULT_BURST_RETRY_MS;
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
      // Evidence is stored exactly as DocuSign sent it, once the shape is checked: zod's output reorders keys, and
      // envelopeSchema transforms nothing, so DocuSign's own objects are valid Envelopes.
      const envelopes = (json as { envelopes?: Envelope[] }).envelopes;
      return { page: { ...data, envelopes }, rateLimit: res.rateLimit };
    }
    throw this.restError(res, 'envelope list');
  }

  private async send(
    endpoint: CallObservation['endpoint'],
    url: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; form?: Record<string, string> },
  ): Promise<RawResponse> {
    const started = this.now();
    try {
      const res = await got(url, {
        method: init.method,
        headers: { accept: 'application/json', ...init.headers },
        ...(init.form ? { form: init.form } : {}),
        timeout: { request: this.options.timeoutMs },
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
        responseType: 'text',
      });
      const traceToken = headerValue(res.headers, 'x-docusign-tracetoken');
      const rateLimit = rateLimitOf(res.headers);
      this.options.observe?.({
        endpoint,
        status: res.statusCode,
        durationMs: this.now() - started,
        ...(traceToken ? { traceToken } : {}),
        ...(endpoint === 'envelopes' ? { rateLimit } : {}),
      });
      return { status: res.statusCode, headers: res.headers, body: res.body, rateLimit };
    } catch (err) {
      this.options.observe?.({ endpoint, status: 'network_error', durationMs: this.now() - started });
      const code = err instanceof RequestError ? err.code : 'ERR';
      // got's messages can include the URL but never headers or bodies; still keep only the host and the code.
      throw new ConnectorError(
        'docusign_unavailable',
        `DocuSign ${endpoint} call to ${new URL(url).host} failed: ${code}`,
      );
    }
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
      const issue = parsed.error.issues[0];
      const field = issue?.path.length ? issue.path.join('.') : '(root)';
      throw new ConnectorError(
        'invalid_response',
        `DocuSign ${what}: field ${field} ${issue?.message ?? 'is invalid'}`,
        {
          httpStatus: res.status,
        },
      );
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
    const isLimit = res.status === 429 || (upper !== undefined && RATE_LIMIT_CODES.has(upper));
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
