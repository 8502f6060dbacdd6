/**
 * Connect events from the DocuSign emulator (issue 16): a node:http receiver stands in for the listener, and the
 * signatures are checked here with node:crypto from docusign-api.md §5, not with the emulator's code.
 *
 *   node --import tsx --test test/emulator-connect.test.ts
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { type ConnectFailure, type Emulator, type EnvelopeLike, startEmulator } from '../emulator/index';

const USER = '7d0c1e2f-3a4b-4c5d-9e6f-000000000020';
const KEY_1 = 'connect-key-one';
const KEY_2 = 'c0nnect kéy two';
const SIM_KEYS = ['event', 'uri', 'retryCount', 'configurationId', 'apiVersion', 'generatedDateTime', 'data'];
const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

type Rec = Record<string, unknown>;

interface Received {
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: Rec & { event: string; retryCount: number; data: Rec & { envelopeId: string } };
}

/** What the receiver does with request n (0-based): answer a status, or never answer. */
type Answer = (n: number) => number | 'hang' | Promise<number>;

interface Receiver {
  url: string;
  got: Received[];
  /** Resolves when the receiver has seen n requests. */
  seen(n: number): Promise<void>;
  close(): Promise<void>;
}

const receivers: Receiver[] = [];

async function receiver(answer: Answer = () => 200): Promise<Receiver> {
  const got: Received[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      got.push({ headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')) as Received['body'] });
      for (const w of waiters.filter((x) => got.length >= x.n)) w.resolve();
      const a = answer(got.length - 1);
      if (a === 'hang') return;
      void Promise.resolve(a).then((status) => res.writeHead(status).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const r: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/connect`,
    got,
    seen: (n) =>
      new Promise((resolve) => {
        if (got.length >= n) resolve();
        else waiters.push({ n, resolve });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  receivers.push(r);
  return r;
}

/** A URL nothing listens on: a server's port, closed. */
async function deadUrl(): Promise<string> {
  const r = await receiver();
  await r.close();
  return r.url;
}

function hmac(key: string, raw: Buffer): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(raw).digest('base64');
}

function signatures(r: Received): string[] {
  const out: string[] = [];
  for (let i = 1; r.headers[`x-docusign-signature-${i}`] !== undefined; i++) {
    out.push(r.headers[`x-docusign-signature-${i}`] as string);
  }
  return out;
}

let emu: Emulator;
let accountId: string;

async function admin(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${emu.url}/__admin/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

beforeEach(async () => {
  emu = await startEmulator({ seed: 16, envelopes: 20 });
  emu.addUser({ userId: USER });
  accountId = emu.accountsOf(USER).find((a) => a.isDefault)!.accountId;
});

afterEach(async () => {
  await emu.stop();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

void describe('emulator Connect events', () => {
  void test('one JSON SIM event per envelope change, in order, signed with each HMAC key', async () => {
    const r = await receiver();
    const configurationId = emu.setConnect({ url: r.url, hmacKeys: [KEY_1, KEY_2] });
    const before = emu.now();

    const sent = emu.addEnvelope(accountId, { status: 'sent' });
    // Every open envelope moves one step, this one to delivered: its first event must still show it sent.
    const open = emu.envelopes(accountId).filter((e) => ['created', 'sent', 'delivered'].includes(e.status));
    const mutated = emu.mutate(accountId, open.length);
    assert.ok(mutated.includes(sent.envelopeId));
    const afterMutate = new Map(emu.envelopes(accountId).map((e) => [e.envelopeId, e]));
    emu.addEnvelope(accountId, { status: 'created' }); // a draft: no event
    const voided = emu.addEnvelope(accountId, { status: 'voided' });
    await emu.connectSettled();

    const expected: EnvelopeLike[] = [sent, ...mutated.map((id) => afterMutate.get(id)!), voided];
    assert.deepEqual(
      r.got.map((g) => [g.body.event, g.body.data.envelopeId]),
      expected.map((e) => [`envelope-${e.status}`, e.envelopeId]),
    );
    for (const [i, g] of r.got.entries()) {
      const e = expected[i]!;
      assert.deepEqual(Object.keys(g.body), SIM_KEYS);
      assert.equal(g.body.uri, `/restapi/v2.1/accounts/${accountId}/envelopes/${e.envelopeId}`);
      assert.equal(g.body.retryCount, 0);
      assert.equal(g.body.configurationId, configurationId);
      assert.equal(g.body.apiVersion, 'v2.1');
      assert.match(g.body.generatedDateTime as string, ISO_Z);
      const generated = Date.parse(g.body.generatedDateTime as string);
      assert.ok(generated >= before - 1 && generated <= emu.now(), 'generatedDateTime is the emulator clock');
      assert.deepEqual(g.body.data, {
        accountId,
        userId: (e.sender as { userId: string }).userId,
        envelopeId: e.envelopeId,
        envelopeSummary: e, // the envelope as listed (with recipients) when it changed
      });
      assert.ok(e.recipients, 'the summary carries the recipients');
      assert.match(g.headers['content-type'] ?? '', /^application\/json/);
      assert.deepEqual(signatures(g), [hmac(KEY_1, g.raw), hmac(KEY_2, g.raw)]);
    }
    assert.notEqual(signatures(r.got[0]!)[0], signatures(r.got[1]!)[0]);
    assert.deepEqual(emu.stats.connect, { sent: expected.length, delivered: expected.length, retried: 0, failed: 0 });
    assert.deepEqual(emu.connectFailures(), []);
  });

  void test('includeData false omits envelopeSummary; no keys, no signature headers; events filters', async () => {
    const r = await receiver();
    emu.setConnect({ url: r.url, hmacKeys: [], includeData: false, events: ['envelope-completed'] });
    emu.addEnvelope(accountId, { status: 'sent' });
    const done = emu.addEnvelope(accountId, { status: 'completed' });
    emu.addEnvelope(accountId, { status: 'declined' });
    await emu.connectSettled();

    assert.equal(r.got.length, 1);
    const g = r.got[0]!;
    assert.equal(g.body.event, 'envelope-completed');
    assert.deepEqual(g.body.data, {
      accountId,
      userId: (done.sender as { userId: string }).userId,
      envelopeId: done.envelopeId,
    });
    assert.deepEqual(signatures(g), []);
    assert.equal(emu.stats.connect.sent, 1);

    assert.throws(() => emu.setConnect({ url: 'ftp://127.0.0.1/connect', hmacKeys: [] }), /http/);
    assert.throws(() => emu.setConnect({ url: r.url, hmacKeys: [], retry: { attempts: 0 } }), /attempts/);
  });

  void test('500, 500, then 200: retryCount 0, 1, 2, each signed anew; the next event waits its turn', async () => {
    const r = await receiver((n) => (n < 2 ? 500 : 200));
    emu.setConnect({ url: r.url, hmacKeys: [KEY_1, KEY_2], retry: { attempts: 3, delaysMs: [30, 60] } });
    const first = emu.addEnvelope(accountId, { status: 'completed' });
    const second = emu.addEnvelope(accountId, { status: 'sent' });
    await emu.connectSettled();

    assert.deepEqual(
      r.got.map((g) => [g.body.data.envelopeId, g.body.retryCount]),
      [
        [first.envelopeId, 0],
        [first.envelopeId, 1],
        [first.envelopeId, 2],
        [second.envelopeId, 0],
      ],
    );
    const attempts = r.got.slice(0, 3);
    for (const g of attempts) assert.deepEqual(signatures(g), [hmac(KEY_1, g.raw), hmac(KEY_2, g.raw)]);
    assert.equal(new Set(attempts.map((g) => signatures(g)[0])).size, 3);
    assert.equal(new Set(attempts.map((g) => signatures(g)[1])).size, 3);
    // Only retryCount differs between the attempts.
    const rest = attempts.map(({ body: { retryCount: _, ...b } }) => b);
    assert.deepEqual(rest[1], rest[0]);
    assert.deepEqual(rest[2], rest[0]);
    assert.deepEqual(emu.stats.connect, { sent: 2, delivered: 2, retried: 2, failed: 0 });
    assert.deepEqual(emu.connectFailures(), []);
  });

  void test('a listener that is down: failed after the attempts and listed in the failures', async () => {
    const url = await deadUrl();
    const configurationId = emu.setConnect({ url, hmacKeys: [KEY_1], retry: { attempts: 2, delaysMs: [20] } });
    const e = emu.addEnvelope(accountId, { status: 'declined' });
    await emu.connectSettled();

    assert.deepEqual(emu.stats.connect, { sent: 1, delivered: 0, retried: 1, failed: 1 });
    const failures = emu.connectFailures();
    assert.equal(failures.length, 1);
    const f: ConnectFailure = failures[0]!;
    assert.deepEqual(
      { ...f, failureId: undefined, created: undefined, lastTry: undefined },
      {
        failureId: undefined,
        configurationId,
        configUrl: url,
        accountId,
        envelopeId: e.envelopeId,
        event: 'envelope-declined',
        error: 'ECONNREFUSED',
        retryCount: 1,
        created: undefined,
        lastTry: undefined,
      },
    );
    assert.match(f.created, ISO_Z);
    assert.ok(Date.parse(f.lastTry) >= Date.parse(f.created));
  });

  void test(
    'a listener that never answers times out: retried, then failed as timeout',
    { timeout: 10_000 },
    async () => {
      const r = await receiver(() => 'hang');
      emu.setConnect({ url: r.url, hmacKeys: [KEY_1], retry: { attempts: 2, delaysMs: [0] }, timeoutMs: 150 });
      emu.addEnvelope(accountId, { status: 'completed' });
      await emu.connectSettled();

      assert.deepEqual(
        r.got.map((g) => g.body.retryCount),
        [0, 1],
      );
      assert.deepEqual(
        emu.connectFailures().map((f) => [f.error, f.retryCount]),
        [['timeout', 1]],
      );
      assert.deepEqual(emu.stats.connect, { sent: 1, delivered: 0, retried: 1, failed: 1 });
    },
  );

  void test('seeding sends nothing; clearConnect turns Connect off', async () => {
    const r = await receiver();
    emu.setConnect({ url: r.url, hmacKeys: [KEY_1] });
    emu.seedEnvelopes(accountId, 30, { seed: 3 });
    emu.addUser({ userId: '7d0c1e2f-3a4b-4c5d-9e6f-000000000021' }); // new accounts, seeded with envelopes
    await emu.connectSettled();
    assert.equal(r.got.length, 0);
    assert.equal(emu.stats.connect.sent, 0);

    const [moved] = emu.mutate(accountId, 1); // Connect is on: this change is sent
    await emu.connectSettled();
    assert.deepEqual(
      r.got.map((g) => g.body.data.envelopeId),
      [moved],
    );

    emu.clearConnect();
    emu.mutate(accountId, 2);
    emu.addEnvelope(accountId);
    await emu.connectSettled();
    assert.equal(r.got.length, 1);
    assert.equal(emu.stats.connect.sent, 1);
  });

  void test(
    'over /__admin: configure, changes, a slow listener that blocks no admin call, settle, stats, clear',
    {
      timeout: 20_000,
    },
    async () => {
      let release!: () => void;
      const held = new Promise<number>((resolve) => (release = () => resolve(200)));
      const r = await receiver((n) => (n === 0 ? held : 200));

      const bad = await admin('POST', 'connect', { url: r.url, hmacKeys: [KEY_1], events: ['envelope-created'] });
      assert.equal(bad.status, 400);
      assert.match((bad.body as { error: string }).error, /events/);
      assert.equal((await admin('POST', 'connect', { url: 'ftp://127.0.0.1/x', hmacKeys: [] })).status, 400);

      const configured = await admin('POST', 'connect', { url: r.url, hmacKeys: [KEY_1, KEY_2] });
      assert.equal(configured.status, 200);
      const { configurationId } = configured.body as { configurationId: number };
      assert.equal(typeof configurationId, 'number');

      const added = await admin('POST', 'envelopes/add', { accountId, status: 'completed' });
      await r.seen(1);
      // The listener holds the first event; admin calls still answer, and the next event waits behind it.
      const mutated = await admin('POST', 'envelopes/mutate', { accountId, k: 2 });
      assert.equal(mutated.status, 200);
      assert.equal(r.got.length, 1);
      assert.equal((await admin('GET', 'stats')).status, 200);
      release();
      assert.deepEqual((await admin('POST', 'connect/settled')).body, { ok: true });

      const ids = [(added.body as EnvelopeLike).envelopeId, ...(mutated.body as { envelopeIds: string[] }).envelopeIds];
      assert.deepEqual(
        r.got.map((g) => g.body.data.envelopeId),
        ids,
      );
      for (const g of r.got) {
        assert.equal(g.body.configurationId, configurationId);
        assert.deepEqual(signatures(g), [hmac(KEY_1, g.raw), hmac(KEY_2, g.raw)]);
      }
      const stats = (await admin('GET', 'stats')).body as { connect: Rec };
      assert.deepEqual(stats.connect, { sent: 3, delivered: 3, retried: 0, failed: 0 });
      assert.deepEqual((await admin('GET', 'connect/failures')).body, []);

      assert.equal((await admin('POST', 'connect/clear')).status, 200);
      await admin('POST', 'envelopes/add', { accountId });
      await admin('POST', 'connect/settled');
      assert.equal(r.got.length, 3);
    },
  );

  void test('over /__admin: a failure is listed by GET /__admin/connect/failures', async () => {
    const url = await deadUrl();
    await admin('POST', 'connect', { url, hmacKeys: [], retry: { attempts: 1 } });
    const added = (await admin('POST', 'envelopes/add', { accountId, status: 'voided' })).body as EnvelopeLike;
    await admin('POST', 'connect/settled');
    const failures = (await admin('GET', 'connect/failures')).body as ConnectFailure[];
    assert.deepEqual(
      failures.map((f) => [f.envelopeId, f.event, f.retryCount]),
      [[added.envelopeId, 'envelope-voided', 0]],
    );
    assert.equal(emu.stats.connect.failed, 1);
  });
});
