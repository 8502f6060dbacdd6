/** worker/metrics.ts: the connector's metrics and the /metrics endpoint that also proxies the SDK runtime's. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { createConnectorMetrics, endpointLabel, startMetricsServer, type MetricsServer } from '../worker/metrics';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers) await close();
});

async function fakeSdkEndpoint(body: string, status = 200): Promise<string> {
  const server: Server = createServer((_req, res) => res.writeHead(status, { 'content-type': 'text/plain' }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

async function serve(options: Omit<Parameters<typeof startMetricsServer>[0], 'host' | 'port'>): Promise<MetricsServer> {
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, ...options });
  closers.push(() => server.close());
  return server;
}

void describe('createConnectorMetrics', () => {
  void test('the documented metrics with bounded labels', async () => {
    const m = createConnectorMetrics();
    m.recordTokenMint('success');
    m.recordTokenMint('invalid_grant');
    m.recordApiCall(
      endpointLabel(
        'https://demo.docusign.net/restapi/v2.1/accounts/0c5ab1a2-1111-2222-3333-444455556666/envelopes?from_date=x',
      ),
      200,
      0.2,
    );
    m.recordApiCall('/oauth/token', 'network_error');
    m.setRateLimitRemaining('hourly', 998);
    m.setRateLimitRemaining('burst', 498);
    m.addEnvelopesStored(3);
    m.addEnvelopesStored(0);
    m.addSyncPage();
    m.setConnections({ idle: 2, needs_attention: 1 });
    const text = await m.registry.metrics();
    for (const line of [
      'docusign_tokens_minted_total{outcome="success"} 1',
      'docusign_tokens_minted_total{outcome="invalid_grant"} 1',
      'docusign_api_calls_total{endpoint="/restapi/v2.1/accounts/{id}/envelopes",status="200"} 1',
      'docusign_api_calls_total{endpoint="/oauth/token",status="network_error"} 1',
      'docusign_api_call_duration_seconds_count{endpoint="/restapi/v2.1/accounts/{id}/envelopes"} 1',
      'docusign_rate_limit_remaining{kind="hourly"} 998',
      'docusign_rate_limit_remaining{kind="burst"} 498',
      'docusign_envelopes_stored_total 3',
      'docusign_sync_pages_total 1',
      'docusign_connections{phase="idle"} 2',
      'docusign_connections{phase="needs_attention"} 1',
      'docusign_connections{phase="awaiting_consent"} 0',
    ]) {
      assert.ok(text.includes(line), `missing: ${line}\n${text}`);
    }
    // A phase that emptied goes back to 0 instead of keeping its last value.
    m.setConnections({ idle: 3 });
    assert.ok((await m.registry.metrics()).includes('docusign_connections{phase="needs_attention"} 0'));
  });

  void test('separate registries do not collide; a given registry is used', async () => {
    const registry = new Registry();
    const a = createConnectorMetrics(registry);
    const b = createConnectorMetrics();
    assert.equal(a.registry, registry);
    a.addSyncPage();
    assert.ok((await b.registry.metrics()).includes('docusign_sync_pages_total 0'));
  });

  void test('endpointLabel keeps labels bounded', () => {
    assert.equal(
      endpointLabel('/restapi/v2.1/accounts/123456/envelopes/0c5ab1a2-1111-2222-3333-444455556666'),
      '/restapi/v2.1/accounts/{id}/envelopes/{id}',
    );
    assert.equal(endpointLabel('https://account-d.docusign.com/oauth/userinfo'), '/oauth/userinfo');
    assert.equal(endpointLabel('/oauth/token?x=1'), '/oauth/token');
  });
});

void describe('startMetricsServer', () => {
  void test('GET /metrics serves the registry followed by the SDK runtime metrics', async () => {
    const m = createConnectorMetrics();
    m.addSyncPage();
    const sdkUrl = await fakeSdkEndpoint(
      '# TYPE temporal_request counter\ntemporal_request{operation="PollWorkflowTaskQueue"} 7',
    );
    const server = await serve({ registry: m.registry, sdkMetricsUrl: sdkUrl });
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const own = text.indexOf('docusign_sync_pages_total 1');
    const sdk = text.indexOf('temporal_request{operation="PollWorkflowTaskQueue"} 7');
    assert.ok(own >= 0 && sdk > own, text);
    assert.ok(text.includes('docusign_sdk_metrics_up 1'));
    assert.ok(text.endsWith('\n'));
  });

  void test('an unreachable SDK endpoint still serves the connector metrics, with docusign_sdk_metrics_up 0', async () => {
    const m = createConnectorMetrics();
    const down = await fakeSdkEndpoint('oops', 500);
    const errors: string[] = [];
    const server = await serve({ registry: m.registry, sdkMetricsUrl: down, onError: (what) => errors.push(what) });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.ok(text.includes('docusign_sdk_metrics_up 0'));
    assert.ok(text.includes('docusign_sync_pages_total 0'));
    assert.deepEqual(errors, [`SDK metrics scrape of ${down} failed`], 'the failure is reported, not only served');
  });

  void test('a failing collection answers 500 and reports the error instead of dropping it', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'broken_gauge',
      help: 'throws when collected',
      registers: [registry],
      collect() {
        throw new Error('collector exploded');
      },
    });
    const reported: { what: string; err: unknown }[] = [];
    const server = await serve({ registry, onError: (what, err) => reported.push({ what, err }) });
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 500);
    assert.equal(reported.length, 1);
    assert.equal(reported[0]?.what, 'metrics collection failed');
    assert.match((reported[0]?.err as Error).message, /collector exploded/);
  });

  void test('without sdkMetricsUrl only the registry; /healthz; 404 and 405', async () => {
    const m = createConnectorMetrics();
    const server = await serve({ registry: m.registry });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.ok(text.includes('docusign_envelopes_stored_total'));
    assert.ok(!text.includes('docusign_sdk_metrics_up'));
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    assert.equal((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 405);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
