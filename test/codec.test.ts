/**
 * common/codec.ts (AES-256-GCM payload codec, key rotation, failure converter) and client/codec-server.ts (the
 * Temporal codec server protocol over real HTTP, CORS, bearer auth). With TEST_TEMPORAL_ADDRESS (npm test) a real
 * worker + client also prove that the raw history holds no plaintext, error messages included.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { encodeErrorToFailure } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { ConnectorClient } from '../client/client';
import { startCodecServer, type CodecServer } from '../client/codec-server';
import {
  AesGcmPayloadCodec,
  codecFromKeys,
  dataConverterFor,
  ENCRYPTED_ENCODING,
  FAILURE_CONVERTER_PATH,
  KEY_ID_METADATA_KEY,
  parseCodecKeys,
  PayloadCodecError,
} from '../common/codec';

const keyB64 = () => randomBytes(32).toString('base64');
const OLD = keyB64();
const NEW = keyB64();
const str = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const json = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const SECRET = 'MIIEpAIBAAKCAQEA-very-secret-value';

void describe('AesGcmPayloadCodec', () => {
  void test('round trip: encrypted on the wire, identical after decode', async () => {
    const codec = codecFromKeys(`k1:${OLD}`);
    assert.ok(codec);
    const originals = [json({ secret: SECRET, n: 1 }), json('x'), defaultPayloadConverter.toPayload(undefined)];
    const encoded = await codec.encode(originals);
    assert.equal(encoded.length, 3);
    for (const e of encoded) {
      assert.equal(str(e.metadata?.encoding), ENCRYPTED_ENCODING);
      assert.equal(str(e.metadata?.[KEY_ID_METADATA_KEY]), 'k1');
      assert.ok(!Buffer.from(e.data ?? []).includes(SECRET), 'ciphertext must not contain the plaintext');
      assert.ok(!Buffer.from(e.data ?? []).includes('json/plain'), 'inner metadata is encrypted too');
    }
    const decoded = await codec.decode(encoded);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded[0]!), { secret: SECRET, n: 1 });
    assert.equal(defaultPayloadConverter.fromPayload(decoded[1]!), 'x');
    assert.equal(defaultPayloadConverter.fromPayload(decoded[2]!), undefined);
    assert.equal(str(decoded[0]!.metadata?.encoding), 'json/plain');
  });

  void test('a fresh IV per payload: the same value encrypts differently', async () => {
    const codec = codecFromKeys(`k1:${OLD}`)!;
    const [a, b] = await codec.encode([json('same'), json('same')]);
    assert.notDeepEqual(Buffer.from(a!.data!), Buffer.from(b!.data!));
  });

  void test('rotation: data encrypted with the old key decodes when the new key is first; new data uses the new key', async () => {
    const before = codecFromKeys(`old:${OLD}`)!;
    const [sealedWithOld] = await before.encode([json({ v: 'old' })]);
    const rotated = codecFromKeys(`new:${NEW},old:${OLD}`)!;
    assert.equal(rotated.encryptionKeyId, 'new');
    const [opened] = await rotated.decode([sealedWithOld!]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(opened!), { v: 'old' });
    const [sealedWithNew] = await rotated.encode([json({ v: 'new' })]);
    assert.equal(str(sealedWithNew!.metadata?.[KEY_ID_METADATA_KEY]), 'new');
    await assert.rejects(before.decode([sealedWithNew!]), /unknown key id 'new'/);
  });

  void test('tampered ciphertext fails; so does a payload relabelled with another known key id', async () => {
    const codec = codecFromKeys(`a:${OLD},b:${NEW}`)!;
    const [sealed] = await codec.encode([json({ amount: 100 })]);
    const flipped = Buffer.from(sealed!.data!);
    flipped[20] = flipped[20]! ^ 0x01;
    await assert.rejects(codec.decode([{ ...sealed!, data: flipped }]), (err: Error) => {
      assert.ok(err instanceof PayloadCodecError);
      assert.match(err.message, /decryption failed with key id 'a'/);
      return true;
    });
    const truncated = Buffer.from(sealed!.data!).subarray(0, 20);
    await assert.rejects(codec.decode([{ ...sealed!, data: truncated }]), PayloadCodecError);
    const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, [KEY_ID_METADATA_KEY]: Buffer.from('b') } };
    await assert.rejects(codec.decode([relabelled]), /decryption failed with key id 'b'/);
  });

  void test('unknown key id: a clear error naming the key id, never a key', async () => {
    const writer = codecFromKeys(`retired-2024:${OLD}`)!;
    const [sealed] = await writer.encode([json(1)]);
    const reader = codecFromKeys(`current:${NEW}`)!;
    await assert.rejects(reader.decode([sealed!]), (err: Error) => {
      assert.match(err.message, /unknown key id 'retired-2024'/);
      assert.match(err.message, /PAYLOAD_CODEC_KEYS/);
      assert.ok(!err.message.includes(OLD) && !err.message.includes(NEW), 'no key material in the message');
      return true;
    });
  });

  void test('payloads that were never encrypted pass through decode unchanged', async () => {
    const codec = codecFromKeys(`k:${OLD}`)!;
    const plain = json({ legacy: true });
    const [out] = await codec.decode([plain]);
    assert.equal(out, plain);
  });

  void test('parseCodecKeys: rules per entry, no key material in messages', () => {
    assert.deepEqual(
      parseCodecKeys(` a:${OLD} , b:${NEW}`).map((k) => k.id),
      ['a', 'b'],
    );
    const short = randomBytes(16).toString('base64');
    const cases: [string, RegExp][] = [
      ['', /at least one/],
      [`nocolon${OLD}`, /entry 1 must be keyId:base64key/],
      [`k:${short}`, /entry 1 \(key id 'k'\): key must decode to 32 bytes, got 16/],
      [`k:${OLD},k:${NEW}`, /entry 2: key id 'k' is listed twice/],
      [`k:not base64!`, /key is not base64/],
      [`bad id:${OLD}`, /entry 1: key id must be/],
    ];
    for (const [spec, expected] of cases) {
      assert.throws(
        () => parseCodecKeys(spec),
        (err: Error) => {
          assert.match(err.message, expected);
          for (const secret of [OLD, NEW, short]) assert.ok(!err.message.includes(secret), `leaked key for ${spec}`);
          return true;
        },
      );
    }
    assert.equal(codecFromKeys(undefined), undefined);
    assert.equal(codecFromKeys('  '), undefined);
    assert.throws(() => new AesGcmPayloadCodec([]), PayloadCodecError);
  });
});

void describe('dataConverterFor and the failure converter', () => {
  void test('undefined without a codec; with one: the codec and the encrypting failure converter', () => {
    assert.equal(dataConverterFor(undefined), undefined);
    const codec = codecFromKeys(`k:${OLD}`)!;
    const dc = dataConverterFor(codec);
    assert.deepEqual(dc?.payloadCodecs, [codec]);
    assert.equal(dc?.failureConverterPath, FAILURE_CONVERTER_PATH);
  });

  void test('error messages and stack traces end up encrypted', async () => {
    const codec = codecFromKeys(`k:${OLD}`)!;
    const loaded = loadDataConverter(dataConverterFor(codec));
    const failure = await encodeErrorToFailure(loaded, new Error(`cannot parse key ${SECRET}`));
    assert.equal(failure.message, 'Encoded failure');
    assert.equal(failure.stackTrace, '');
    const attrs = failure.encodedAttributes;
    assert.ok(attrs);
    assert.equal(str(attrs.metadata?.encoding), ENCRYPTED_ENCODING);
    const wire = Buffer.from(temporal.api.failure.v1.Failure.encode(failure).finish());
    assert.ok(!wire.includes(SECRET), 'the failure proto must not contain the message in clear');
  });
});

void describe('codec server', () => {
  const UI = 'http://localhost:8233';
  const codec = codecFromKeys(`k1:${OLD}`)!;
  const servers: CodecServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  const start = async (bearerToken?: string) => {
    const s = await startCodecServer({ port: 0, codec, allowedOrigin: UI, bearerToken });
    servers.push(s);
    return s;
  };
  const wire = (payloads: Payload[]) => ({
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(p.data ?? []).toString('base64'),
    })),
  });
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: UI, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  void test('POST /decode and /encode speak the protocol (base64 metadata and data)', async () => {
    const server = await start();
    const sealed = await codec.encode([json({ secret: SECRET })]);
    const res = await post(`${server.url}/decode`, wire(sealed));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(res.headers.get('access-control-allow-origin'), UI);
    const body = (await res.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(body.payloads.length, 1);
    assert.equal(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString(), 'json/plain');
    assert.deepEqual(JSON.parse(Buffer.from(body.payloads[0]!.data, 'base64').toString()), { secret: SECRET });

    const enc = await post(`${server.url}/default/encode`, wire([json('from the UI')]));
    assert.equal(enc.status, 200);
    const encBody = (await enc.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    const back: Payload[] = encBody.payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      data: Buffer.from(p.data, 'base64'),
    }));
    assert.equal(str(back[0]!.metadata?.encoding), ENCRYPTED_ENCODING);
    assert.equal(defaultPayloadConverter.fromPayload((await codec.decode(back))[0]!), 'from the UI');
  });

  void test('CORS preflight: allowed origin gets the allow headers; another origin gets none', async () => {
    const server = await start('t0ken');
    const ok = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: UI,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-namespace, content-type, authorization',
      },
    });
    assert.equal(ok.status, 204, 'preflight needs no auth');
    assert.equal(ok.headers.get('access-control-allow-origin'), UI);
    const allowHeaders = (ok.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['x-namespace', 'content-type', 'authorization']) assert.ok(allowHeaders.includes(h), h);
    assert.match(ok.headers.get('access-control-allow-methods') ?? '', /POST/);

    const evil = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    assert.equal(evil.headers.get('access-control-allow-headers'), null);

    const evilPost = await post(`${server.url}/decode`, wire([]), {
      origin: 'https://evil.example',
      authorization: 'Bearer t0ken',
    });
    assert.equal(evilPost.headers.get('access-control-allow-origin'), null, 'a browser would hide the response');
  });

  void test('bearer auth: 401 without or with a wrong token, 200 with the right one', async () => {
    const server = await start('s3cret-token');
    const sealed = wire(await codec.encode([json(1)]));
    const none = await post(`${server.url}/decode`, sealed);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('access-control-allow-origin'), UI, 'the UI can see the 401');
    assert.equal((await post(`${server.url}/decode`, sealed, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await post(`${server.url}/decode`, sealed, { authorization: 's3cret-token' })).status, 401);
    assert.equal((await post(`${server.url}/decode`, sealed, { authorization: 'Bearer s3cret-token' })).status, 200);
  });

  void test('bad requests: 400 with a reason, 404, 405; an unknown key id is named', async () => {
    const server = await start();
    const badJson = await post(`${server.url}/decode`, '{not json');
    assert.equal(badJson.status, 400);
    assert.equal((await post(`${server.url}/decode`, { nope: 1 })).status, 400);
    assert.equal((await post(`${server.url}/decode`, { payloads: [{ data: '***' }] })).status, 400);
    assert.equal((await fetch(`${server.url}/decode`)).status, 405);
    assert.equal((await post(`${server.url}/metrics`, {})).status, 404);

    const other = codecFromKeys(`elsewhere:${NEW}`)!;
    const res = await post(`${server.url}/decode`, wire(await other.encode([json(1)])));
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: string };
    assert.match(body.error, /unknown key id 'elsewhere'/);
    assert.ok(!body.error.includes(NEW) && !body.error.includes(OLD));
  });
});

const address = process.env.TEST_TEMPORAL_ADDRESS;

void test(
  'a real worker and client: raw history holds only ciphertext, failure messages included',
  { skip: address ? false : 'needs TEST_TEMPORAL_ADDRESS (run through npm test)', timeout: 120_000 },
  async () => {
    const { DefaultLogger, NativeConnection, Runtime, Worker } = await import('@temporalio/worker');
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const dir = mkdtempSync(path.join(tmpdir(), 'codec-e2e-'));
    // The throwaway workflows file resolves @temporalio/* through this link to the project's node_modules.
    symlinkSync(path.resolve(__dirname, '..', 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const workflowsPath = path.join(dir, 'workflows.ts');
    writeFileSync(
      workflowsPath,
      `import { ApplicationFailure } from '@temporalio/workflow';
export async function echo(input: { secret: string }): Promise<string> { return 'echo:' + input.secret; }
export async function fail(input: { secret: string }): Promise<void> {
  throw ApplicationFailure.nonRetryable('cannot use ' + input.secret, 'test_failure');
}
`,
    );
    const dataConverter = dataConverterFor(codecFromKeys(`k1:${OLD}`));
    const taskQueue = `codec-e2e-${Date.now()}`;
    const nativeConnection = await NativeConnection.connect({ address });
    const connection = await Connection.connect({ address });
    try {
      const worker = await Worker.create({
        connection: nativeConnection,
        taskQueue,
        workflowsPath,
        dataConverter,
      });
      const client = new Client({ connection, dataConverter });
      const ids = { ok: `${taskQueue}-ok`, fail: `${taskQueue}-fail` };
      await worker.runUntil(async () => {
        const result: unknown = await client.workflow.execute('echo', {
          args: [{ secret: SECRET }],
          taskQueue,
          workflowId: ids.ok,
        });
        assert.equal(result, `echo:${SECRET}`);
        await assert.rejects(
          client.workflow.execute('fail', { args: [{ secret: SECRET }], taskQueue, workflowId: ids.fail }),
          (err: Error) => {
            assert.ok(err instanceof WorkflowFailedError);
            assert.match(
              String(err.cause?.message),
              /cannot use MIIEpAIBAAKCAQEA/,
              'decoded for codec-holding clients',
            );
            return true;
          },
        );
      });
      const plain = new Client({ connection });
      for (const id of Object.values(ids)) {
        const history = await plain.workflow.getHandle(id).fetchHistory();
        const raw = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
        assert.ok(!raw.includes(SECRET), `history of ${id} contains the secret in clear`);
        assert.ok(raw.includes(ENCRYPTED_ENCODING));
      }
    } finally {
      await connection.close();
      await nativeConnection.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

void test(
  'connecting again without the codec keys: the config comparison failure is reported, not swallowed',
  { skip: address ? false : 'needs TEST_TEMPORAL_ADDRESS (run through npm test)', timeout: 60_000 },
  async () => {
    const taskQueue = `codec-compare-${Date.now()}`; // no worker: connect only starts (or finds) the workflow
    const config = {
      connectionId: `codec-compare-${Date.now()}`,
      environment: 'demo' as const,
      integrationKey: '11111111-2222-3333-4444-555555555555',
      userId: '66666666-7777-8888-9999-000000000000',
      privateKeyRef: 'file:/keys/acme.pem',
    };
    const encrypting = await ConnectorClient.create({
      address,
      taskQueue,
      dataConverter: dataConverterFor(codecFromKeys(`k1:${OLD}`)),
    });
    const plain = await ConnectorClient.create({ address, taskQueue });
    try {
      assert.equal((await encrypting.connect(config)).created, true);
      const again = await encrypting.connect(config);
      assert.deepEqual([again.created, again.comparisonError, again.differingFields], [false, undefined, []]);
      const blind = await plain.connect({ ...config, privateKeyRef: 'file:/keys/other.pem' });
      assert.equal(blind.created, false);
      assert.match(blind.comparisonError ?? '', /encoding|encrypted/i, 'the client says it could not compare');
      assert.deepEqual(blind.differingFields, []);
    } finally {
      await encrypting.handle(config.connectionId).terminate();
      await encrypting.close();
      await plain.close();
    }
  },
);
