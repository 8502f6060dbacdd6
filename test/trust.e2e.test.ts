/**
 * The trust policy end to end (dev server, emulator, real worker): a connection whose OAuth host, key reference or
 * userinfo base_uri the worker does not trust ends in needs_attention with the typed code and its hint, and nothing is
 * signed or sent where it must not be. A local "foreign host" server records every connection it gets: none.
 */
import assert from 'node:assert/strict';
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ERROR_HINTS, type ErrorCode } from '../workflows/errors';
import { consentGrantedSignal, type ConnectionStatus } from '../workflows/messages';
import { BACKFILL_ALL, findLeaks, startHarness, type Harness } from './helpers/connector';
import { historiesText } from './helpers/evidence';

describe('trust policy end to end: untrusted hosts and keys → needs_attention, nothing signed or sent', () => {
  let h: Harness;
  let foreign: Server;
  let foreignUrl = '';
  /** The right key, placed where the worker must not read it: next to the keys directory (the harness's work dir). */
  let outside = '';
  const foreignSeen = { connections: 0, requests: [] as string[] };

  before(async () => {
    h = await startHarness({ emulator: { envelopes: 5 } });
    foreign = createServer((req, res) => {
      foreignSeen.requests.push(`${req.method} ${req.url} authorization=${req.headers.authorization ?? ''}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    foreign.on('connection', () => (foreignSeen.connections += 1));
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    foreignUrl = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`;
    outside = path.join(path.dirname(h.workDir), `${path.basename(h.workDir)}-outside.pem`);
    writeFileSync(outside, h.keys.privatePem, { mode: 0o600 });
  });
  after(async () => {
    if (outside) rmSync(outside, { force: true });
    await new Promise<void>((resolve) => {
      foreign?.close(() => resolve());
      foreign?.closeAllConnections();
    });
    await h?.close();
  });

  /** Starts a connection for a fresh consented account, grants consent, and waits for needs_attention. */
  async function failsWith(
    id: string,
    code: ErrorCode,
    change: { config?: Parameters<Harness['config']>[1]; baseUri?: string } = {},
  ): Promise<ConnectionStatus> {
    const { userId, accountId } = h.newAccount(3);
    if (change.baseUri) h.emu.setBaseUri(accountId, change.baseUri);
    const handle = await h.start(h.config(id, { userId, backfillFrom: BACKFILL_ALL, ...change.config }));
    await handle.signal(consentGrantedSignal);
    const status = await h.waitForStatus(handle, (s) => s.phase === 'needs_attention');
    assert.equal(status.lastError?.code, code, JSON.stringify(status.lastError));
    assert.equal(status.lastError.hint, ERROR_HINTS[code]);
    return status;
  }

  test('an OAuth host outside DOCUSIGN_ALLOWED_HOSTS: untrusted_oauth_host; no assertion signed or sent', async () => {
    const before = h.emu.stats.assertionsReceived.length;
    const [foreignHost, wrongEnvironment] = await Promise.all([
      failsWith('trust-oauth-foreign', 'untrusted_oauth_host', { config: { oauthBaseUrl: foreignUrl } }),
      // A DocuSign host, but the production one for a demo connection.
      failsWith('trust-oauth-production', 'untrusted_oauth_host', {
        config: { oauthBaseUrl: 'https://account.docusign.com' },
      }),
    ]);
    assert.match(
      foreignHost.lastError!.message,
      new RegExp(`^oauthBaseUrl: ${foreignUrl} is not a trusted OAuth host: a demo connection uses https://account-d`),
    );
    assert.match(
      wrongEnvironment.lastError!.message,
      /^oauthBaseUrl: https:\/\/account\.docusign\.com is not a trusted/,
    );
    assert.equal(foreignHost.token, undefined, 'no token');
    assert.equal(foreignSeen.connections, 0, 'the foreign host was never contacted');
    assert.equal(h.emu.stats.assertionsReceived.length, before, 'no assertion reached DocuSign either');
  });

  test('a key outside DOCUSIGN_KEYS_DIR (path, `..`, symlink): private_key_unavailable; nothing signed', async () => {
    const link = path.join(h.workDir, 'linked-key.pem');
    symlinkSync(outside, link);
    const before = h.emu.stats.assertionsReceived.length;
    const statuses = await Promise.all([
      failsWith('trust-key-outside', 'private_key_unavailable', { config: { privateKeyRef: `file:${outside}` } }),
      failsWith('trust-key-dotdot', 'private_key_unavailable', {
        config: { privateKeyRef: `file:${h.workDir}/../${path.basename(outside)}` },
      }),
      failsWith('trust-key-symlink', 'private_key_unavailable', { config: { privateKeyRef: `file:${link}` } }),
      failsWith('trust-key-env', 'private_key_unavailable', { config: { privateKeyRef: 'env:PATH' } }),
    ]);
    const rules = [
      /must be a file inside/,
      /must be a file inside/,
      /through a symlink/,
      /starting with DOCUSIGN_KEY_/,
    ];
    for (const [i, status] of statuses.entries()) assert.match(status.lastError!.message, rules[i]!);
    assert.equal(h.emu.stats.assertionsReceived.length, before, 'nothing was signed and sent');
  });

  test('userinfo names an http or a foreign base_uri: untrusted_base_uri; no bearer token reaches that host', async () => {
    const [foreignHost, foreignHttps, plainHttp] = await Promise.all([
      failsWith('trust-base-foreign', 'untrusted_base_uri', { baseUri: `${foreignUrl}/na3` }),
      failsWith('trust-base-foreign-https', 'untrusted_base_uri', { baseUri: foreignUrl.replace('http:', 'https:') }),
      failsWith('trust-base-http', 'untrusted_base_uri', { baseUri: 'http://na3.docusign.net' }),
    ]);
    // Refused by `authorize` itself (its message, no account kept), not only by the client's last line of defence.
    for (const status of [foreignHost, foreignHttps, plainHttp]) {
      assert.match(
        status.lastError!.message,
        /^userinfo base_uri of account [0-9a-f-]{36}: .* is not a trusted REST host/,
      );
      assert.equal(status.account, undefined, 'the untrusted account is not kept');
    }
    assert.match(plainHttp.lastError!.message, /must be https on \*\.docusign\.net or \*\.docusign\.com/);
    assert.equal(foreignSeen.connections, 0, 'no connection, so no request carrying a bearer token, reached it');
    assert.deepEqual(foreignSeen.requests, []);
  });

  test('no secret in any history or worker log line', async () => {
    const texts = [...(await historiesText(h.handles)), ...h.logs];
    assert.deepEqual(findLeaks(h, texts), []);
  });
});
