/**
 * The consent callback (design.md §1 step 1): DocuSign's consent page redirects the customer's browser to
 *
 *   GET /docusign/consent/callback?code=...&state=...              consent granted
 *   GET /docusign/consent/callback?error=access_denied&state=...   consent declined
 *
 * The `state` is the HMAC-signed value the workflow put into its consent URL (common/consent-state.ts); it names the
 * connection. Only a genuine, unexpired state leads to a signal: `consentGranted`, or `consentDenied` with DocuSign's
 * error. A missing, malformed, forged or expired state gets 400 and signals nothing. The authorization `code` itself
 * is not used (JWT Grant needs only the consent) and is never logged or echoed.
 *
 * Replies are small self-contained HTML pages. `GET /healthz` answers `{"ok":true}`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen, type ListeningServer } from '../common/http';
import { verifyConsentState } from '../common/consent-state';
import { ConnectionClosedError, ConnectionNotFoundError, type ConnectorClient } from './client';

export const CONSENT_CALLBACK_PATH = '/docusign/consent/callback';

/** The part of ConnectorClient the server needs (tests may pass a fake). */
export type ConsentSignaller = Pick<ConnectorClient, 'consent' | 'deny'>;

export interface ConsentServerOptions {
  /** 0 = a free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  client: ConsentSignaller;
  /**
   * CONSENT_STATE_SECRET, the same as the worker's. Without it the callback cannot trust any request: it answers
   * 503 (and the worker's consent URLs carry no state anyway).
   */
  stateSecret: string | undefined;
  /** Called once per callback with its outcome (for logs); never given the code or the state. */
  onCallback?: (event: { outcome: string; status: number; connectionId?: string; reason?: string }) => void;
}

export interface ConsentServer extends ListeningServer {
  /** e.g. http://127.0.0.1:8787/docusign/consent/callback: the CONSENT_REDIRECT_URI to give the worker. */
  readonly callbackUrl: string;
}

const STATE_REASONS: Record<string, string> = {
  missing: 'The consent link has no state parameter.',
  malformed: 'The consent state is not valid.',
  forged: 'The consent state failed verification.',
  expired: 'The consent link has expired; open a fresh consent URL (docusign-connector status shows it).',
};

/** DocuSign's `error` values are short snake_case words; anything else is reported as a generic error. */
const SAFE_ERROR = /^[a-z][a-z0-9_]{0,63}$/;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style>',
    `</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(body)}</p></body></html>`,
    '',
  ].join('\n');
}

export async function startConsentServer(options: ConsentServerOptions): Promise<ConsentServer> {
  const host = options.host ?? '127.0.0.1';
  const { client, stateSecret } = options;

  const send = (res: ServerResponse, status: number, title: string, body: string): void => {
    const html = page(title, body);
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(html),
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    });
    res.end(html);
  };

  const callback = async (url: URL, res: ServerResponse): Promise<void> => {
    const report = (outcome: string, status: number, extra: { connectionId?: string; reason?: string } = {}) =>
      options.onCallback?.({ outcome, status, ...extra });
    if (!stateSecret) {
      report('not_configured', 503);
      send(res, 503, 'Consent callback not configured', 'Set CONSENT_STATE_SECRET on the worker and this server.');
      return;
    }
    const verified = verifyConsentState(url.searchParams.get('state'), stateSecret);
    if (!verified.ok) {
      report('rejected', 400, { reason: verified.reason });
      send(res, 400, 'Invalid consent callback', STATE_REASONS[verified.reason] ?? 'The consent state is not valid.');
      return;
    }
    const { connectionId } = verified;
    const error = url.searchParams.get('error');
    const code = url.searchParams.get('code');
    try {
      if (error !== null) {
        const reason = SAFE_ERROR.test(error) ? error : 'consent_error';
        await client.deny(connectionId, reason);
        report('denied', 200, { connectionId, reason });
        send(
          res,
          200,
          'Consent was not granted',
          `DocuSign reported "${reason}". The connection ${connectionId} needs consent to sync; ` +
            'open the consent URL again and accept.',
        );
        return;
      }
      if (!code) {
        report('rejected', 400, { connectionId, reason: 'missing code' });
        send(res, 400, 'Invalid consent callback', 'The callback has neither a code nor an error.');
        return;
      }
      await client.consent(connectionId);
      report('granted', 200, { connectionId });
      send(
        res,
        200,
        'Connected — you can close this window',
        `DocuSign consent recorded for connection ${connectionId}.`,
      );
    } catch (err) {
      if (err instanceof ConnectionNotFoundError || err instanceof ConnectionClosedError) {
        report('unknown_connection', 404, { connectionId });
        send(res, 404, 'Unknown connection', `There is no active connection ${connectionId}.`);
        return;
      }
      throw err;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://consent.invalid');
    if (url.pathname === '/healthz') {
      const body = JSON.stringify({ ok: true, callback: stateSecret ? 'enabled' : 'disabled' });
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
      return;
    }
    if (url.pathname !== CONSENT_CALLBACK_PATH) {
      send(res, 404, 'Not found', 'Nothing here.');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET');
      send(res, 405, 'Method not allowed', 'Use GET.');
      return;
    }
    await callback(url, res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.onCallback?.({ outcome: 'error', status: 502, reason: (err as Error).message });
      if (res.headersSent) {
        res.end();
        return;
      }
      send(
        res,
        502,
        'Consent could not be delivered',
        'The connector could not be reached; try the link again shortly.',
      );
    });
  });
  const listening = await listen(server, options.port, host);
  return { ...listening, callbackUrl: `${listening.url}${CONSENT_CALLBACK_PATH}` };
}
