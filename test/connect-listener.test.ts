/**
 * The DocuSign Connect listener over real HTTP, with a fake account resolver and a recording `deliver` (no Temporal):
 * only signed, well-formed, fresh, first-seen messages of a connected account lead to a signal, one per debounce
 * window and connection; rejections are logged without the body, signatures or keys.
 *
 *   node --import tsx --test test/connect-listener.test.ts
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { after, describe, test } from 'node:test';
import { ConnectionClosedError } from '../client/errors';
import {
  connectionResolver,
  MAX_ENVELOPE_IDS,
  MAX_SIGNAL_ENVELOPE_BYTES,
  startConnectListener,
  type ConnectListener,
  type ConnectListenerOptions,
} from '../client/connect-listener';
import type { ConnectionStatus } from '../workflows/messages';
import type { ConnectionSummary } from '../client/visibility';
import { createLogger } from '../worker/logger';

const KEY = randomBytes(32).toString('base64');
const OTHER_KEY = randomBytes(32).toString('base64');
const WRONG_KEY = randomBytes(32).toString('base64');
const ACCOUNT = randomUUID();
const TWO_CONNECTIONS_ACCOUNT = randomUUID();
const UNKNOWN_ACCOUNT = randomUUID();
/** In every message body: must never reach a log line. */
const BODY_MARKER = `subject-${randomUUID()}`;

const sign = (body: string, key = KEY) => createHmac('sha256', key).update(body).digest('base64');

function message(fields: { event?: unknown; data?: Record<string, unknown>; [k: string]: unknown } = {}): string {
  const { data, ...rest } = fields;
  return JSON.stringify({
    event: 'envelope-completed',
    uri: `/restapi/v2.1/accounts/${ACCOUNT}/envelopes/x`,
    retryCount: 0,
    configurationId: 12345,
    apiVersion: 'v2.1',
    generatedDateTime: new Date().toISOString(),
    ...rest,
    data: {
      accountId: ACCOUNT,
      userId: randomUUID(),
      envelopeId: randomUUID(),
      envelopeSummary: { status: 'completed', emailSubject: BODY_MARKER },
      ...data,
    },
  });
}

interface Delivery {
  connectionId: string;
  events: number;
  envelopeIds: string[];
  lastEventAt: string;
  envelopes?: Record<string, unknown>[];
  at: number;
}

interface Harness {
  listener: ConnectListener;
  deliveries: Delivery[];
  logs: string[];
  /** Every signature header value sent through `post`. */
  signatures: string[];
  post(body: string, headers?: Record<string, string>): Promise<{ status: number; outcome?: string }>;
}

const open: ConnectListener[] = [];
after(async () => {
  for (const l of open) await l.close();
});

