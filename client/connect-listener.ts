/**
 * The DocuSign Connect listener (docusign-api.md §5): DocuSign POSTs one JSON SIM message per event, signed with
 * `X-DocuSign-Signature-1..N` = base64(HMAC-SHA256(key, raw body)), one header per active Connect key. A genuine
 * message makes the connections of its account sync now: the listener answers at once and, per connection, gathers
 * the events of a fixed window (`debounceMs`) into ONE `connectEvents` signal, so a burst of hundreds of events costs a
 * handful of signals. Events only say that something changed: the sync reads the envelope listing, and the hourly
 * poll reconciles anything lost here (a rejected event, a signal that could not be delivered).
 *
 *   POST <path> (default /docusign/connect)
 *     200 accepted          signalled after the window
 *     202 unknown_account   genuine, but no connection has that account: nothing signalled
 *     400 malformed         not JSON, or no event / data.accountId / data.envelopeId
 *     401 unsigned|forged   no signature header | none matches any configured key
 *     409 replayed|stale    the same body bytes seen within the replay window | generatedDateTime older than it
 *     413 too_large         body over maxBodyBytes (never buffered beyond it)
 *     503 unavailable       the account's connections could not be looked up (Temporal down): DocuSign retries
 *   GET /healthz  {"ok":true,"events":{<outcome>:n},"signals":{"delivered":n,"failed":n},"pendingConnections":n}
 *   GET /metrics  docusign_connect_events_total{outcome}, docusign_connect_signals_total{outcome}
 *
 * Logs: one line per rejected event (reason, remote address, event name once parsed) and one per signal; never the
 * body, a signature or a key.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { mapLimit } from '../activities/store/map-limit';
import { listen, type ListeningServer } from '../common/http';
import type { ConnectEvents } from '../workflows/messages';
import type { ConnectorClient } from './client';
import { ConnectionClosedError, ConnectionNotFoundError } from './errors';

export const CONNECT_PATH = '/docusign/connect';

export const EVENT_OUTCOMES = [
  'accepted',
  'unknown_account',
  'malformed',
  'unsigned',
  'forged',
  'replayed',
  'stale',
  'too_large',
  'unavailable',
] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];
const SIGNAL_OUTCOMES = ['delivered', 'failed'] as const;
export type SignalOutcome = (typeof SIGNAL_OUTCOMES)[number];

/** The connections (IDs) whose DocuSign account is `accountId` (lower case); none = the account is not connected. */
export type ResolveConnections = (accountId: string) => Promise<string[]>;
/** Sends one debounced burst to a connection (ConnectorClient.connectEvents); a rejection is retried. */
export type DeliverEvents = (connectionId: string, events: ConnectEvents) => Promise<void>;
export type ListenerLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface ConnectListenerOptions {
  /** 0 = a free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default /docusign/connect. */
  path?: string;
  /** The Connect HMAC keys (UTF-8, as DocuSign shows them); several while one is being rotated. */
  hmacKeys: readonly string[];
  resolveConnections: ResolveConnections;
  deliver: DeliverEvents;
  /** How long a connection's first event waits for more before the one signal (fixed, not extended); default 500. */
  debounceMs?: number;
  /** Request body limit; default 1 MiB. */
  maxBodyBytes?: number;
  /** Older messages are stale, and identical bodies within it replays; default 48 h. */
  replayWindowMs?: number;
  /** Body digests remembered for replay detection (the oldest are forgotten first); default 100 000. */
  replayCacheSize?: number;
  /** Waits before each retry of a failed delivery; default [500, 2000, 5000] (three retries). */
  retryDelaysMs?: readonly number[];
  /** Where the two counters are registered; default a fresh registry. */
  registry?: Registry;
  logger?: ListenerLogger;
}

export interface ConnectListenerCounts {
  events: Record<EventOutcome, number>;
  signals: Record<SignalOutcome, number>;
}

export interface ConnectListener extends ListeningServer {
  /** e.g. http://127.0.0.1:8789/docusign/connect: what the Connect configuration's URL must reach. */
  readonly webhookUrl: string;
  /** Live counts since start (also on /healthz). */
  readonly counts: Readonly<ConnectListenerCounts>;
}

/** What a signal carries at most (ConnectEvents.envelopeIds): the sync reads the whole window anyway. */
export const MAX_ENVELOPE_IDS = 200;
/**
 * The envelopes a signal carries at most, as JSON: a burst beyond it is read from the listing instead, so one signal
 * stays far below Temporal's payload limit (2 MB) and history stays small.
 */
export const MAX_SIGNAL_ENVELOPE_BYTES = 256 * 1024;
/** DocuSign allows up to 100 Connect keys, hence at most that many signature headers are worth checking. */
const MAX_SIGNATURES = 100;
const SIGNATURE_HEADER = /^x-docusign-signature-\d{1,3}$/;
/** DocuSign's event names (envelope-completed, …) and IDs (GUIDs): anything else is not a Connect message. */
const EVENT_NAME = /^[a-z][a-z0-9-]{0,63}$/;
const ID = /^[A-Za-z0-9-]{1,64}$/;

