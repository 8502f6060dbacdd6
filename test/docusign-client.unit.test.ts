/**
 * The DocuSign client's requests and what it accepts back, against a tiny local server: the requests as DocuSign
 * documents them (docusign-api.md §1-3), the rate-limit headers, envelope pages whose counts contradict themselves,
 * no redirects followed, the timeout, what each call reports to `observe`, and the REST calls of snapshots and proof.
 * The error classification: test/docusign-errors.unit.test.ts; real response shapes: test/docusign-shapes.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DocuSignClient, nextPageUrl, type CallObservation, type DocuSignClientOptions } from '../activities/docusign';
import { ConnectorError } from '../activities/errors';
import { trustPolicyOf } from '../activities/trust';
import { scriptedServer, type ScriptedServer } from './helpers/scripted-http';

const ID = 'a1b2c3d4-0000-4000-8000-000000000001';
const RESET_S = 1_782_302_400;
const RATE_HEADERS = {
  'x-ratelimit-limit': '3000',
  'x-ratelimit-remaining': '2999',
  'x-ratelimit-reset': String(RESET_S),
  'x-burstlimit-limit': '500',
  'x-burstlimit-remaining': '499',
};

let server: ScriptedServer;
let client: DocuSignClient;
const observed: CallObservation[] = [];
let clock = 0;

const clientFor = (options: Partial<DocuSignClientOptions> = {}) =>
  new DocuSignClient({
    timeoutMs: 2000,
    trust: trustPolicyOf({ allowedHosts: [server.host] }),
    observe: (call) => observed.push(call),
    now: () => (clock += 5), // every reading 5 ms later
    ...options,
  });

before(async () => {
  server = await scriptedServer();
  client = clientFor();
});
after(() => server.close());

const last = () => server.requests.at(-1)!;
const list = (path = '/restapi/v2.1/accounts/a/envelopes?from_date=x') => `${server.base}${path}`;
const envelope = (n: number) => ({
  envelopeId: `${ID.slice(0, -1)}${n}`,
  status: 'sent',
  statusChangedDateTime: '2024-10-16T12:54:00.0270000Z',
});

async function refused(call: () => Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof ConnectorError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe('requests', () => {
  test('JWT Grant: a form POST with the grant type and assertion, never cached; the token parsed', async () => {
    server.answer = { status: 200, body: { access_token: 'tok', token_type: 'bearer', expires_in: '3600' } };
    assert.deepEqual(await client.requestToken(server.base, 'the.assertion'), { accessToken: 'tok', expiresIn: 3600 });
    const req = last();
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/oauth/token');
    assert.match(req.headers['content-type'] ?? '', /^application\/x-www-form-urlencoded/);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(req.body)), {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: 'the.assertion',
    });
    assert.equal(req.headers['cache-control'], 'no-store');
    assert.equal(req.headers.pragma, 'no-cache');
    assert.equal(req.headers.accept, 'application/json');
    assert.equal(req.headers.authorization, undefined);
  });

  test('a token response needs a non-empty token of type Bearer (any casing) and a positive lifetime', async () => {
    server.answer = { status: 200, body: { access_token: 'x'.repeat(300), token_type: 'Bearer', expires_in: 60 } };
    assert.equal((await client.requestToken(server.base, 'a')).accessToken.length, 300);
    for (const [body, field] of [
      [{ access_token: '', token_type: 'Bearer', expires_in: 60 }, 'access_token'],
      [{ access_token: 't', token_type: 'Bearer', expires_in: 0 }, 'expires_in'],
      [{ access_token: 't', expires_in: 60 }, 'token_type'],
    ] as const) {
      server.answer = { status: 200, body };
      await refused(() => client.requestToken(server.base, 'a'), 'invalid_response', new RegExp(`field ${field} `));
    }
  });

  test('userinfo and envelope lists: GET with the bearer token, JSON accepted', async () => {
    server.answer = {
      status: 200,
      body: { sub: 'u', accounts: [{ account_id: 'acc', is_default: 'true', base_uri: 'https://na3.docusign.net' }] },
    };
    const info = await client.userInfo(server.base, 'access-1');
    assert.equal(info.accounts[0]?.is_default, true);
    assert.deepEqual(
      [last().method, last().url, last().headers.authorization],
      ['GET', '/oauth/userinfo', 'Bearer access-1'],
    );
    server.answer = { status: 200, body: { resultSetSize: '0', envelopes: [] } };
    await client.listEnvelopes(list(), 'access-2');
    assert.deepEqual(
      [last().method, last().headers.authorization, last().headers.accept],
      ['GET', 'Bearer access-2', 'application/json'],
    );
  });

  test("userinfo goes to an OAuth host only: a REST host (even DocuSign's) is refused, nothing sent", async () => {
    const before = server.requests.length;
    await refused(
      () => client.userInfo('https://na3.docusign.net', 't'),
      'untrusted_oauth_host',
      /userinfo call refused/,
    );
    assert.equal(server.requests.length, before);
  });

  test('a redirect is not followed (a bearer token never goes where DocuSign did not answer)', async () => {
    server.answer = { status: 302, body: '', headers: { location: `${server.base}/elsewhere` } };
    const before = server.requests.length;
    await refused(() => client.listEnvelopes(list(), 't'), 'request_rejected', /HTTP 302/);
    assert.equal(server.requests.length, before + 1);
  });

  test('no answer within timeoutMs: docusign_unavailable (ETIMEDOUT)', async () => {
    server.answer = { status: 200, hang: true };
    const started = Date.now();
    await refused(() => clientFor({ timeoutMs: 150 }).listEnvelopes(list(), 't'), 'docusign_unavailable', /ETIMEDOUT$/);
    assert.ok(Date.now() - started < 1_500, 'ended by the timeout');
  });
});

describe('rate-limit headers and observations', () => {
  test('the headers as numbers (reset in epoch ms); missing or unreadable ones are unknown', async () => {
    server.answer = { status: 200, body: { resultSetSize: '0' }, headers: RATE_HEADERS };
    assert.deepEqual((await client.listEnvelopes(list(), 't')).rateLimit, {
      hourlyLimit: 3000,
      hourlyRemaining: 2999,
      hourlyResetAt: RESET_S * 1000,
      burstLimit: 500,
      burstRemaining: 499,
    });
    server.answer = { status: 200, body: { resultSetSize: '0' }, headers: { 'x-ratelimit-remaining': 'many' } };
    assert.deepEqual((await client.listEnvelopes(list(), 't')).rateLimit, {
      hourlyLimit: undefined,
      hourlyRemaining: undefined,
      hourlyResetAt: undefined,
      burstLimit: undefined,
      burstRemaining: undefined,
    });
  });

  test('every exchange is observed: endpoint, status, duration, trace token; rate limits for REST calls only', async () => {
    observed.length = 0;
    server.answer = {
      status: 200,
      body: { resultSetSize: '0' },
      headers: { ...RATE_HEADERS, 'x-docusign-tracetoken': 'tr-1' },
    };
    await client.listEnvelopes(list(), 't');
    server.answer = { status: 400, body: { error: 'consent_required' }, headers: RATE_HEADERS };
    await client.requestToken(server.base, 'a').catch(() => undefined);
    const closed = clientFor({ trust: trustPolicyOf({ allowedHosts: ['127.0.0.1:9'] }) });
    await closed.listEnvelopes('http://127.0.0.1:9/restapi/x', 't').catch(() => undefined);
    assert.deepEqual(observed, [
      {
        endpoint: 'envelopes',
        status: 200,
        durationMs: 5,
        traceToken: 'tr-1',
        rateLimit: {
          hourlyLimit: 3000,
          hourlyRemaining: 2999,
          hourlyResetAt: RESET_S * 1000,
          burstLimit: 500,
          burstRemaining: 499,
        },
      },
      { endpoint: 'token', status: 400, durationMs: 5 },
      { endpoint: 'envelopes', status: 'network_error', durationMs: 5 },
    ]);
  });
});

describe('envelope pages', () => {
  const page = async (body: unknown) => {
    server.answer = { status: 200, body };
    return (await client.listEnvelopes(list(), 't')).page;
  };
  const badPage = (message: RegExp) => refused(() => client.listEnvelopes(list(), 't'), 'invalid_response', message);

  test('counts as DocuSign sends them (strings, several digits), or as numbers; counts are optional but the size', async () => {
    const p = await page({
      resultSetSize: '2',
      totalSetSize: '250',
      startPosition: '100',
      endPosition: '101',
      envelopes: [envelope(1), envelope(2)],
    });
    assert.deepEqual([p.resultSetSize, p.totalSetSize, p.startPosition, p.endPosition], [2, 250, 100, 101]);
    assert.equal(p.envelopes.length, 2);
    assert.equal((await page({ resultSetSize: 1, envelopes: [envelope(1)] })).totalSetSize, undefined);
    const empty = await page({ resultSetSize: '0', totalSetSize: '0', startPosition: '0', endPosition: '-1' });
    assert.deepEqual([empty.envelopes, empty.rejected, empty.resultSetSize], [[], [], 0]);
  });

  const contradictions: [string, unknown, RegExp][] = [
    ['no resultSetSize', { envelopes: [envelope(1)] }, /field resultSetSize /],
    [
      'a count that is not a number',
      { resultSetSize: '1x', envelopes: [envelope(1)] },
      /field resultSetSize must be a decimal count$/,
    ],
    [
      'resultSetSize not the number of envelopes',
      { resultSetSize: '3', envelopes: [envelope(1), envelope(2)] },
      /field resultSetSize must equal the number of envelopes \(2\)$/,
    ],
    [
      'endPosition not startPosition + size - 1',
      { resultSetSize: '2', startPosition: '10', endPosition: '12', envelopes: [envelope(1), envelope(2)] },
      /field endPosition must be startPosition \+ resultSetSize - 1 \(11\)$/,
    ],
    [
      'totalSetSize not beyond endPosition',
      { resultSetSize: '1', startPosition: '4', endPosition: '4', totalSetSize: '4', envelopes: [envelope(1)] },
      /field totalSetSize must exceed endPosition$/,
    ],
    [
      'an empty page that says more remain',
      { resultSetSize: '0', startPosition: '4', endPosition: '3', totalSetSize: '5' },
      /field totalSetSize says more envelopes remain after an empty page$/,
    ],
    [
      'an item without an envelope ID',
      { resultSetSize: '1', envelopes: [{ status: 'sent' }] },
      /field envelopes\.0\.envelopeId /,
    ],
    ['not an object at all', [], /^DocuSign envelope list: field \(root\) /],
  ];
  for (const [what, body, message] of contradictions) {
    test(`refused: ${what}`, async () => {
      server.answer = { status: 200, body };
      await badPage(message);
    });
  }

  test('paging: with both counts they decide; with one missing only nextUri is followed; no progress is refused', () => {
    const rest = 'https://na3.docusign.net/restapi';
    const url = `${rest}/v2.1/accounts/a/envelopes?from_date=x&start_position=0`;
    assert.equal(
      nextPageUrl(url, { endPosition: 1, totalSetSize: 4 }, rest),
      `${rest}/v2.1/accounts/a/envelopes?from_date=x&start_position=2`,
    );
    assert.equal(nextPageUrl(url, { endPosition: 3, totalSetSize: 4, nextUri: '/more' }, rest), undefined);
    assert.equal(nextPageUrl(url, { endPosition: 1 }, rest), undefined);
    assert.equal(nextPageUrl(url, { totalSetSize: 4 }, rest), undefined);
    assert.equal(nextPageUrl(url, { endPosition: 1, nextUri: '/more' }, rest), `${rest}/v2.1/more`);
    assert.equal(nextPageUrl(url, { totalSetSize: 4, nextUri: '/more' }, rest), `${rest}/v2.1/more`);
    assert.throws(
      () => nextPageUrl(`${rest}/x?start_position=2`, { endPosition: 1, totalSetSize: 4 }, rest),
      (err: unknown) =>
        err instanceof ConnectorError && err.code === 'invalid_response' && /does not advance past 2/.test(err.message),
    );
  });

  test('an empty page at the end of the set, and the last page exactly filling it, are consistent', async () => {
    await page({ resultSetSize: '0', startPosition: '5', endPosition: '4', totalSetSize: '5' });
    await page({
      resultSetSize: '1',
      startPosition: '4',
      endPosition: '4',
      totalSetSize: '5',
      envelopes: [envelope(1)],
    });
  });
});

describe('the REST calls of snapshots and signed proof', () => {
  test('a list page: the items exactly as sent, the paging fields, counts optional', async () => {
    server.answer = {
      status: 200,
      body: {
        users: [{ z: 1, userId: 'u1', a: 2 }],
        resultSetSize: '1',
        totalSetSize: '3',
        startPosition: '0',
        endPosition: '0',
        nextUri: '/x',
      },
      headers: RATE_HEADERS,
    };
    const got = await client.listPage('users', `${server.base}/restapi/v2.1/accounts/a/users`, 't', {
      itemsKey: 'users',
      idField: 'userId',
    });
    assert.deepEqual(got.items, [{ z: 1, userId: 'u1', a: 2 }]);
    assert.deepEqual(Object.keys(got.items[0]!), ['z', 'userId', 'a'], 'key order kept');
    assert.deepEqual(got.paging, {
      resultSetSize: 1,
      totalSetSize: 3,
      startPosition: 0,
      endPosition: 0,
      nextUri: '/x',
    });
    assert.equal(got.rateLimit.hourlyRemaining, 2999);
    assert.deepEqual([last().method, last().headers.authorization], ['GET', 'Bearer t']);
    server.answer = { status: 200, body: {} }; // GET /signing_groups with none answers {}
    const none = await client.listPage('signing-groups', `${server.base}/g`, 't', {
      itemsKey: 'groups',
      idField: 'signingGroupId',
    });
    assert.deepEqual([none.items, none.paging.resultSetSize], [[], undefined]);
  });

  test('a list item without its ID fails the page; a list answer that is an error is classified', async () => {
    server.answer = { status: 200, body: { groups: [{ groupId: '' }] } };
    await refused(
      () => client.listPage('groups', `${server.base}/g`, 't', { itemsKey: 'groups', idField: 'groupId' }),
      'invalid_response',
      /^DocuSign groups list: field groups\.0\.groupId must be an ID \(groupId\)$/,
    );
    server.answer = { status: 400, body: { errorCode: 'USER_LACKS_MEMBERSHIP' } };
    await refused(
      () => client.listPage('groups', `${server.base}/g`, 't', { itemsKey: 'groups', idField: 'groupId' }),
      'account_not_found',
      /groups: USER_LACKS_MEMBERSHIP/,
    );
  });

  test('an object exactly as sent; a JSON that is not an object is refused; errors are classified', async () => {
    server.answer = { status: 200, body: { b: 'x', a: { nested: true } }, headers: RATE_HEADERS };
    const got = await client.getObject('settings', `${server.base}/s`, 't');
    assert.deepEqual(got.object, { b: 'x', a: { nested: true } });
    assert.equal(got.rateLimit.burstRemaining, 499);
    assert.deepEqual([last().method, last().headers.authorization], ['GET', 'Bearer t']);
    server.answer = { status: 200, body: [1] };
    await refused(
      () => client.getObject('password-rules', `${server.base}/p`, 't'),
      'invalid_response',
      /^DocuSign password-rules: /,
    );
    server.answer = { status: 503, body: '' };
    await refused(
      () => client.getObject('settings', `${server.base}/s`, 't'),
      'docusign_unavailable',
      /settings answered HTTP 503/,
    );
  });

  test('the certificate: PDF bytes exactly as sent; anything that is not a PDF is refused', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from([0, 255, 10, 13])]);
    server.answer = {
      status: 200,
      body: pdf,
      headers: { 'content-type': 'application/pdf; qs=0.001', ...RATE_HEADERS },
    };
    const got = await client.getDocument(`${server.base}/c`, 't');
    assert.ok(got.bytes.equals(pdf));
    assert.equal(got.contentType, 'application/pdf');
    assert.equal(got.rateLimit.hourlyLimit, 3000);
    assert.deepEqual([last().headers.accept, last().headers.authorization], ['application/pdf', 'Bearer t']);
    for (const [body, contentType, shown] of [
      [pdf, 'application/json', 'application/json'],
      [Buffer.from('<html>%PDF-'), 'application/pdf', 'application/pdf'],
      [pdf, 'text/application/pdf', 'text/application/pdf'],
      [pdf, '', 'none'],
    ] as const) {
      server.answer = { status: 200, body, headers: { 'content-type': contentType } };
      await refused(
        () => client.getDocument(`${server.base}/c`, 't'),
        'invalid_response',
        new RegExp(`^DocuSign certificate: not a PDF \\(content-type ${shown.replace(/\//g, '\\/')}\\)$`),
      );
    }
    server.answer = { status: 404, body: { errorCode: 'ENVELOPE_DOES_NOT_EXIST' } };
    await refused(
      () => client.getDocument(`${server.base}/c`, 't'),
      'request_rejected',
      /^DocuSign certificate: ENVELOPE_DOES_NOT_EXIST/,
    );
  });

  test('audit events: validated, the body kept byte for byte; a wrong shape or an error is refused', async () => {
    const text = '{"auditEvents":[{"eventFields":[{"value":"Sent","name":"Action"}]}]}';
    server.answer = { status: 200, body: text, headers: RATE_HEADERS };
    const got = await client.getAuditEvents(`${server.base}/a`, 't');
    assert.equal(got.bytes.toString(), text);
    assert.equal(got.rateLimit.hourlyRemaining, 2999);
    assert.deepEqual([last().method, last().headers.authorization], ['GET', 'Bearer t']);
    server.answer = { status: 200, body: {} };
    assert.equal((await client.getAuditEvents(`${server.base}/a`, 't')).bytes.toString(), '{}', 'no events yet');
    server.answer = { status: 200, body: { auditEvents: [{ eventFields: [{ name: 7 }] }] } };
    await refused(
      () => client.getAuditEvents(`${server.base}/a`, 't'),
      'invalid_response',
      /^DocuSign audit events: field auditEvents\.0\.eventFields\.0\.name /,
    );
    server.answer = { status: 429, body: '' };
    await refused(() => client.getAuditEvents(`${server.base}/a`, 't'), 'rate_limited', /HTTP 429/);
  });
});