async function harness(options: Partial<ConnectListenerOptions> = {}): Promise<Harness> {
  const deliveries: Delivery[] = [];
  const logs: string[] = [];
  const signatures: string[] = [];
  const connections: Record<string, string[]> = {
    [ACCOUNT.toLowerCase()]: ['acme'],
    [TWO_CONNECTIONS_ACCOUNT.toLowerCase()]: ['beta-1', 'beta-2'],
  };
  const listener = await startConnectListener({
    port: 0,
    hmacKeys: [KEY],
    debounceMs: 100,
    resolveConnections: async (accountId) => connections[accountId] ?? [],
    deliver: async (connectionId, events) => void deliveries.push({ connectionId, ...events, at: Date.now() }),
    logger: createLogger({ level: 'info', destination: { write: (line: string) => void logs.push(line) } }),
    ...options,
  });
  open.push(listener);
  return {
    listener,
    deliveries,
    logs,
    signatures,
    post: async (body, headers = { 'X-DocuSign-Signature-1': sign(body) }) => {
      for (const [name, value] of Object.entries(headers)) if (/signature/i.test(name)) signatures.push(value);
      const res = await fetch(listener.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      const text = await res.text();
      return { status: res.status, outcome: (JSON.parse(text) as { outcome?: string }).outcome };
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** POSTs without Content-Length (chunked), as a sender that does not declare its size. */
function postChunked(url: string, chunks: string[], headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('connect listener', () => {
  test('accepted: 200 at once, then exactly one signal per connection after the window', async () => {
    const h = await harness({ debounceMs: 150 });
    const generated = new Date(Date.now() - 60_000).toISOString();
    const envelopeId = randomUUID();
    const res = await h.post(message({ generatedDateTime: generated, data: { envelopeId } }));
    assert.deepEqual(res, { status: 200, outcome: 'accepted' });
    assert.equal(h.deliveries.length, 0, 'acknowledged before signalling');
    await until('the signal', () => h.deliveries.length > 0);
    await sleep(300);
    assert.equal(h.deliveries.length, 1);
    const [d] = h.deliveries;
    assert.deepEqual(
      { connectionId: d?.connectionId, events: d?.events, envelopeIds: d?.envelopeIds, lastEventAt: d?.lastEventAt },
      { connectionId: 'acme', events: 1, envelopeIds: [envelopeId], lastEventAt: generated },
    );

    // An account two connections share: both are signalled. The account's case does not matter.
    const shared = await h.post(message({ data: { accountId: TWO_CONNECTIONS_ACCOUNT.toUpperCase() } }));
    assert.equal(shared.status, 200);
    await until('both signals', () => h.deliveries.length === 3);
    assert.deepEqual(
      h.deliveries
        .slice(1)
        .map((x) => x.connectionId)
        .sort(),
      ['beta-1', 'beta-2'],
    );
    assert.equal(h.listener.counts.events.accepted, 2);
    assert.equal(h.listener.counts.signals.delivered, 3);
  });

  test('one window: events counted, envelope IDs unique, lastEventAt the newest (else the receive time)', async () => {
    const h = await harness({ debounceMs: 300 });
    const [a, b] = [randomUUID(), randomUUID()];
    const older = new Date(Date.now() - 3_600_000).toISOString();
    const newer = new Date(Date.now() - 1_800_000).toISOString();
    await h.post(message({ generatedDateTime: newer, data: { envelopeId: a } }));
    await h.post(message({ generatedDateTime: older, data: { envelopeId: a } }));
    await h.post(message({ generatedDateTime: older, event: 'envelope-sent', data: { envelopeId: b } }));
    await until('the signal', () => h.deliveries.length > 0);
    assert.equal(h.deliveries.length, 1);
    assert.equal(h.deliveries[0]?.events, 3);
    assert.deepEqual(h.deliveries[0]?.envelopeIds, [a, b]);
    assert.equal(h.deliveries[0]?.lastEventAt, newer);

    const before = Date.now();
    await h.post(message({ generatedDateTime: undefined }));
    await until('the second signal', () => h.deliveries.length === 2);
    const at = Date.parse(h.deliveries[1]?.lastEventAt ?? '');
    assert.ok(at >= before - 1 && at <= Date.now(), `receive time, got ${h.deliveries[1]?.lastEventAt}`);
  });

  test('unsigned, forged, wrong key or altered body: 401 and nothing signalled', async () => {
    const h = await harness();
    const body = message();
    assert.deepEqual(await h.post(body, {}), { status: 401, outcome: 'unsigned' });
    assert.deepEqual(await h.post(body, { 'X-DocuSign-Signature-1': 'bm90IGEgc2lnbmF0dXJl' }), {
      status: 401,
      outcome: 'forged',
    });
    assert.deepEqual(await h.post(body, { 'X-DocuSign-Signature-1': sign(body, WRONG_KEY) }), {
      status: 401,
      outcome: 'forged',
    });
    const altered = body.replace('envelope-completed', 'envelope-voided');
    assert.deepEqual(await h.post(altered, { 'X-DocuSign-Signature-1': sign(body) }), {
      status: 401,
      outcome: 'forged',
    });
    // Some other header that looks alike does not count as a signature.
    assert.deepEqual(await h.post(body, { 'X-DocuSign-Signature': sign(body) }), { status: 401, outcome: 'unsigned' });
    await sleep(300);
    assert.equal(h.deliveries.length, 0);
    assert.deepEqual([h.listener.counts.events.unsigned, h.listener.counts.events.forged], [2, 3]);
  });

  test('key rotation: either configured key, and any of several signature headers', async () => {
    const h = await harness({ hmacKeys: [KEY, OTHER_KEY] });
    const first = message();
    const second = message();
    const third = message();
    assert.equal((await h.post(first, { 'X-DocuSign-Signature-1': sign(first, KEY) })).status, 200);
    assert.equal((await h.post(second, { 'X-DocuSign-Signature-1': sign(second, OTHER_KEY) })).status, 200);
    // DocuSign signs with each of its active keys: only -2 is one of ours.
    const headers = {
      'X-DocuSign-Signature-1': sign(third, WRONG_KEY),
      'X-DocuSign-Signature-2': sign(third, OTHER_KEY),
    };
    assert.equal((await h.post(third, headers)).status, 200);
    // Valid signatures of another body, and garbage: still forged.
    const fourth = message();
    const notFourth = {
      'X-DocuSign-Signature-1': sign(first, KEY),
      'X-DocuSign-Signature-2': '!!!',
      'X-DocuSign-Signature-3': '',
    };
    assert.deepEqual(await h.post(fourth, notFourth), { status: 401, outcome: 'forged' });
    // A listener with only the old key refuses what the new key alone signed.
    const old = await harness({ hmacKeys: [KEY] });
    assert.deepEqual(await old.post(second, { 'X-DocuSign-Signature-1': sign(second, OTHER_KEY) }), {
      status: 401,
      outcome: 'forged',
    });
    await until('the signal', () => h.deliveries.length > 0);
    assert.equal(h.deliveries[0]?.events, 3);
  });

  test('a body over maxBodyBytes: 413 (declared or chunked), nothing signalled; at the limit it is accepted', async () => {
    const limit = 2048;
    const h = await harness({ maxBodyBytes: limit });
    const pad = (n: number) => {
      const base = message({ padding: '' });
      return message({ padding: 'x'.repeat(n - Buffer.byteLength(base)) });
    };
    const big = pad(limit + 1);
    assert.equal(Buffer.byteLength(big), limit + 1);
    assert.deepEqual(await h.post(big), { status: 413, outcome: 'too_large' });
    const huge = pad(limit * 4);
    const status = await postChunked(h.listener.webhookUrl, [huge.slice(0, limit), huge.slice(limit)], {
      'X-DocuSign-Signature-1': sign(huge),
    });
    assert.equal(status, 413);
    await sleep(300);
    assert.equal(h.deliveries.length, 0);
    const exact = pad(limit);
    assert.equal(Buffer.byteLength(exact), limit);
    assert.deepEqual(await h.post(exact), { status: 200, outcome: 'accepted' });
    assert.equal(h.listener.counts.events.too_large, 2);
  });

  test('malformed: not JSON, or no event, data.accountId or data.envelopeId: 400', async () => {
    const h = await harness();
    const bodies = [
      'not json',
      '[1,2]',
      message({ event: undefined }),
      message({ event: 42 }),
      message({ data: { accountId: undefined } }),
      message({ data: { envelopeId: undefined } }),
      message({ data: { envelopeId: '../../etc' } }),
      JSON.stringify({ event: 'envelope-sent', generatedDateTime: new Date().toISOString() }),
    ];
    for (const body of bodies) assert.deepEqual(await h.post(body), { status: 400, outcome: 'malformed' }, body);
    await sleep(300);
    assert.equal(h.deliveries.length, 0);
    assert.equal(h.listener.counts.events.malformed, bodies.length);
  });

  test('replayed: the same bytes again are 409; a DocuSign retry (retryCount + 1) passes', async () => {
    const h = await harness();
    const envelopeId = randomUUID();
    const generatedDateTime = new Date().toISOString();
    const body = message({ generatedDateTime, data: { envelopeId } });
    assert.equal((await h.post(body)).status, 200);
    assert.deepEqual(await h.post(body), { status: 409, outcome: 'replayed' });
    const retry = body.replace('"retryCount":0', '"retryCount":1');
    assert.notEqual(retry, body);
    assert.equal((await h.post(retry)).status, 200);
    // The two accepted events, in one signal or (on a slow machine, across a 100 ms window) two; the 409 in none.
    const delivered = () => h.deliveries.reduce((sum, d) => sum + d.events, 0);
    await until('the signals', () => delivered() >= 2);
    await sleep(200);
    assert.equal(delivered(), 2);

    // Bounded memory: beyond replayCacheSize the oldest digests are forgotten.
    const small = await harness({ replayCacheSize: 2 });
    const [a, b, c] = [message(), message(), message()];
    for (const body of [a, b, c]) assert.equal((await small.post(body)).status, 200);
    assert.equal((await small.post(c)).status, 409);
    assert.equal((await small.post(a)).status, 200, 'forgotten');
  });

  test('stale: generatedDateTime older than the replay window is 409; just inside it passes', async () => {
    const h = await harness();
    const hours = (n: number) => new Date(Date.now() - n * 3_600_000).toISOString();
    assert.deepEqual(await h.post(message({ generatedDateTime: hours(49) })), { status: 409, outcome: 'stale' });
    assert.equal((await h.post(message({ generatedDateTime: hours(47) }))).status, 200);
    const short = await harness({ replayWindowMs: 60_000 });
    assert.deepEqual(await short.post(message({ generatedDateTime: hours(0.1) })), { status: 409, outcome: 'stale' });
    await until('the signal', () => h.deliveries.length > 0);
    assert.equal(h.deliveries[0]?.events, 1);
    assert.equal(short.deliveries.length, 0);
  });

  test('an account no connection has: 202 and nothing signalled', async () => {
    const h = await harness();
    const res = await h.post(message({ data: { accountId: UNKNOWN_ACCOUNT } }));
    assert.deepEqual(res, { status: 202, outcome: 'unknown_account' });
    await sleep(300);
    assert.equal(h.deliveries.length, 0);
    assert.equal(h.listener.counts.events.unknown_account, 1);
  });

  test('the lookup failing (Temporal down): 503, and the same bytes are taken once it works', async () => {
    let down = true;
    const h = await harness({
      resolveConnections: async () => {
        if (down) throw new Error('Temporal unreachable');
        return ['acme'];
      },
    });
    const body = message();
    assert.deepEqual(await h.post(body), { status: 503, outcome: 'unavailable' });
    down = false;
    assert.deepEqual(await h.post(body), { status: 200, outcome: 'accepted' });
    await until('the signal', () => h.deliveries.length === 1);
  });

  test('a burst of 500 events: a few signals whose events sum to 500', async () => {
    const debounceMs = 400;
    const h = await harness({ debounceMs });
    const bodies = Array.from({ length: 500 }, () => message());
    const started = Date.now();
    let next = 0;
    const sender = async () => {
      while (next < bodies.length) assert.equal((await h.post(bodies[next++]!)).status, 200);
    };
    await Promise.all(Array.from({ length: 20 }, sender));
    const elapsed = Date.now() - started;
    await until('every event signalled', () => h.deliveries.reduce((n, d) => n + d.events, 0) === 500, 10_000);
    await sleep(debounceMs + 100);
    assert.equal(
      h.deliveries.reduce((n, d) => n + d.events, 0),
      500,
    );
    // Fixed windows: one per debounceMs of sending at most.
    assert.ok(h.deliveries.length <= Math.ceil(elapsed / debounceMs) + 1, `${h.deliveries.length} in ${elapsed} ms`);
    for (const d of h.deliveries) {
      assert.equal(d.envelopeIds.length, Math.min(d.events, MAX_ENVELOPE_IDS));
      assert.equal(new Set(d.envelopeIds).size, d.envelopeIds.length);
    }
  });

  test(`one signal names at most ${MAX_ENVELOPE_IDS} envelopes, each once`, async () => {
    const h = await harness({ debounceMs: 60_000 });
    const ids = Array.from({ length: MAX_ENVELOPE_IDS + 50 }, () => randomUUID());
    for (const envelopeId of [...ids, ...ids.slice(0, 10)]) {
      assert.equal((await h.post(message({ data: { envelopeId } }))).status, 200);
    }
    open.splice(open.indexOf(h.listener), 1);
    await h.listener.close();
    assert.equal(h.deliveries.length, 1);
    assert.equal(h.deliveries[0]?.events, ids.length + 10);
    assert.deepEqual(h.deliveries[0]?.envelopeIds, ids.slice(0, MAX_ENVELOPE_IDS));
  });

  test('the envelopes the events carried travel with the signal, unless one came without or they are too big', async () => {
    const flushed = async (bodies: string[]) => {
      const h = await harness({ debounceMs: 60_000 });
      for (const body of bodies) assert.equal((await h.post(body)).status, 200);
      open.splice(open.indexOf(h.listener), 1);
      await h.listener.close();
      assert.equal(h.deliveries.length, 1);
      return h.deliveries[0]!;
    };
    const summary = { status: 'completed', statusChangedDateTime: '2026-12-01T10:00:00.0000000Z' };
    const ids = [randomUUID(), randomUUID()];
    const carried = await flushed(ids.map((envelopeId) => message({ data: { envelopeId, envelopeSummary: summary } })));
    assert.deepEqual(
      carried.envelopes,
      ids.map((envelopeId) => ({ ...summary, envelopeId })),
      'each envelopeSummary, with its envelopeId',
    );

    const oneWithout = await flushed([message(), message({ data: { envelopeSummary: undefined } }), message()]);
    assert.equal(oneWithout.events, 3);
    assert.equal(oneWithout.envelopes, undefined, 'one event without its envelope: the listing is read instead');

    const big = { ...summary, emailBlurb: 'x'.repeat(MAX_SIGNAL_ENVELOPE_BYTES / 2) };
    const tooBig = await flushed([1, 2, 3].map(() => message({ data: { envelopeSummary: big } })));
    assert.equal(tooBig.events, 3);
    assert.equal(tooBig.envelopes, undefined, `over ${MAX_SIGNAL_ENVELOPE_BYTES} bytes: the listing is read instead`);
  });

  test('the window is fixed: a steady trickle still gets a signal every debounceMs', async () => {
    const h = await harness({ debounceMs: 200 });
    let lastSentAt = 0;
    for (let i = 0; i < 14; i++) {
      assert.equal((await h.post(message())).status, 200);
      lastSentAt = Date.now();
      await sleep(50);
    }
    await until('all events', () => h.deliveries.reduce((n, d) => n + d.events, 0) === 14);
    assert.ok(h.deliveries.length >= 2, `${h.deliveries.length} signals`);
    assert.ok(h.deliveries[0]!.at < lastSentAt, 'the first signal went out while events were still arriving');
  });

  test('delivery failures are retried with backoff, then counted; a closed connection is not retried', async () => {
    const attempts = new Map<string, number>();
    const h = await harness({
      retryDelaysMs: [20, 40],
      resolveConnections: async (accountId) => [accountId === ACCOUNT.toLowerCase() ? 'flaky' : 'down'],
      deliver: async (connectionId) => {
        const n = (attempts.get(connectionId) ?? 0) + 1;
        attempts.set(connectionId, n);
        if (connectionId === 'down') throw new Error('Temporal unreachable');
        if (n < 3) throw new Error('transient');
      },
    });
    await h.post(message());
    await h.post(message({ data: { accountId: UNKNOWN_ACCOUNT } }));
    await until('both outcomes', () => h.listener.counts.signals.delivered + h.listener.counts.signals.failed === 2);
    assert.deepEqual(Object.fromEntries(attempts), { flaky: 3, down: 3 });
    assert.deepEqual(h.listener.counts.signals, { delivered: 1, failed: 1 });
    const failed = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'error');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.connectionId, 'down');
    assert.equal(failed[0]?.attempts, 3);

    const closed = await harness({
      retryDelaysMs: [20, 40],
      deliver: async (connectionId) => {
        attempts.set('closed', (attempts.get('closed') ?? 0) + 1);
        throw new ConnectionClosedError(connectionId, 'TERMINATED');
      },
    });
    await closed.post(message());
    await until('the failure', () => closed.listener.counts.signals.failed === 1);
    await sleep(100);
    assert.equal(attempts.get('closed'), 1);
  });

  test('close() signals the windows still open', async () => {
    const h = await harness({ debounceMs: 60_000 });
    await h.post(message());
    await h.post(message());
    assert.equal(h.deliveries.length, 0);
    open.splice(open.indexOf(h.listener), 1);
    await h.listener.close();
    assert.equal(h.deliveries.length, 1);
    assert.equal(h.deliveries[0]?.events, 2);
  });

  test('/healthz and /metrics count events and signals; other paths 404, other methods 405', async () => {
    const h = await harness({ debounceMs: 50 });
    await h.post(message());
    await h.post(message(), {});
    await h.post(message({ data: { accountId: UNKNOWN_ACCOUNT } }));
    await until('the signal', () => h.listener.counts.signals.delivered === 1);

    const health = await fetch(`${h.listener.url}/healthz`);
    assert.equal(health.status, 200);
    const counts = (await health.json()) as { ok: boolean; events: Record<string, number>; signals: object };
    assert.equal(counts.ok, true);
    assert.deepEqual(
      { accepted: counts.events.accepted, unsigned: counts.events.unsigned, unknown: counts.events.unknown_account },
      { accepted: 1, unsigned: 1, unknown: 1 },
    );
    assert.equal(counts.events.forged, 0);
    assert.deepEqual(counts.signals, { delivered: 1, failed: 0 });

    const metrics = await (await fetch(`${h.listener.url}/metrics`)).text();
    for (const line of [
      'docusign_connect_events_total{outcome="accepted"} 1',
      'docusign_connect_events_total{outcome="unsigned"} 1',
      'docusign_connect_events_total{outcome="unknown_account"} 1',
      'docusign_connect_signals_total{outcome="delivered"} 1',
    ]) {
      assert.ok(metrics.split('\n').includes(line), `${line} in\n${metrics}`);
    }

    assert.equal((await fetch(`${h.listener.url}/other`)).status, 404);
    assert.equal((await fetch(`${h.listener.url}/docusign/connect/x`, { method: 'POST' })).status, 404);
    const get = await fetch(h.listener.webhookUrl);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal((await fetch(`${h.listener.url}/healthz`, { method: 'POST' })).status, 405);
    const custom = await harness({ path: '/hooks/docusign' });
    assert.equal(custom.listener.webhookUrl, `${custom.listener.url}/hooks/docusign`);
    assert.equal((await custom.post(message())).status, 200);
  });

  test('logs: one line per rejection (reason, remote address, event); never a key, signature or the body', async () => {
    const h = await harness({ hmacKeys: [KEY, OTHER_KEY], maxBodyBytes: 4096 });
    const body = message({ event: 'envelope-voided' });
    await h.post(body, {}); // unsigned
    await h.post(body, { 'X-DocuSign-Signature-1': sign(body, WRONG_KEY) }); // forged
    await h.post(message({ event: 'envelope-sent', data: { envelopeId: undefined } })); // malformed
    await h.post(message({ generatedDateTime: new Date(0).toISOString() })); // stale
    await h.post(body, { 'X-DocuSign-Signature-1': sign(body, OTHER_KEY) }); // accepted
    await h.post(body, { 'X-DocuSign-Signature-2': sign(body, KEY) }); // replayed
    await h.post(message({ padding: 'x'.repeat(5000) })); // too large
    await until('the signal', () => h.deliveries.length === 1);

    const lines = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const rejected = lines.filter((l) => l.msg === 'connect event rejected');
    assert.deepEqual(
      rejected.map((l) => [l.reason, l.event]),
      [
        ['unsigned', undefined],
        ['forged', undefined],
        ['malformed', 'envelope-sent'],
        ['stale', 'envelope-completed'],
        ['replayed', 'envelope-voided'],
        ['too_large', undefined],
      ],
    );
    for (const l of rejected) assert.match(String(l.remote), /^(::ffff:)?127\.0\.0\.1$/);
    const text = h.logs.join('\n');
    assert.ok(h.signatures.length >= 5);
    for (const secret of [KEY, OTHER_KEY, WRONG_KEY, BODY_MARKER, ...h.signatures.filter(Boolean)]) {
      assert.ok(!text.includes(secret), `a log line holds ${secret}`);
    }
  });

  test('needs at least one key, none empty', async () => {
    for (const hmacKeys of [[], [KEY, '']]) {
      await assert.rejects(
        startConnectListener({ port: 0, hmacKeys, resolveConnections: async () => [], deliver: async () => {} }),
        /hmacKeys/,
      );
    }
  });
});

describe('connectionResolver (account → connections from list() and status())', () => {
  const summary = (connectionId: string, phase: ConnectionSummary['phase'] = 'idle'): ConnectionSummary => ({
    connectionId,
    environment: 'demo',
    phase,
  });

  function fakeClient(
    accounts: Record<string, string | undefined>,
    phases: Record<string, ConnectionSummary['phase']>,
  ) {
    const calls = { list: 0, status: [] as string[] };
    const state = { accounts, phases, listFails: false, statusFails: new Set<string>() };
    const client = {
      list: async () => {
        calls.list += 1;
        if (state.listFails) throw new Error('Temporal unreachable');
        return Object.entries(state.phases).map(([id, phase]) => summary(id, phase));
      },
      status: async (connectionId: string) => {
        calls.status.push(connectionId);
        if (state.statusFails.has(connectionId)) throw new Error('no worker');
        const accountId = state.accounts[connectionId];
        return {
          connectionId,
          ...(accountId ? { account: { accountId, baseUri: 'https://x' } } : {}),
        } as ConnectionStatus;
      },
    };
    return { client, calls, state };
  }

  test('maps accounts of the connections not disconnected; caches; a miss refreshes at most every 10 s', async () => {
    const A = randomUUID().toUpperCase();
    const B = randomUUID();
    const { client, calls, state } = fakeClient(
      { a1: A, a2: A, b: B, gone: B, pending: undefined },
      { a1: 'idle', a2: 'syncing', b: 'needs_attention', gone: 'disconnected', pending: 'awaiting_consent' },
    );
    let now = 1_000_000;
    const resolve = connectionResolver(client, { now: () => now });
    assert.deepEqual((await resolve(A.toLowerCase())).sort(), ['a1', 'a2']);
    assert.deepEqual(await resolve(B), ['b']);
    assert.equal(calls.list, 1);
    assert.ok(!calls.status.includes('gone'), 'disconnected connections are not queried');

    // A new connection for a new account: not seen until a miss may refresh (10 s after the last).
    const C = randomUUID();
    state.accounts.c = C;
    state.phases.c = 'idle';
    now += 5_000;
    assert.deepEqual(await resolve(C), []);
    assert.equal(calls.list, 1);
    now += 5_000;
    assert.deepEqual(await resolve(C), ['c']);
    assert.equal(calls.list, 2);

    // After the TTL a hit answers from the cache and rebuilds behind it; a status that fails keeps its account.
    state.statusFails.add('b');
    now += 60_000;
    assert.deepEqual(await resolve(B), ['b']);
    await until('the rebuild', () => calls.list === 3);
    await sleep(10);
    assert.deepEqual(await resolve(B), ['b'], 'kept from the previous map');
    state.statusFails.clear();

    // Temporal down: a miss is the caller's error (503) unless the map answers.
    state.listFails = true;
    now += 10_000;
    await assert.rejects(resolve(randomUUID()), /Temporal unreachable/);
    assert.deepEqual(await resolve(B), ['b']);
  });

  test('the first listing failing: an error until a listing succeeds (not before 10 s)', async () => {
    const A = randomUUID();
    const { client, calls, state } = fakeClient({ a: A }, { a: 'idle' });
    state.listFails = true;
    let now = 0;
    const resolve = connectionResolver(client, { now: () => now });
    await assert.rejects(resolve(A), /Temporal unreachable/);
    await assert.rejects(resolve(A), /not available yet/);
    assert.equal(calls.list, 1);
    state.listFails = false;
    now += 10_000;
    assert.deepEqual(await resolve(A), ['a']);
  });
});