interface ConnectMessage {
  event: string;
  accountId: string;
  envelopeId: string;
  /** data.envelopeSummary with its envelopeId, when the configuration includes the envelope. */
  envelope?: Record<string, unknown>;
  /** generatedDateTime in ms, when it parses. */
  generatedAt?: number;
}

interface Outcome {
  outcome: EventOutcome;
  status: number;
  event?: string;
  /** Why the lookup failed (503). */
  error?: string;
}

interface Window {
  events: number;
  envelopeIds: Set<string>;
  lastEventAt: number;
  timer: NodeJS.Timeout;
  /** The envelopes the events carried, while every event carried one and they fit MAX_SIGNAL_ENVELOPE_BYTES. */
  envelopes?: Record<string, unknown>[];
  envelopeBytes: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The event name, when the message has a well-formed one (logged with a rejection). */
const eventOf = (json: unknown): string | undefined =>
  isObject(json) && typeof json.event === 'string' && EVENT_NAME.test(json.event) ? json.event : undefined;

function messageOf(json: unknown): ConnectMessage | undefined {
  const event = eventOf(json);
  if (!event || !isObject(json) || !isObject(json.data)) return undefined;
  const { accountId, envelopeId } = json.data;
  if (typeof accountId !== 'string' || !ID.test(accountId)) return undefined;
  if (typeof envelopeId !== 'string' || !ID.test(envelopeId)) return undefined;
  const generatedAt = typeof json.generatedDateTime === 'string' ? Date.parse(json.generatedDateTime) : NaN;
  const summary = json.data.envelopeSummary;
  return {
    event,
    // A GUID's case is not fixed: lower case, as the resolver matches it.
    accountId: accountId.toLowerCase(),
    envelopeId,
    ...(isObject(summary) ? { envelope: { ...summary, envelopeId } } : {}),
    ...(Number.isFinite(generatedAt) ? { generatedAt } : {}),
  };
}

function signaturesOf(headers: IncomingHttpHeaders): string[] {
  return Object.entries(headers)
    .filter((entry): entry is [string, string] => SIGNATURE_HEADER.test(entry[0]) && typeof entry[1] === 'string')
    .slice(0, MAX_SIGNATURES)
    .map(([, value]) => value.trim());
}

/** The body, or undefined once it exceeds `limit` (the rest is discarded as it arrives, never kept). */
function readCapped(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length']) > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData).off('end', onEnd);
      chunks.length = 0;
      resolve(undefined);
    };
    const onEnd = () => resolve(Buffer.concat(chunks, size));
    req.on('data', onData).on('end', onEnd).on('error', reject);
  });
}

/** Digests of bodies seen within the window, oldest first (insertion order is arrival order). */
function replayCache(windowMs: number, capacity: number) {
  const seen = new Map<string, number>();
  return {
    /** True the first time within the window; the digest is then remembered. */
    claim(digest: string, now: number): boolean {
      for (const [d, at] of seen) {
        if (now - at < windowMs && seen.size < capacity) break;
        seen.delete(d);
      }
      if (seen.has(digest)) return false;
      seen.set(digest, now);
      return true;
    },
    /** Forgets a claim whose message was not taken (503), so DocuSign's resend of the same bytes is not a replay. */
    release: (digest: string) => seen.delete(digest),
  };
}

/** Permanent for this connection: retrying cannot help. */
const gone = (err: unknown) => err instanceof ConnectionNotFoundError || err instanceof ConnectionClosedError;

