/**
 * The two long-running HTTP services: `consent-server` (the DocuSign consent callback, client/consent-server.ts) and
 * `codec-server` (the Temporal UI's codec endpoint, client/codec-server.ts). Each runs until SIGINT or SIGTERM.
 */
import type { RegisterCommand } from './command';
import { hostOf, portOf, UsageError } from './flags';

export const consentServerCommand: RegisterCommand = (program, ctx) => {
  program
    .command('consent-server')
    .description('serve the DocuSign consent callback (GET /docusign/consent/callback) and /healthz')
    .option('--port <port>', 'port to listen on', '8787')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .action(async (flags: { port: string; host: string }) => {
      const port = portOf(flags.port);
      const host = hostOf(flags.host);
      const { logLevel, consent } = await ctx.config();
      const { createLogger } = await import('../../worker/logger.js');
      const { startConsentServer } = await import('../consent-server.js');
      const logger = createLogger({ level: logLevel, base: { service: 'docusign-connector-consent' } });
      const client = await ctx.client();
      if (!consent.stateSecret) {
        logger.warn('CONSENT_STATE_SECRET is not set: every callback is refused with 503 until it is');
      }
      const server = await startConsentServer({
        port,
        host,
        client,
        stateSecret: consent.stateSecret,
        onCallback: (event) => logger.info(event, 'consent callback'),
      });
      logger.info({ url: server.callbackUrl }, 'consent callback listening');
      ctx.io.out(`consent callback listening on ${server.callbackUrl}`);
      await untilSignal();
      await server.close();
    });
};

export const codecServerCommand: RegisterCommand = (program, ctx) => {
  program
    .command('codec-server')
    .description('serve /encode and /decode for the Temporal UI (PAYLOAD_CODEC_KEYS, optional CODEC_SERVER_TOKEN)')
    .option('--port <port>', 'port to listen on', '8888')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--allowed-origin <url...>', 'browser origin(s) of the Temporal UI', ['http://localhost:8233'])
    .action(async (flags: { port: string; host: string; allowedOrigin: string[] }) => {
      const { env } = ctx.io;
      const port = portOf(flags.port);
      const host = hostOf(flags.host);
      const origins = flags.allowedOrigin
        .flatMap((o) => o.split(','))
        .map((o) => o.trim())
        .filter(Boolean);
      for (const origin of origins) {
        if (!URL.canParse(origin) || !/^https?:$/.test(new URL(origin).protocol)) {
          throw new UsageError('--allowed-origin: must be an http(s) origin, e.g. http://localhost:8233');
        }
      }
      const keys = env.PAYLOAD_CODEC_KEYS?.trim();
      if (!keys)
        throw new UsageError('PAYLOAD_CODEC_KEYS: is required by codec-server (keyId:base64key[,keyId:base64key])');
      const { codecFromKeys } = await import('../../common/codec.js');
      let codec;
      try {
        codec = codecFromKeys(keys);
      } catch (err) {
        throw new UsageError(`PAYLOAD_CODEC_KEYS: ${(err as Error).message}`);
      }
      if (!codec) throw new UsageError('PAYLOAD_CODEC_KEYS: is required by codec-server');
      const token = env.CODEC_SERVER_TOKEN?.trim();
      const { startCodecServer } = await import('../codec-server.js');
      const server = await startCodecServer({
        port,
        host,
        codec,
        allowedOrigin: origins,
        ...(token ? { bearerToken: token } : {}),
      });
      ctx.io.out(
        `codec server listening on ${server.url} (keys ${codec.keyIds.join(', ')}; origins ${origins.join(', ')})`,
      );
      await untilSignal();
      await server.close();
    });
};

export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
