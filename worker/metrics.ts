/**
 * The connector's own Prometheus metrics (prom-client) and one HTTP endpoint that serves them together with the
 * Temporal SDK runtime's metrics.
 *
 * Cardinality: labels are bounded sets only — `outcome` (success or an error code), `endpoint` (a path TEMPLATE, see
 * `endpointLabel`, never a URL with IDs), `status` (HTTP status or `network_error`), `kind`, `phase`. No connection,
 * account or envelope IDs in labels: per-connection detail lives in the workflow status and visibility.
 *
 * The SDK exposes its own metrics when the runtime is installed with
 * `Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: '127.0.0.1:9465' } } } })`;
 * pass `sdkMetricsUrl: 'http://127.0.0.1:9465/metrics'` to `startMetricsServer` and one port serves both.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen, type ListeningServer } from '../common/http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ErrorCode } from '../workflows/errors';
import { PHASES, type Phase } from '../workflows/messages';

export type TokenOutcome = 'success' | ErrorCode;
export type RateLimitKind = 'hourly' | 'burst';

export interface ConnectorMetrics {
  readonly registry: Registry;
  /** docusign_tokens_minted_total{outcome} */
  recordTokenMint(outcome: TokenOutcome): void;
  /**
   * docusign_api_calls_total{endpoint,status}, and docusign_api_call_duration_seconds{endpoint} when `seconds` is
   * given. `endpoint` is a bounded name: the DocuSign client's (token, userinfo, envelopes) or an `endpointLabel`.
   */
  recordApiCall(endpoint: string, status: number | 'network_error', seconds?: number): void;
  /** docusign_rate_limit_remaining{kind="hourly"|"burst"}: from the last response's X-RateLimit-* / X-BurstLimit-*. */
  setRateLimitRemaining(kind: RateLimitKind, remaining: number): void;
  /** docusign_envelopes_stored_total: envelope records created or changed in the evidence store. */
  addEnvelopesStored(count: number): void;
  /** docusign_sync_pages_total: envelope list pages fetched and stored. */
  addSyncPage(): void;
  /**
   * docusign_connections{phase}, from visibility counts. Sets every phase (phases missing from `counts` become 0, so
   * a phase that emptied does not keep a stale value).
   */
  setConnections(counts: Partial<Record<Phase, number>>): void;
  /** docusign_evidence_unreadable_lines_total: stored journal lines that could not be read (skipped, reported). */
  addUnreadableEvidenceLines(count: number): void;
}

