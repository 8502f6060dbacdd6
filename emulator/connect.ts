/**
 * DocuSign Connect as the emulator sends it (docusign-api.md §5): one JSON SIM message per envelope change, POSTed to
 * the configured URL with `X-DocuSign-Signature-i = base64(HMAC-SHA256(key i, raw body))` per HMAC key.
 *
 * Choices where the docs are silent:
 *   - The event is `envelope-{new status}`; a change straight to a final status (addEnvelope) is one event, and a
 *     draft (created) sends none, as DocuSign has no event for it.
 *   - data.userId is the envelope's sender; data.envelopeSummary is the envelope at the time of the change.
 *   - generatedDateTime is the emulator clock in DocuSign's form (7 fractional digits, Z) and stays the same across
 *     retries; only retryCount changes, so each attempt's bytes and signatures differ.
 *   - A 2xx answer delivers; any other status, a socket error or no response within timeoutMs fails the attempt.
 *     Retries come after short configurable delays (DocuSign's are hours apart), then the event is a failure.
 *   - One queue per configuration: an event is sent once the one before it is delivered or failed.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { type ClientRequest, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Envelope } from './data';
import { formatTs } from './time';
import type { ConnectConfig, ConnectEventName, ConnectFailure, EmulatorStats } from './types';
import { envelopeJson } from './wire';

export const CONNECT_EVENTS = [
  'envelope-sent',
  'envelope-delivered',
  'envelope-completed',
  'envelope-declined',
  'envelope-voided',
] as const satisfies readonly ConnectEventName[];

const DEFAULT_ATTEMPTS = 3;
const DEFAULT_DELAYS_MS = [100, 200];
const DEFAULT_TIMEOUT_MS = 5000;
/** DocuSign configuration IDs are plain numbers; the emulator's count up from here. */
const FIRST_CONFIGURATION_ID = 10_001;

interface Queue {
  configurationId: number;
  url: URL;
  hmacKeys: string[];
  includeData: boolean;
  events: ReadonlySet<ConnectEventName>;
  attempts: number;
  delaysMs: number[];
  timeoutMs: number;
  /** The last queued delivery; the next one chains on it. */
  tail: Promise<void>;
  pending: number;
}

/** One event, everything but retryCount. */
interface Message {
  event: ConnectEventName;
  uri: string;
  generatedDateTime: string;
  data: { accountId: string; userId: string; envelopeId: string; envelopeSummary?: unknown };
}

export class ConnectSender {
  private current: Queue | undefined;
  /** Queues with deliveries still to settle, the current one's included. */
  private readonly busy = new Set<Queue>();
  private nextId = FIRST_CONFIGURATION_ID;
  private readonly failures: ConnectFailure[] = [];
  private readonly requests = new Set<ClientRequest>();
  private readonly sleeps = new Map<NodeJS.Timeout, () => void>();
  private stopped = false;

  constructor(
    private readonly stats: EmulatorStats['connect'],
    private readonly now: () => number,
  ) {}

