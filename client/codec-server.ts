/**
 * A Temporal codec server (https://docs.temporal.io/codec-server) so the Web UI and `temporal workflow show
 * --codec-endpoint` can show decrypted payloads. Protocol:
 *   POST /encode | /decode (also /{namespace}/encode | /{namespace}/decode, for the CLI's templated endpoint)
 *   headers: Content-Type: application/json, X-Namespace: <ns>, Authorization: Bearer <token> (when configured)
 *   body:    { "payloads": [ { "metadata": { "<key>": "<base64>" }, "data": "<base64>" } ] }   (proto3 JSON)
 *   reply:   the same shape, each payload run through the codec.
 * CORS: the browser calls this from the UI's origin; only the configured origin(s) get
 * `Access-Control-Allow-Origin`, so other sites' pages cannot read decrypted data. Preflights never need auth.
 *
 * Bind it to localhost (the default) unless it sits behind authentication: it decrypts anything it is sent.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen, type ListeningServer } from '../common/http';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  /** 0 = a random free port (tests). */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  codec: PayloadCodec;
  /** The Temporal UI origin(s) allowed to call from a browser, e.g. http://localhost:8233. */
  allowedOrigin: string | readonly string[];
  /** When set, /encode and /decode require `Authorization: Bearer <token>` (401 otherwise). */
  bearerToken?: string;
  /** Request body limit (default 16 MiB). */
  maxBodyBytes?: number;
}

/** e.g. http://127.0.0.1:8888 */
export type CodecServer = ListeningServer;

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const ALLOWED_HEADERS = 'X-Namespace, Content-Type, Authorization';
const ALLOWED_METHODS = 'POST, OPTIONS';
/** proto3 JSON bytes: standard or URL-safe base64, padding optional. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function normalizeOrigin(origin: string): string {
  return URL.canParse(origin) ? new URL(origin).origin : origin.replace(/\/+$/, '');
}

function fromBase64(value: unknown, where: string): Uint8Array {
  if (typeof value !== 'string' || !BASE64.test(value)) {
    throw new HttpError(400, `${where} must be a base64 string`);
  }
  return Buffer.from(value, 'base64');
}

const toBase64 = (b: Uint8Array | null | undefined): string =>
  b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') : '';

function payloadsFromJson(body: unknown): Payload[] {
  const list = (body as { payloads?: unknown } | null)?.payloads;
  if (typeof body !== 'object' || body === null || !Array.isArray(list)) {
    throw new HttpError(400, 'body must be a JSON object { "payloads": [...] }');
  }
  return list.map((item: unknown, i): Payload => {
    if (typeof item !== 'object' || item === null) throw new HttpError(400, `payloads[${i}] must be an object`);
    const { metadata, data } = item as { metadata?: unknown; data?: unknown };
    const payload: Payload = {
      metadata: {},
      data: data === undefined ? new Uint8Array() : fromBase64(data, `payloads[${i}].data`),
    };
    if (metadata !== undefined) {
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
        throw new HttpError(400, `payloads[${i}].metadata must be an object`);
      }
      for (const [k, v] of Object.entries(metadata)) {
        (payload.metadata as Record<string, Uint8Array>)[k] = fromBase64(v, `payloads[${i}].metadata.${k}`);
      }
    }
    return payload;
  });
}

function payloadsToJson(payloads: Payload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, toBase64(v)])),
      data: toBase64(p.data),
    })),
  };
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `request body exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) return false;
  const given = Buffer.from(m[1]);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Starts the codec server; resolves once it listens. */
export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const host = options.host ?? '127.0.0.1';
  const allowed = new Set(
    (typeof options.allowedOrigin === 'string' ? [options.allowedOrigin] : options.allowedOrigin).map(normalizeOrigin),
  );
  const limit = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const { codec, bearerToken } = options;

  const corsHeaders = (req: IncomingMessage): Record<string, string> => {
    const origin = req.headers.origin;
    const headers: Record<string, string> = { vary: 'Origin' };
    if (origin && allowed.has(normalizeOrigin(origin))) {
      headers['access-control-allow-origin'] = origin;
      headers['access-control-allow-credentials'] = 'true';
      headers['access-control-allow-methods'] = ALLOWED_METHODS;
      headers['access-control-allow-headers'] = ALLOWED_HEADERS;
      headers['access-control-max-age'] = '600';
    }
    return headers;
  };

  const send = (req: IncomingMessage, res: ServerResponse, status: number, body: unknown, extra = {}): void => {
    res.writeHead(status, { ...corsHeaders(req), 'content-type': 'application/json', ...extra });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const op = /^(?:\/[^/]+)?\/(encode|decode)\/?$/.exec(path)?.[1] as 'encode' | 'decode' | undefined;
    if (!op) {
      send(req, res, 404, { error: 'not found; use POST /encode or POST /decode' });
      return;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, corsHeaders(req)).end();
      return;
    }
    if (req.method !== 'POST') {
      send(req, res, 405, { error: 'method not allowed' }, { allow: ALLOWED_METHODS });
      return;
    }
    if (bearerToken !== undefined && !bearerMatches(req.headers.authorization, bearerToken)) {
      send(req, res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
      return;
    }
    const text = await readBody(req, limit);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'body is not valid JSON');
    }
    const payloads = payloadsFromJson(json);
    let result: Payload[];
    try {
      result = op === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
    } catch (err) {
      throw new HttpError(400, `${op} failed: ${(err as Error).message}`);
    }
    send(req, res, 200, payloadsToJson(result));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof HttpError ? err.message : 'internal error';
      if (res.headersSent) {
        res.end();
        return;
      }
      // Drain what the client is still sending so it sees the reply instead of a reset connection.
      req.resume();
      send(req, res, status, { error: message }, status === 413 ? { connection: 'close' } : {});
    });
  });
  return listen(server, options.port, host);
}