/** Starts the listener; resolves once it listens. */
export async function startConnectListener(options: ConnectListenerOptions): Promise<ConnectListener> {
  const keys = options.hmacKeys;
  if (!keys.length || keys.includes('')) throw new Error('startConnectListener: hmacKeys must be one key or more');
  const host = options.host ?? '127.0.0.1';
  const webhookPath = options.path ?? CONNECT_PATH;
  // 500 ms: a burst still makes a handful of signals, and a lone event is stored well within 2 s (bench/connect.ts).
  const debounceMs = options.debounceMs ?? 500;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const replayWindowMs = options.replayWindowMs ?? 48 * 3600_000;
  const retryDelaysMs = options.retryDelaysMs ?? [500, 2000, 5000];
  const registry = options.registry ?? new Registry();
  const { logger, resolveConnections, deliver } = options;

  /** A Prometheus counter by outcome, and the same counts kept for /healthz and `counts`. */
  const tally = <O extends string>(name: string, help: string, outcomes: readonly O[]) => {
    const counter = new Counter({ name, help, labelNames: ['outcome'] as const, registers: [registry] });
    const byOutcome = Object.fromEntries(outcomes.map((o) => [o, 0])) as Record<O, number>;
    const inc = (outcome: O) => {
      byOutcome[outcome] += 1;
      counter.inc({ outcome });
    };
    return { byOutcome, inc };
  };
  const events = tally(
    'docusign_connect_events_total',
    'DocuSign Connect messages received, by outcome (accepted, unknown_account or why rejected)',
    EVENT_OUTCOMES,
  );
  const signals = tally(
    'docusign_connect_signals_total',
    'connectEvents signals sent to connections (one per debounce window), by outcome (delivered, failed)',
    SIGNAL_OUTCOMES,
  );
  const counts: ConnectListenerCounts = { events: events.byOutcome, signals: signals.byOutcome };
  const countSignal = signals.inc;

  const replays = replayCache(replayWindowMs, options.replayCacheSize ?? 100_000);
  const windows = new Map<string, Window>();
  const deliveries = new Set<Promise<void>>();

  const deliverWithRetries = async (connectionId: string, events: ConnectEvents): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await deliver(connectionId, events);
        countSignal('delivered');
        logger?.info({ connectionId, events: events.events }, 'connect events signalled');
        return;
      } catch (err) {
        const delay = retryDelaysMs[attempt];
        if (delay === undefined || gone(err)) {
          countSignal('failed');
          logger?.error(
            { connectionId, events: events.events, attempts: attempt + 1, err: errorText(err) },
            'connect events not signalled: the next scheduled sync picks the changes up',
          );
          return;
        }
        await sleep(delay);
      }
    }
  };

  const flush = (connectionId: string) => {
    const window = windows.get(connectionId);
    if (!window) return;
    windows.delete(connectionId);
    clearTimeout(window.timer);
    const delivery = deliverWithRetries(connectionId, {
      events: window.events,
      envelopeIds: [...window.envelopeIds],
      lastEventAt: new Date(window.lastEventAt).toISOString(),
      ...(window.envelopes ? { envelopes: window.envelopes } : {}),
    }).finally(() => deliveries.delete(delivery));
    deliveries.add(delivery);
  };

  /** Adds an event to the connection's open window, opening one (and its timer) for the first. */
  const gather = (connectionId: string, message: ConnectMessage, at: number) => {
    let window = windows.get(connectionId);
    if (!window) {
      window = {
        events: 0,
        envelopeIds: new Set(),
        lastEventAt: at,
        timer: setTimeout(flush, debounceMs, connectionId),
        envelopes: [],
        envelopeBytes: 0,
      };
      windows.set(connectionId, window);
    }
    window.events += 1;
    if (window.envelopeIds.size < MAX_ENVELOPE_IDS) window.envelopeIds.add(message.envelopeId);
    window.lastEventAt = Math.max(window.lastEventAt, at);
    // One event without its envelope, or too many bytes, and the whole burst is read from the listing instead.
    if (window.envelopes && message.envelope) {
      window.envelopeBytes += Buffer.byteLength(JSON.stringify(message.envelope));
      window.envelopes.push(message.envelope);
    }
    if (!message.envelope || window.envelopeBytes > MAX_SIGNAL_ENVELOPE_BYTES) window.envelopes = undefined;
  };

  const receive = async (headers: IncomingHttpHeaders, body: Buffer): Promise<Outcome> => {
    const signatures = signaturesOf(headers);
    if (!signatures.length) return { outcome: 'unsigned', status: 401 };
    const expected = keys.map((key) => createHmac('sha256', key).update(body).digest());
    let signed = false;
    // Every pair is compared (no early exit), each in constant time.
    for (const signature of signatures) {
      const given = Buffer.from(signature, 'base64');
      for (const digest of expected) {
        if (given.length === digest.length && timingSafeEqual(given, digest)) signed = true;
      }
    }
    if (!signed) return { outcome: 'forged', status: 401 };

    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return { outcome: 'malformed', status: 400 };
    }
    const message = messageOf(json);
    if (!message) {
      const event = eventOf(json);
      return { outcome: 'malformed', status: 400, ...(event ? { event } : {}) };
    }
    const receivedAt = Date.now();
    if (message.generatedAt !== undefined && receivedAt - message.generatedAt > replayWindowMs) {
      return { outcome: 'stale', status: 409, event: message.event };
    }
    const digest = createHash('sha256').update(body).digest('base64');
    if (!replays.claim(digest, receivedAt)) return { outcome: 'replayed', status: 409, event: message.event };

    let connections: string[];
    try {
      connections = await resolveConnections(message.accountId);
    } catch (err) {
      replays.release(digest);
      return { outcome: 'unavailable', status: 503, event: message.event, error: errorText(err) };
    }
    if (!connections.length) {
      logger?.info(
        { outcome: 'unknown_account', accountId: message.accountId, event: message.event },
        'connect event for an account no connection has',
      );
      return { outcome: 'unknown_account', status: 202, event: message.event };
    }
    for (const connectionId of connections) {
      gather(connectionId, message, message.generatedAt ?? receivedAt);
    }
    return { outcome: 'accepted', status: 200, event: message.event };
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };

  const count = events.inc;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { pathname } = new URL(req.url ?? '/', 'http://connect.invalid');
    if (pathname === '/healthz' || pathname === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      } else if (pathname === '/healthz') {
        send(res, 200, { ok: true, ...counts, pendingConnections: windows.size });
      } else {
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text);
      }
      return;
    }
    if (pathname !== webhookPath) {
      send(res, 404, { error: `not found; DocuSign Connect posts to ${webhookPath}` });
      return;
    }
    if (req.method !== 'POST') {
      send(res, 405, { error: 'method not allowed' }, { allow: 'POST' });
      return;
    }
    const body = await readCapped(req, maxBodyBytes);
    // Too large: answered before the rest arrived, which Node discards; the connection is not reused.
    const { outcome, status, event, error }: Outcome = body
      ? await receive(req.headers, body)
      : { outcome: 'too_large', status: 413 };
    count(outcome);
    if (status >= 400) {
      logger?.warn(
        {
          reason: outcome,
          status,
          remote: req.socket.remoteAddress,
          ...(event ? { event } : {}),
          ...(error ? { err: error } : {}),
        },
        'connect event rejected',
      );
    }
    send(res, status, { outcome }, status === 413 ? { connection: 'close' } : {});
  };

  // A sender that trickles its request cannot hold a connection for Node's default 5 minutes.
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger?.error({ err: errorText(err) }, 'connect listener: request failed');
      if (res.headersSent) res.end();
      else send(res, 500, { error: 'internal error' });
    });
  });
  const listening = await listen(server, options.port, host);
  return {
    url: listening.url,
    webhookUrl: `${listening.url}${webhookPath}`,
    counts,
    close: async () => {
      await listening.close();
      for (const connectionId of [...windows.keys()]) flush(connectionId);
      await Promise.all(deliveries);
    },
  };
}

