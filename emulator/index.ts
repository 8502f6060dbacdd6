/**
 * DocuSign emulator: a real HTTP server on 127.0.0.1 that behaves like DocuSign's OAuth service and eSignature
 * REST API as described in ../shared/docs/docusign-api.md, for tests, benchmarks and the demo.
 *
 *   const emu = await startEmulator({ seed: 1, envelopes: 200 });
 *   emu.registerApp(integrationKey, publicKeyPem);
 *   emu.addUser({ userId });               // two accounts: default in na3, another in eu
 *   emu.grantConsent(integrationKey, userId);
 *   emu.seedDirectory(accountId, { users: 10_000, groups: 200, groupMembers: 50, profiles: 20 });   // optional
 *   // connector: oauthBaseUrl = emu.url, JWT aud = emu.host, REST base = userinfo base_uri + '/restapi'
 *   emu.setConnect({ url: listenerUrl, hmacKeys: [secret] });   // optional: Connect events of envelope changes
 *   await emu.connectSettled();                                  // every queued event delivered or failed
 *   await emu.stop();
 *
 * server.ts documents the request pipeline and the choices made where the docs are silent; errors.ts holds every
 * REST error body; oauth.ts the JWT checks; directory.ts the users, groups and profiles and their changes; connect.ts
 * the Connect events; admin.ts the /__admin HTTP control API. This code shares nothing with the connector's DocuSign
 * client.
 */
import { installAdmin } from './admin';
import { EmulatorServer } from './server';
import type { Emulator, EmulatorOptions } from './types';

export type {
  AccountSpec,
  AccountSummary,
  AccountUserSpec,
  ConnectConfig,
  ConnectEventName,
  ConnectFailure,
  DirectorySize,
  DirectoryTruth,
  Emulator,
  EmulatorFaults,
  EmulatorOptions,
  EmulatorStats,
  EnvelopeLike,
  EnvelopeSpec,
  RateLimitOptions,
  SigningGroupMemberSpec,
  TemplateTruth,
  UserSpec,
  UserStatus,
} from './types';
export { CONNECT_EVENTS } from './connect';
export { ENDPOINTS } from './server';
export {
  USER_AUTHENTICATION_FAILED,
  USER_LACKS_MEMBERSHIP,
  USER_LACKS_MEMBERSHIP_ERROR_CODE,
  WRONG_BASE_URI,
  WRONG_BASE_URI_ERROR_CODE,
  MISSING_FROM_DATE,
  ENVELOPE_POLLING_LIMIT,
} from './errors';
export { JWT_BEARER_GRANT } from './oauth';
export { DOCUSIGN_TS_PATTERN, ZONELESS_TS_PATTERN } from './time';

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const server = new EmulatorServer(opts);
  installAdmin(server);
  await server.listen(opts.port ?? 0);
  return server;
}
