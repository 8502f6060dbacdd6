/**
 * `connect-listener`: receives DocuSign Connect webhooks (client/connect-listener.ts) and signals the connections of
 * each event's account to sync. The HMAC keys come only from CONNECT_HMAC_KEYS, never from argv (where `ps` and shell
 * history would show them). Runs until SIGINT or SIGTERM, then signals what it had gathered.
 */
import type { RegisterCommand } from './command';
import { hostOf, portOf, UsageError } from './flags';
import { untilSignal } from './servers';

const KEYS_RULE = 'the DocuSign Connect HMAC key(s), comma-separated, each at least 32 characters';
const MAX_DEBOUNCE_MS = 60_000;

/** CONNECT_HMAC_KEYS: one key, or several while one is rotated (DocuSign's keys are 44 base64 characters). */
function hmacKeysOf(value: string | undefined): string[] {
  if (!value?.trim()) throw new UsageError(`CONNECT_HMAC_KEYS: is required by connect-listener (${KEYS_RULE})`);
  const keys = value.split(',').map((k) => k.trim());
  if (keys.some((k) => k.length < 32)) throw new UsageError(`CONNECT_HMAC_KEYS: must be ${KEYS_RULE}`);
  return keys;
}

function pathOf(value: string): string {
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(value) || value === '/healthz' || value === '/metrics') {
    throw new UsageError('--path: must be a URL path such as /docusign/connect (not /healthz or /metrics)');
  }
  return value;
}

function debounceOf(value: string): number {
  const n = Number(value);
  if (!/^\d{1,6}$/.test(value) || n > MAX_DEBOUNCE_MS) {
    throw new UsageError(`--debounce-ms: must be a whole number of milliseconds from 0 to ${MAX_DEBOUNCE_MS}`);
  }
  return n;
}

export const connectListenerCommand: RegisterCommand = (program, ctx) => {
  program
    .command('connect-listener')
    .description('receive DocuSign Connect webhooks (HMAC keys in CONNECT_HMAC_KEYS) and make connections sync now')
    .option('--port <port>', 'port to listen on', '8789')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--path <path>', 'path DocuSign posts to (default /docusign/connect)')
    .option('--debounce-ms <ms>', "how long a connection's first event waits for more before one signal", '500')
    .action(async (flags: { port: string; host: string; path?: string; debounceMs: string }) => {
      const port = portOf(flags.port);
      const host = hostOf(flags.host);
      const path = flags.path === undefined ? undefined : pathOf(flags.path);
      const debounceMs = debounceOf(flags.debounceMs);
      const hmacKeys = hmacKeysOf(ctx.io.env.CONNECT_HMAC_KEYS);
      const { logLevel } = await ctx.config();
      const { createLogger } = await import('../../worker/logger.js');
      const { connectionResolver, startConnectListener } = await import('../connect-listener.js');
      const logger = createLogger({ level: logLevel, base: { service: 'docusign-connector-connect' } });
      const client = await ctx.client();
      const listener = await startConnectListener({
        port,
        host,
        ...(path ? { path } : {}),
        debounceMs,
        hmacKeys,
        resolveConnections: connectionResolver(client),
        deliver: (connectionId, events) => client.connectEvents(connectionId, events),
        logger,
      });
      logger.info({ url: listener.webhookUrl, keys: hmacKeys.length }, 'connect listener listening');
      ctx.io.out(`connect listener on ${listener.webhookUrl} (${hmacKeys.length} HMAC key(s); /healthz, /metrics)`);
      await untilSignal();
      await listener.close();
    });
};