/** Creates the connector's metrics in `registry` (a fresh one by default, so tests and workers never collide). */
export function createConnectorMetrics(registry: Registry = new Registry()): ConnectorMetrics {
  const registers = [registry];
  const tokensMinted = new Counter({
    name: 'docusign_tokens_minted_total',
    help: 'DocuSign JWT Grant token requests, by outcome (success or error code)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const apiCalls = new Counter({
    name: 'docusign_api_calls_total',
    help: 'DocuSign HTTP calls, by endpoint template and HTTP status',
    labelNames: ['endpoint', 'status'] as const,
    registers,
  });
  const apiCallDuration = new Histogram({
    name: 'docusign_api_call_duration_seconds',
    help: 'DocuSign HTTP call duration, by endpoint template',
    labelNames: ['endpoint'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const rateLimitRemaining = new Gauge({
    name: 'docusign_rate_limit_remaining',
    help: 'Remaining DocuSign API calls in the current window, from the last response headers',
    labelNames: ['kind'] as const,
    registers,
  });
  const envelopesStored = new Counter({
    name: 'docusign_envelopes_stored_total',
    help: 'Envelope records created or changed in the evidence store',
    registers,
  });
  const syncPages = new Counter({
    name: 'docusign_sync_pages_total',
    help: 'Envelope list pages fetched and durably stored',
    registers,
  });
  const connections = new Gauge({
    name: 'docusign_connections',
    help: 'Connection workflows by phase (from visibility)',
    labelNames: ['phase'] as const,
    registers,
  });
  const unreadableLines = new Counter({
    name: 'docusign_evidence_unreadable_lines_total',
    help: 'Lines of an evidence journal (changes.jsonl) that could not be read: skipped, logged and reported by doctor',
    registers,
  });
  return {
    registry,
    recordTokenMint: (outcome) => tokensMinted.inc({ outcome }),
    recordApiCall: (endpoint, status, seconds) => {
      apiCalls.inc({ endpoint, status: String(status) });
      if (seconds !== undefined && Number.isFinite(seconds)) apiCallDuration.observe({ endpoint }, seconds);
    },
    setRateLimitRemaining: (kind, remaining) => {
      if (Number.isFinite(remaining)) rateLimitRemaining.set({ kind }, remaining);
    },
    addEnvelopesStored: (count) => {
      if (count > 0) envelopesStored.inc(count);
    },
    addSyncPage: () => syncPages.inc(),
    setConnections: (counts) => {
      for (const phase of PHASES) connections.set({ phase }, counts[phase] ?? 0);
    },
    addUnreadableEvidenceLines: (count) => {
      if (count > 0) unreadableLines.inc(count);
    },
  };
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * A bounded `endpoint` label from a URL or path: query dropped, GUIDs and numeric segments replaced by `{id}`,
 * e.g. `https://demo.docusign.net/restapi/v2.1/accounts/<guid>/envelopes?from_date=...` →
 * `/restapi/v2.1/accounts/{id}/envelopes`.
 */
export function endpointLabel(urlOrPath: string): string {
  let path = urlOrPath;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path) && URL.canParse(path)) path = new URL(path).pathname;
  path = path.split(/[?#]/)[0] ?? '';
  return (
    path
      .replace(GUID, '{id}')
      .split('/')
      .map((seg) => (/^\d+$/.test(seg) ? '{id}' : seg))
      .join('/') || '/'
  );
}

export interface MetricsServerOptions {
  /** Interface to bind, e.g. 127.0.0.1 (METRICS_HOST). */
  host: string;
  /** Port (METRICS_PORT). 0 here binds a random free port (tests); the worker skips the server when METRICS_PORT=0. */
  port: number;
  registry: Registry;
  /** The SDK runtime's Prometheus endpoint to append, e.g. http://127.0.0.1:9465/metrics. */
  sdkMetricsUrl?: string;
  /** Timeout for the SDK scrape (default 2000 ms). */
  sdkTimeoutMs?: number;
  /** Told about every failure of the endpoint itself (a scrape that failed, the SDK endpoint not answering). */
  onError?: (what: string, err: unknown) => void;
}

/** e.g. http://127.0.0.1:9464 */
export type MetricsServer = ListeningServer;

async function sdkMetrics(url: string, timeoutMs: number): Promise<{ text: string; up: boolean; error?: unknown }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      return {
        text: `# SDK metrics unavailable: HTTP ${res.status}\n`,
        up: false,
        error: new Error(`HTTP ${res.status}`),
      };
    }
    return { text: await res.text(), up: true };
  } catch (err) {
    const reason = (err as Error).name === 'TimeoutError' ? 'timeout' : 'connection failed';
    return { text: `# SDK metrics unavailable: ${reason}\n`, up: false, error: err };
  }
}

/**
 * Serves `GET /metrics` (the registry, then the SDK runtime's metrics when `sdkMetricsUrl` is set, plus
 * `docusign_sdk_metrics_up` 1/0) and `GET /healthz`. Other paths: 404; other methods: 405.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, sdkMetricsUrl } = options;
  const timeoutMs = options.sdkTimeoutMs ?? 2000;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    let body = await registry.metrics();
    if (sdkMetricsUrl) {
      const sdk = await sdkMetrics(sdkMetricsUrl, timeoutMs);
      if (sdk.error !== undefined) options.onError?.(`SDK metrics scrape of ${sdkMetricsUrl} failed`, sdk.error);
      if (body && !body.endsWith('\n')) body += '\n';
      body +=
        '# HELP docusign_sdk_metrics_up Whether the Temporal SDK runtime metrics endpoint answered this scrape\n' +
        '# TYPE docusign_sdk_metrics_up gauge\n' +
        `docusign_sdk_metrics_up ${sdk.up ? 1 : 0}\n` +
        sdk.text;
      if (!body.endsWith('\n')) body += '\n';
    }
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.onError?.('metrics collection failed', err);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('metrics collection failed\n');
    });
  });
  return listen(server, options.port, options.host);
}
