/**
 * The DocuSign client's error classification (README "Troubleshooting": DocuSign errors → lastError.code): every row
 * the client itself produces, from DocuSign's answers served by a tiny local server, plus the 401 the token service
 * retries and the failures that never got an HTTP answer.
 */
import { RequestError } from 'got';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { AccessTokenRejectedError, DocuSignClient, requestFailure } from '../activities/docusign';
import { ApplicationFailure } from '@temporalio/common';
import { ConnectorError, toApplicationFailure } from '../activities/errors';
import { trustPolicyOf } from '../activities/trust';
import { scriptedServer, type Answer, type ScriptedServer } from './helpers/scripted-http';

const NOW = Date.parse('2026-06-24T12:00:00Z');
const RESET_S = NOW / 1000 + 1800; // X-RateLimit-Reset: half an hour after NOW
const BURST_RETRY_MS = 7_000;
const TRACE = '3f2c1d0e-aaaa-bbbb-cccc-0123456789ab';

let server: ScriptedServer;
let base = '';
let client: DocuSignClient;

before(async () => {
  server = await scriptedServer();
  base = server.base;
  client = new DocuSignClient({
    timeoutMs: 2000,
    trust: trustPolicyOf({ allowedHosts: [server.host] }),
    now: () => NOW,
    burstRetryMs: BURST_RETRY_MS,
  });
});
after(() => server.close());

const rateHeaders = (remaining: number) => ({
  'x-ratelimit-limit': '3000',
  'x-ratelimit-remaining': String(remaining),
  'x-ratelimit-reset': String(RESET_S),
});

/** What a call fails with when DocuSign answers `a`. */
async function failure(call: 'token' | 'userinfo' | 'envelopes', a: Answer): Promise<unknown> {
  server.answer = a;
  const run = {
    token: () => client.requestToken(base, 'assertion'),
    userinfo: () => client.userInfo(base, 'token'),
    envelopes: () => client.listEnvelopes(`${base}/restapi/v2.1/accounts/a/envelopes?from_date=x`, 'token'),
  }[call];
  try {
    await run();
  } catch (err) {
    return err;
  }
  return assert.fail(`${call} did not fail`);
}

function assertCode(
  err: unknown,
  code: string,
  extra: { reason?: string; httpStatus?: number; retryAfterMs?: number; message?: RegExp } = {},
): void {
  assert.ok(err instanceof ConnectorError, `a ConnectorError: ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if ('reason' in extra) assert.equal(err.extra.reason, extra.reason);
  if ('httpStatus' in extra) assert.equal(err.extra.httpStatus, extra.httpStatus);
  if ('retryAfterMs' in extra) assert.equal(err.extra.retryAfterMs, extra.retryAfterMs);
  if (extra.message) assert.match(err.message, extra.message);
}

describe('token endpoint answers', () => {
  test('consent_required: the user has not granted impersonation', async () => {
    const err = await failure('token', { status: 400, body: { error: 'consent_required' } });
    assertCode(err, 'consent_required', { reason: 'consent_required', httpStatus: 400, message: /consent_required/ });
  });

  for (const reason of ['no_valid_keys_or_signatures', 'user_not_found', 'issuer_not_found', 'expired_grant']) {
    test(`invalid_grant with ${reason}: DocuSign's reason kept`, async () => {
      const err = await failure('token', { status: 400, body: { error: 'invalid_grant', error_description: reason } });
      assertCode(err, 'invalid_grant', {
        reason,
        httpStatus: 400,
        message: new RegExp(`^DocuSign: invalid_grant \\(${reason}\\)$`),
      });
    });
  }

  test('invalid_grant without a description; another OAuth error; a body that is no OAuth error', async () => {
    assertCode(await failure('token', { status: 400, body: { error: 'invalid_grant' } }), 'invalid_grant', {
      reason: 'invalid_grant',
    });
    assertCode(await failure('token', { status: 400, body: { error: 'unauthorized_client' } }), 'invalid_grant', {
      reason: 'unauthorized_client',
      httpStatus: 400,
      message: /refused the grant: unauthorized_client$/,
    });
    assertCode(await failure('token', { status: 403, body: '<html>' }), 'invalid_grant', {
      reason: 'HTTP 403',
      httpStatus: 403,
    });
    // An `error` that is not a string is no OAuth error either.
    assertCode(await failure('token', { status: 400, body: { error: 42 } }), 'invalid_grant', { reason: 'HTTP 400' });
  });

  for (const status of [500, 502, 503]) {
    test(`HTTP ${status}: docusign_unavailable`, async () => {
      const err = await failure('token', { status, body: { error: 'temporarily_unavailable' } });
      assertCode(err, 'docusign_unavailable', { httpStatus: status, message: new RegExp(`HTTP ${status}$`) });
    });
  }

  test('a rate limit on the token endpoint: rate_limited, not invalid_grant', async () => {
    const err = await failure('token', { status: 429, body: { error: 'too_many_requests' } });
    assertCode(err, 'rate_limited', { reason: 'HTTP_429', retryAfterMs: BURST_RETRY_MS });
  });

  test('HTTP 200 that is not a token: invalid_response naming the field', async () => {
    const err = await failure('token', {
      status: 200,
      body: { access_token: 'a', token_type: 'mac', expires_in: 3600 },
    });
    assertCode(err, 'invalid_response', {
      httpStatus: 200,
      message: /token response: field token_type must be Bearer/,
    });
    assertCode(await failure('token', { status: 200, body: 'not json' }), 'invalid_response', {
      message: /body is not valid JSON/,
    });
  });
});

