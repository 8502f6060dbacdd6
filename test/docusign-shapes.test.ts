/**
 * The DocuSign client against the shapes real DocuSign sends (docusign-api.md §10), served by a tiny local server:
 * booleans as `true`, "True" or "true"; times without a zone (UTC); lists whose `nextUri` is missing while the counts
 * say more remain; one malformed envelope in an otherwise valid page (returned as rejected, for the quarantine).
 * Pages whose own shape is wrong are refused: test/reliability/bad-input.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { accountOf, DocuSignClient, nextPageUrl, parseDocuSignBoolean } from '../activities/docusign';
import { ConnectorError } from '../activities/errors';
import { trustPolicyOf } from '../activities/trust';

const TOKEN = 'test-access-token';
const ID = (n: number) => `5c0f6a4e-1d2b-4c3a-9e8f-7a6b5c4d3e${String(n).padStart(2, '0')}`;

let server: Server;
let base = '';
let body = '';
let client: DocuSignClient;

before(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new DocuSignClient({ timeoutMs: 2000, trust: trustPolicyOf({ allowedHosts: [new URL(base).host] }) });
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function envelope(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    statusChangedDateTime: '2024-10-16T12:54:00.0270000Z',
    envelopeId: ID(n),
    status: 'completed',
    emailSubject: `NDA ${n}`,
    ...extra,
  };
}

function page(envelopes: Record<string, unknown>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const size = envelopes.length;
  return {
    resultSetSize: String(size),
    totalSetSize: String(size),
    startPosition: '0',
    endPosition: String(size - 1),
    nextUri: '',
    envelopes,
    ...extra,
  };
}

async function list(response: unknown) {
  body = JSON.stringify(response);
  return (await client.listEnvelopes(`${base}/restapi/v2.1/accounts/a/envelopes?from_date=x`, TOKEN)).page;
}

describe('booleans: a JSON boolean or a string in either casing', () => {
  test('parseDocuSignBoolean', () => {
    for (const v of [true, 'True', 'true', 'TRUE']) assert.equal(parseDocuSignBoolean(v), true, String(v));
    for (const v of [false, 'False', 'false']) assert.equal(parseDocuSignBoolean(v), false, String(v));
    for (const v of ['yes', '1', 1, null, undefined, '', ' true']) assert.equal(parseDocuSignBoolean(v), undefined);
  });

  for (const [first, second] of [
    [false, true],
    ['False', 'True'],
    ['false', 'true'],
    ['FALSE', true],
  ] as const) {
    test(`userinfo is_default ${JSON.stringify(first)} / ${JSON.stringify(second)}: the default account is chosen`, async () => {
      const account = (id: string, isDefault: unknown) => ({
        account_id: id,
        is_default: isDefault,
        base_uri: 'https://na3.docusign.net',
      });
      body = JSON.stringify({ sub: ID(0), accounts: [account('first', first), account('second', second)] });
      const info = await client.userInfo(base, TOKEN);
      assert.deepEqual(
        info.accounts.map((a) => a.is_default),
        [false, true],
      );
      assert.equal(accountOf(info, undefined)?.account_id, 'second');
    });
  }
});

describe('times without a zone are UTC', () => {
  test('a zoneless or offset statusChangedDateTime is a valid envelope, kept exactly as sent', async () => {
    const items = [
      envelope(1, { statusChangedDateTime: '2026-06-23T14:05:59.560' }),
      envelope(2, { statusChangedDateTime: '2026-06-23T16:05:59.5600000+0200' }),
      envelope(3, { statusChangedDateTime: '2026-06-23T14:05:59' }),
    ];
    const result = await list(page(items));
    assert.deepEqual(result.rejected, []);
    assert.deepEqual(result.envelopes, items);
  });
});

describe('one malformed envelope in a valid page: returned as rejected, with the reason, for the quarantine', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['statusChangedDateTime missing', { statusChangedDateTime: undefined }, /^field statusChangedDateTime /],
    ['statusChangedDateTime not a time', { statusChangedDateTime: '10/16/2024' }, /statusChangedDateTime must be/],
    ['an impossible date', { statusChangedDateTime: '2024-02-30T00:00:00Z' }, /statusChangedDateTime must be/],
    ['status empty', { status: '' }, /^field status must be a non-empty string$/],
    ['status a number', { status: 3 }, /^field status /],
  ];
  for (const [name, change, reason] of cases) {
    test(name, async () => {
      const bad = envelope(2, change);
      const result = await list(page([envelope(1), bad, envelope(3)]));
      assert.deepEqual(
        result.envelopes.map((e) => e.envelopeId),
        [ID(1), ID(3)],
      );
      assert.equal(result.rejected.length, 1);
      const [rejected] = result.rejected;
      assert.equal(rejected?.envelopeId, ID(2));
      assert.match(rejected?.reason ?? '', reason);
      assert.equal(JSON.stringify(rejected?.envelope), JSON.stringify(JSON.parse(JSON.stringify(bad))), 'raw item');
    });
  }

  test('an item without a usable envelope ID still fails the page: it could be neither stored nor fetched again', async () => {
    for (const envelopeId of [42, '', '../x', undefined]) {
      const err = await list(page([envelope(1), envelope(2, { envelopeId })])).then(
        () => assert.fail(`envelopeId ${String(envelopeId)} must fail the page`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectorError);
      assert.equal(err.code, 'invalid_response');
      assert.match(err.message, /field envelopes\.1\.envelopeId/);
    }
  });
});

describe('nextPageUrl: the counts decide, nextUri is followed when present', () => {
  const rest = 'https://na3.docusign.net/restapi';
  const url = `${rest}/v2.1/accounts/a/envelopes?from_date=2024-01-01T00%3A00%3A00Z&count=100&start_position=100`;
  test('counts say more remain, no nextUri: the same query from endPosition + 1', () => {
    const next = nextPageUrl(url, { endPosition: 199, totalSetSize: 250 }, rest);
    assert.ok(next);
    const u = new URL(next);
    assert.equal(u.searchParams.get('start_position'), '200');
    assert.equal(u.searchParams.get('count'), '100');
    assert.equal(u.searchParams.get('from_date'), '2024-01-01T00:00:00Z');
    assert.equal(nextPageUrl(url, { endPosition: 199, totalSetSize: 250, nextUri: '' }, rest), next);
  });
  test('nextUri present: followed (relative, without /restapi/v2.1)', () => {
    const nextUri = '/accounts/a/envelopes?start_position=200&count=100';
    assert.equal(nextPageUrl(url, { endPosition: 199, totalSetSize: 250, nextUri }, rest), `${rest}/v2.1${nextUri}`);
  });
  test('counts say done: no next page, whatever nextUri says', () => {
    assert.equal(nextPageUrl(url, { endPosition: 249, totalSetSize: 250 }, rest), undefined);
    assert.equal(nextPageUrl(url, { endPosition: 249, totalSetSize: 250, nextUri: '/accounts/a/x' }, rest), undefined);
  });
  test('no counts: nextUri alone decides', () => {
    assert.equal(nextPageUrl(url, { nextUri: null }, rest), undefined);
    assert.equal(
      nextPageUrl(url, { nextUri: '/accounts/a/x?start_position=5' }, rest),
      `${rest}/v2.1/accounts/a/x?start_position=5`,
    );
  });
  test('counts that do not advance are refused instead of fetching the same page forever', () => {
    assert.throws(() => nextPageUrl(url, { endPosition: 99, totalSetSize: 250 }, rest), /does not advance/);
  });
});