  configure(config: ConnectConfig): number {
    const url = new URL(config.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new Error(`Connect url must be http(s): ${url.href}`);
    const attempts = config.retry?.attempts ?? DEFAULT_ATTEMPTS;
    if (!Number.isInteger(attempts) || attempts < 1) throw new Error('Connect retry.attempts must be an integer >= 1');
    this.current = {
      configurationId: this.nextId++,
      url,
      hmacKeys: [...config.hmacKeys],
      includeData: config.includeData ?? true,
      events: new Set(config.events ?? CONNECT_EVENTS),
      attempts,
      delaysMs: [...(config.retry?.delaysMs ?? DEFAULT_DELAYS_MS)],
      timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      tail: Promise.resolve(),
      pending: 0,
    };
    return this.current.configurationId;
  }

  clear(): void {
    this.current = undefined;
  }

  failed(): ConnectFailure[] {
    return this.failures.map((f) => ({ ...f }));
  }

  /** Queues the event for the envelope's change, if Connect is on and subscribed to it; never waits. */
  changed(e: Envelope): void {
    const q = this.current;
    if (!q || this.stopped || e.status === 'created') return;
    const event: ConnectEventName = `envelope-${e.status}`;
    if (!q.events.has(event)) return;
    const msg: Message = {
      event,
      uri: `/restapi/v2.1/accounts/${e.accountId}/envelopes/${e.envelopeId}`,
      generatedDateTime: formatTs(this.now()),
      data: {
        accountId: e.accountId,
        userId: e.sender.userId,
        envelopeId: e.envelopeId,
        // Serialized now: the envelope may change again before this event goes out.
        envelopeSummary: q.includeData ? JSON.parse(envelopeJson(e, true)) : undefined,
      },
    };
    q.pending++;
    this.busy.add(q);
    q.tail = q.tail.then(() => this.deliver(q, msg));
  }

  async settled(): Promise<void> {
    // Again until nothing is busy: events may be queued while waiting (e.g. a mutate meanwhile).
    while (this.busy.size > 0) await Promise.all([...this.busy].map((q) => q.tail));
  }

  /** Drops whatever is queued and aborts attempts in flight (the emulator is stopping). */
  stop(): void {
    this.stopped = true;
    for (const req of this.requests) req.destroy();
    for (const [timer, wake] of this.sleeps) {
      clearTimeout(timer);
      wake();
    }
    this.sleeps.clear();
  }

  private async deliver(q: Queue, msg: Message): Promise<void> {
    try {
      let error = '';
      for (let retryCount = 0; retryCount < q.attempts; retryCount++) {
        if (retryCount > 0) await this.sleep(q.delaysMs[Math.min(retryCount, q.delaysMs.length) - 1] ?? 0);
        if (this.stopped) return;
        if (retryCount === 0) this.stats.sent++;
        else this.stats.retried++;
        const body = JSON.stringify({
          event: msg.event,
          uri: msg.uri,
          retryCount,
          configurationId: q.configurationId,
          apiVersion: 'v2.1',
          generatedDateTime: msg.generatedDateTime,
          data: msg.data,
        });
        const outcome = await this.post(q, body);
        if (this.stopped) return;
        if (outcome === undefined) {
          this.stats.delivered++;
          return;
        }
        error = outcome;
      }
      this.stats.failed++;
      this.failures.push({
        failureId: randomUUID(),
        configurationId: q.configurationId,
        configUrl: q.url.href,
        accountId: msg.data.accountId,
        envelopeId: msg.data.envelopeId,
        event: msg.event,
        error,
        retryCount: q.attempts - 1,
        created: msg.generatedDateTime,
        lastTry: formatTs(this.now()),
      });
    } finally {
      if (--q.pending === 0) this.busy.delete(q);
    }
  }

  /** One attempt; undefined when delivered, else why not. */
  private post(q: Queue, body: string): Promise<string | undefined> {
    const bytes = Buffer.from(body, 'utf8');
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'Content-Length': String(bytes.length),
    };
    q.hmacKeys.forEach((key, i) => {
      headers[`X-DocuSign-Signature-${i + 1}`] = createHmac('sha256', Buffer.from(key, 'utf8'))
        .update(bytes)
        .digest('base64');
    });
    const send = q.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      // A fresh connection per attempt (no agent), so a receiver's restart or hang touches one attempt only.
      const req = send(q.url, { method: 'POST', headers, agent: false });
      this.requests.add(req);
      const done = (outcome: string | undefined): void => {
        clearTimeout(timer);
        this.requests.delete(req);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        done('timeout'); // first: the error destroy() raises then finds the outcome settled
        req.destroy();
      }, q.timeoutMs);
      req.on('response', (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        done(status >= 200 && status < 300 ? undefined : `HTTP ${status}`);
      });
      req.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
      req.end(bytes);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeps.delete(timer);
        resolve();
      }, ms);
      this.sleeps.set(timer, resolve);
    });
  }
}