describe('REST answers', () => {
  test('401: AccessTokenRejectedError (the token service re-mints once), from REST and userinfo', async () => {
    const rest = await failure('envelopes', { status: 401, body: { errorCode: 'USER_AUTHENTICATION_FAILED' } });
    assert.ok(rest instanceof AccessTokenRejectedError);
    assert.equal(rest.name, 'AccessTokenRejectedError');
    assert.match(rest.message, /envelope list: access token rejected \(HTTP 401\)/);
    assert.ok(
      (await failure('userinfo', { status: 401, body: { error: 'internal_server_error' } })) instanceof
        AccessTokenRejectedError,
    );
  });

  test('PARTNER_AUTHENTICATION_FAILED: wrong_base_uri (any casing), with the trace token', async () => {
    for (const errorCode of ['PARTNER_AUTHENTICATION_FAILED', 'Partner_Authentication_Failed']) {
      const err = await failure('envelopes', {
        status: 400,
        body: { errorCode },
        headers: { 'x-docusign-tracetoken': TRACE },
      });
      assertCode(err, 'wrong_base_uri', {
        reason: errorCode,
        httpStatus: 400,
        message: new RegExp(
          `${errorCode} \\(the account is not served at this base URI\\); DocuSign trace token ${TRACE}$`,
        ),
      });
    }
  });

  test('USER_LACKS_MEMBERSHIP: account_not_found', async () => {
    const err = await failure('envelopes', { status: 400, body: { errorCode: 'USER_LACKS_MEMBERSHIP', message: 'x' } });
    assertCode(err, 'account_not_found', { reason: 'USER_LACKS_MEMBERSHIP', message: /not a member of this account/ });
  });

  test('another 4xx errorCode: request_rejected with the code and the trace token; no body: the status', async () => {
    const err = await failure('envelopes', {
      status: 400,
      body: { errorCode: 'INVALID_REQUEST_PARAMETER', message: 'from_date' },
      headers: { 'x-docusign-tracetoken': TRACE },
    });
    assertCode(err, 'request_rejected', {
      reason: 'INVALID_REQUEST_PARAMETER',
      httpStatus: 400,
      message: new RegExp(
        `^DocuSign envelope list: INVALID_REQUEST_PARAMETER \\(request rejected\\); DocuSign trace token ${TRACE}$`,
      ),
    });
    assertCode(await failure('envelopes', { status: 400, body: { errorCode: 42 } }), 'request_rejected', {
      reason: 'HTTP 400',
    });
    assertCode(await failure('envelopes', { status: 404, body: '' }), 'request_rejected', {
      reason: 'HTTP 404',
      httpStatus: 404,
      message: /^DocuSign envelope list: HTTP 404 \(request rejected\)$/,
    });
  });

  for (const status of [500, 503, 504]) {
    test(`HTTP ${status}: docusign_unavailable with the trace token`, async () => {
      const err = await failure('envelopes', {
        status,
        body: { errorCode: 'INTERNAL' },
        headers: { 'x-docusign-tracetoken': TRACE },
      });
      assertCode(err, 'docusign_unavailable', {
        httpStatus: status,
        message: new RegExp(`HTTP ${status}; DocuSign trace token ${TRACE}$`),
      });
    });
  }

  const limits: [string, Answer, { reason: string; retryAfterMs: number }][] = [
    [
      'hourly limit as 400: wait for the hourly reset',
      { status: 400, body: { errorCode: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED' }, headers: rateHeaders(0) },
      { reason: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED', retryAfterMs: 1_800_000 },
    ],
    [
      'hourly limit as 429: the same',
      { status: 429, body: { errorCode: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED' }, headers: rateHeaders(5) },
      { reason: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED', retryAfterMs: 1_800_000 },
    ],
    [
      'burst limit: the burst window, though hourly calls remain',
      { status: 429, body: { errorCode: 'BURST_APIINVOCATION_LIMIT_EXCEEDED' }, headers: rateHeaders(100) },
      { reason: 'BURST_APIINVOCATION_LIMIT_EXCEEDED', retryAfterMs: BURST_RETRY_MS },
    ],
    [
      'per-envelope polling limit, in DocuSign’s mixed casing, as 400',
      { status: 400, body: { errorCode: 'Hourly_Envelope_Polling_Limit_Exceeded' }, headers: rateHeaders(100) },
      { reason: 'Hourly_Envelope_Polling_Limit_Exceeded', retryAfterMs: 1_800_000 },
    ],
    [
      'burst polling limit',
      { status: 400, body: { errorCode: 'Burst_Envelope_Polling_Limit_Exceeded' }, headers: rateHeaders(100) },
      { reason: 'Burst_Envelope_Polling_Limit_Exceeded', retryAfterMs: BURST_RETRY_MS },
    ],
    [
      'a bare 429 while hourly calls remain: the burst window',
      { status: 429, body: '', headers: rateHeaders(10) },
      { reason: 'HTTP_429', retryAfterMs: BURST_RETRY_MS },
    ],
    [
      'a bare 429 with the hourly budget at 0: the hourly reset',
      { status: 429, body: '', headers: rateHeaders(0) },
      { reason: 'HTTP_429', retryAfterMs: 1_800_000 },
    ],
    [
      'Retry-After wins over the headers',
      {
        status: 429,
        body: { errorCode: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED' },
        headers: { ...rateHeaders(0), 'retry-after': '12' },
      },
      { reason: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED', retryAfterMs: 12_000 },
    ],
    [
      'a Retry-After of 0 or garbage is ignored',
      { status: 429, body: '', headers: { ...rateHeaders(3), 'retry-after': '0' } },
      { reason: 'HTTP_429', retryAfterMs: BURST_RETRY_MS },
    ],
    [
      'an hourly limit with the reset already passed: at least a second',
      {
        status: 400,
        body: { errorCode: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED' },
        headers: { ...rateHeaders(0), 'x-ratelimit-reset': String(NOW / 1000 - 5) },
      },
      { reason: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED', retryAfterMs: 1000 },
    ],
    [
      'an hourly limit without a reset header: the burst window',
      { status: 400, body: { errorCode: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED' } },
      { reason: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED', retryAfterMs: BURST_RETRY_MS },
    ],
  ];
  for (const [what, a, expected] of limits) {
    test(`rate_limited: ${what}`, async () => {
      assertCode(await failure('envelopes', a), 'rate_limited', {
        ...expected,
        httpStatus: a.status,
        message: new RegExp(
          `^DocuSign rate limit: ${a.body ? String((a.body as { errorCode: string }).errorCode) : 'HTTP 429'}$`,
        ),
      });
    });
  }

  test('HTTP 200 that is not a page: invalid_response naming the field; not JSON: saying so', async () => {
    assertCode(
      await failure('envelopes', { status: 200, body: { envelopes: [], resultSetSize: 'many' } }),
      'invalid_response',
      {
        httpStatus: 200,
        message: /^DocuSign envelope list: field resultSetSize must be a decimal count$/,
      },
    );
    assertCode(await failure('envelopes', { status: 200, body: '{"envelopes":' }), 'invalid_response', {
      httpStatus: 200,
      message: /^DocuSign envelope list: body is not valid JSON$/,
    });
    assertCode(
      await failure('userinfo', { status: 200, body: { sub: 'u', accounts: [{ account_id: 'a' }] } }),
      'invalid_response',
      {
        message: /^DocuSign userinfo: field accounts\.0\.is_default must be true or false$/,
      },
    );
  });
});

describe('calls that get no HTTP answer, or are never sent', () => {
  test('nothing listening: docusign_unavailable with the host and the code, never the URL path', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const refused = new DocuSignClient({ timeoutMs: 2000, trust: trustPolicyOf({ allowedHosts: [host] }) });
    await assert.rejects(refused.listEnvelopes(`http://${host}/restapi/secret-path`, 'token'), (err: unknown) => {
      assertCode(err, 'docusign_unavailable', {
        message: new RegExp(`^DocuSign envelopes call to ${host} failed: ECONNREFUSED$`),
      });
      return true;
    });
  });

  test('a request error reported by got is docusign_unavailable; anything else is a fault of the connector', () => {
    const url = 'https://na3.docusign.net/restapi/v2.1/accounts/a/envelopes';
    const gotError = new RequestError('socket hang up', { code: 'ECONNRESET' }, undefined as never);
    assertCode(requestFailure('envelopes', url, gotError), 'docusign_unavailable', {
      message: /^DocuSign envelopes call to na3\.docusign\.net failed: ECONNRESET$/,
    });
    assertCode(requestFailure('token', url, new TypeError('x is not a function')), 'internal_error', {
      message: /^DocuSign token call to na3\.docusign\.net failed unexpectedly: TypeError$/,
    });
  });

  test('hosts the trust policy does not accept get nothing: untrusted_oauth_host, untrusted_base_uri', async () => {
    await assert.rejects(client.requestToken('https://evil.example', 'assertion'), (err: unknown) => {
      assertCode(err, 'untrusted_oauth_host', { message: /^DocuSign token call refused, nothing sent: / });
      return true;
    });
    await assert.rejects(
      client.listEnvelopes('https://evil.example/restapi/v2.1/accounts/a/envelopes', 't'),
      (err: unknown) => {
        assertCode(err, 'untrusted_base_uri', { message: /^DocuSign envelopes call refused, nothing sent: / });
        return true;
      },
    );
  });
});

describe('the activity boundary', () => {
  test('a failure already typed keeps its type, retry rule and delay, and still carries the caller details', () => {
    const typed = toApplicationFailure(
      new ConnectorError('rate_limited', 'DocuSign: hourly limit reached', { retryAfterMs: 60_000 }),
    );
    const withCursor = toApplicationFailure(typed, { progressCursor: '2026-06-24T11:00:00.000Z' });
    assert.ok(withCursor instanceof ApplicationFailure);
    assert.equal(withCursor.type, 'rate_limited');
    assert.equal(withCursor.message, typed.message);
    assert.equal(withCursor.nonRetryable, typed.nonRetryable);
    assert.equal(withCursor.nextRetryDelay, 60_000);
    assert.deepEqual(withCursor.details, [
      { ...(typed.details?.[0] as object), progressCursor: '2026-06-24T11:00:00.000Z' },
    ]);
    // Without details to add, the same failure comes back.
    assert.equal(toApplicationFailure(typed), typed);
  });
});
