/** worker/logger.ts: redaction of secret keys, scrubSecrets (PEM, JWT, Bearer), the Temporal SDK Logger adapter. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { LogTimestamp } from '@temporalio/worker';
import { createLogger, scrubSecrets, toTemporalLogger, type LogLevel } from '../worker/logger';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PEM_BODY_LINE = PEM.split('\n')[1]!;
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const JWT = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url({ iss: 'ik', sub: 'user', aud: 'account-d.docusign.com' })}.c2lnbmF0dXJlLWJ5dGVz_-x`;
const TOKEN = 'eyJ0eXAiOiJNVCIsImFsZyI6IlJTMjU2In0.eyJUb2tlblR5cGUiOjV9.AbC-dEf_123';

function capture(level: LogLevel = 'trace') {
  const lines: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void lines.push(line) } });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, records };
}

void describe('scrubSecrets', () => {
  void test('a PEM block (whole, JSON-escaped or truncated) becomes [redacted]', () => {
    assert.equal(scrubSecrets(`key: ${PEM.trim()} end`), 'key: [redacted] end');
    const escaped = JSON.stringify({ message: `bad key ${PEM}` });
    const scrubbed = scrubSecrets(escaped);
    assert.ok(!scrubbed.includes(PEM_BODY_LINE));
    assert.deepEqual(JSON.parse(scrubbed), { message: 'bad key [redacted]\n' });
    const truncated = JSON.stringify({ m: PEM.slice(0, 120) });
    assert.deepEqual(JSON.parse(scrubSecrets(truncated)), { m: '[redacted]' });
  });

  void test('a JWT (three base64url segments) becomes [redacted]', () => {
    assert.equal(scrubSecrets(`assertion=${JWT}&grant_type=x`), 'assertion=[redacted]&grant_type=x');
    assert.equal(scrubSecrets(`token ${TOKEN}.`), 'token [redacted].');
  });

  void test('a Bearer credential becomes [redacted]', () => {
    assert.equal(scrubSecrets('Authorization: Bearer abc123.def-456_ghi/jkl=='), 'Authorization: [redacted]');
    assert.equal(scrubSecrets('authorization: bearer opaque-token-value'), 'authorization: [redacted]');
  });

  void test('ordinary text is left alone', () => {
    const text =
      'GET https://demo.docusign.net/restapi/v2.1/accounts/0c5ab1a2-1111-2222-3333-444455556666/envelopes ' +
      'aud=account-d.docusign.com v1.2.3 a.b.c Bearer';
    assert.equal(scrubSecrets(text), text);
  });
});

void describe('createLogger', () => {
  void test('secret-ish keys are redacted at any of the documented places', () => {
    const { logger, records } = capture();
    logger.info(
      {
        config: { privateKey: PEM, accessToken: 'tok-1' },
        token: { access_token: 'tok-2', expires_in: 3600 },
        jwt: { assertion: 'assertion-3' },
        authorization: 'basic-4',
        headers: { authorization: 'hdr-5', accept: 'application/json' },
        request: { headers: { authorization: 'hdr-6' } },
      },
      'minted',
    );
    const [record] = records();
    const text = JSON.stringify(record);
    for (const secret of [PEM_BODY_LINE, 'tok-1', 'tok-2', 'assertion-3', 'basic-4', 'hdr-5', 'hdr-6']) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.equal((record!.config as Record<string, unknown>).privateKey, '[redacted]');
    assert.equal((record!.headers as Record<string, unknown>).authorization, '[redacted]');
    assert.equal((record!.headers as Record<string, unknown>).accept, 'application/json', 'other fields stay');
    assert.equal((record!.token as Record<string, unknown>).expires_in, 3600);
    assert.equal(record!.msg, 'minted');
    assert.equal(record!.level, 'info');
  });

  void test('secrets inside messages and error stacks are scrubbed, and every line stays valid JSON', () => {
    const { logger, lines, records } = capture();
    logger.error({ err: new Error(`cannot parse ${PEM}`) }, `token request failed: Bearer ${TOKEN} for ${JWT}`);
    assert.equal(lines.length, 1);
    const [record] = records();
    const text = lines[0]!;
    for (const secret of [PEM_BODY_LINE, TOKEN, JWT]) assert.ok(!text.includes(secret), `leaked ${secret}`);
    assert.equal(record!.msg, 'token request failed: [redacted] for [redacted]');
    assert.match(String((record!.err as Record<string, unknown>).message), /^cannot parse \[redacted\]/);
  });

  void test('the level is honoured', () => {
    const { logger, records } = capture('warn');
    logger.info('hidden');
    logger.warn('shown');
    assert.deepEqual(
      records().map((r) => r.msg),
      ['shown'],
    );
  });
});

void describe('toTemporalLogger', () => {
  void test('SDK log calls become JSON lines with their metadata', () => {
    const { logger, records } = capture('debug');
    const sdk = toTemporalLogger(logger);
    sdk.log('WARN', 'Worker state changed', {
      [LogTimestamp]: 1_700_000_000_000_000_000n,
      sdkComponent: 'worker',
      n: 5n,
    });
    sdk.info('Activity completed', { activityType: 'mintToken', durationMs: 12 });
    sdk.debug('debug line');
    sdk.trace('not at debug level');
    sdk.error(`failed with ${TOKEN}`, { error: new Error(`boom ${JWT}`) });
    const out = records();
    assert.deepEqual(
      out.map((r) => [r.level, r.msg]),
      [
        ['warn', 'Worker state changed'],
        ['info', 'Activity completed'],
        ['debug', 'debug line'],
        ['error', 'failed with [redacted]'],
      ],
    );
    assert.equal(out[0]!.sdkComponent, 'worker');
    assert.equal(out[0]!.n, '5', 'bigints are stringified');
    assert.equal(out[1]!.activityType, 'mintToken');
    assert.equal((out[3]!.error as Record<string, unknown>).message, 'boom [redacted]');
  });

  void test("the bulk queue's activities-only worker is expected: its no-workflows warning is debug", () => {
    const { logger, records } = capture('debug');
    const sdk = toTemporalLogger(logger);
    sdk.warn('No workflows registered, not polling for workflow tasks', { taskQueue: 'q-bulk' });
    sdk.warn('Something else');
    assert.deepEqual(
      records().map((r) => [r.level, r.msg]),
      [
        ['debug', 'No workflows registered, not polling for workflow tasks'],
        ['warn', 'Something else'],
      ],
    );
  });
});