export interface ConnectionResolverOptions {
  /** How long the account → connections map serves before it is rebuilt (in the background); default 60 s. */
  ttlMs?: number;
  /** Rebuilds start at most this often, also on a miss (an account not in the map); default 10 s. */
  minRefreshMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** Status queries in flight while the map is rebuilt. */
const STATUS_CONCURRENCY = 8;

/**
 * The default ResolveConnections: the connections that are not disconnected (`list()`), each with the account its
 * status names, cached. A connection whose status does not answer keeps the account it had in the previous map.
 */
export function connectionResolver(
  client: Pick<ConnectorClient, 'list' | 'status'>,
  options: ConnectionResolverOptions = {},
): ResolveConnections {
  const ttlMs = options.ttlMs ?? 60_000;
  const minRefreshMs = options.minRefreshMs ?? 10_000;
  const now = options.now ?? Date.now;
  let accountOf = new Map<string, string>();
  let byAccount: Map<string, string[]> | undefined;
  let builtAt = -Infinity;
  let attemptedAt = -Infinity;
  let refreshing: Promise<void> | undefined;

  const rebuild = async () => {
    const active = (await client.list()).filter((c) => c.phase !== 'disconnected');
    const next = new Map<string, string>();
    await mapLimit(active, STATUS_CONCURRENCY, async ({ connectionId }) => {
      const account = await client.status(connectionId).then(
        (status) => status.account?.accountId.toLowerCase(),
        () => accountOf.get(connectionId),
      );
      if (account) next.set(connectionId, account);
    });
    const index = new Map<string, string[]>();
    for (const [connectionId, account] of next) index.set(account, [...(index.get(account) ?? []), connectionId]);
    accountOf = next;
    byAccount = index;
    builtAt = now();
  };
  const refresh = (): Promise<void> => {
    if (!refreshing) {
      attemptedAt = now();
      refreshing = rebuild().finally(() => (refreshing = undefined));
    }
    return refreshing;
  };

  return async (accountId) => {
    const key = accountId.toLowerCase();
    const mayRefresh = refreshing !== undefined || now() - attemptedAt >= minRefreshMs;
    if (!byAccount?.has(key)) {
      // A new connection's account, or none: wait for the listing (its failure is the caller's, a 503).
      if (mayRefresh) await refresh();
    } else if (now() - builtAt >= ttlMs && mayRefresh) {
      // The old map serves meanwhile; a failed rebuild is tried again after minRefreshMs.
      refresh().catch(() => undefined);
    }
    if (!byAccount) throw new Error('the connection list is not available yet (Temporal unreachable?)');
    return byAccount.get(key) ?? [];
  };
}
