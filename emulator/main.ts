/**
 * Standalone DocuSign emulator.
 *
 *   npx tsx emulator/main.ts --port 4010 --envelopes 5000
 *   npx tsx emulator/main.ts --integration-key <GUID> --public-key ./public.pem --user-id <GUID> --consent
 *   npx tsx emulator/main.ts --users 10000 --groups 200 --group-members 50 --profiles 20   # a large account
 *
 * Without --user-id a user with a seed-derived ID is created, so the emulator is usable at once. Keys can also be
 * registered later over HTTP (POST /__admin/apps); see the printed instructions and admin.ts.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stableGuid } from './prng';
import { startEmulator } from './index';

const HELP = `Usage: npx tsx emulator/main.ts [options]
  --port N                 port on 127.0.0.1 (default 4010; 0 = random)
  --envelopes N            envelopes per account (default 200)
  --seed N                 data seed (default 1)
  --token-lifetime S       expires_in of access tokens (default 3600)
  --max-page-size N        count cap of list endpoints (default 100)
  --rate-limit-status S    400 or 429 for exhausted API limits (default 400)
  --hourly-limit N         hourly API calls per account (default 3000)
  --burst-limit N          API calls per 30 s per account (default 500)
  --consent-mode M         approve | deny for GET /oauth/auth (default approve)
  --user-id GUID           the user to create (default: derived from the seed)
  --user-name NAME         its display name
  --user-email EMAIL       its email
  --integration-key GUID   register this integration key ...
  --public-key FILE        ... with this RSA public key (PEM, SPKI or PKCS#1)
  --consent                grant consent for (integration key, user) at start
  --users N                the default account's generated users (default 12), plus the user above
  --groups N               its groups, Administrators and Everyone included (default 5)
  --group-members N        mean members of its custom groups (default 30% of --users)
  --profiles N             its permission profiles, the 3 built-in ones included (default 3)
  -h, --help               this text`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4010' },
      envelopes: { type: 'string', default: '200' },
      seed: { type: 'string', default: '1' },
      'token-lifetime': { type: 'string', default: '3600' },
      'max-page-size': { type: 'string', default: '100' },
      'rate-limit-status': { type: 'string', default: '400' },
      'hourly-limit': { type: 'string', default: '3000' },
      'burst-limit': { type: 'string', default: '500' },
      'consent-mode': { type: 'string', default: 'approve' },
      'user-id': { type: 'string' },
      'user-name': { type: 'string' },
      'user-email': { type: 'string' },
      'integration-key': { type: 'string' },
      'public-key': { type: 'string' },
      consent: { type: 'boolean', default: false },
      users: { type: 'string' },
      groups: { type: 'string' },
      'group-members': { type: 'string' },
      profiles: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const int = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
  const status = int('rate-limit-status', values['rate-limit-status'], 400);
  if (status !== 400 && status !== 429) throw new Error('--rate-limit-status must be 400 or 429');
  const consentMode = values['consent-mode'];
  if (consentMode !== 'approve' && consentMode !== 'deny') throw new Error('--consent-mode must be approve or deny');
  if ((values['integration-key'] === undefined) !== (values['public-key'] === undefined)) {
    throw new Error('--integration-key and --public-key go together');
  }
  const seed = int('seed', values.seed, 0);

  const emu = await startEmulator({
    port: int('port', values.port, 0),
    seed,
    envelopes: int('envelopes', values.envelopes, 0),
    tokenLifetimeSeconds: int('token-lifetime', values['token-lifetime'], 1),
    maxPageSize: int('max-page-size', values['max-page-size'], 1),
    rateLimit: {
      status,
      hourlyLimit: int('hourly-limit', values['hourly-limit'], 0),
      burstLimit: int('burst-limit', values['burst-limit'], 0),
    },
    consentMode,
  });

  const userId = values['user-id'] ?? stableGuid(seed, 'standalone-user');
  emu.addUser({ userId, name: values['user-name'], email: values['user-email'] });
  const optional = (name: string, v: string | undefined, min: number): number | undefined =>
    v === undefined ? undefined : int(name, v, min);
  const size = {
    users: optional('users', values.users, 0),
    groups: optional('groups', values.groups, 2),
    groupMembers: optional('group-members', values['group-members'], 1),
    profiles: optional('profiles', values.profiles, 3),
  };
  if (Object.values(size).some((v) => v !== undefined)) {
    emu.seedDirectory(emu.accountsOf(userId).find((a) => a.isDefault)!.accountId, size);
  }
  const ik = values['integration-key'];
  if (ik !== undefined && values['public-key'] !== undefined) {
    emu.registerApp(ik, readFileSync(values['public-key'], 'utf8'));
    if (values.consent) emu.grantConsent(ik, userId);
  }

  const accounts = emu.accountsOf(userId);
  console.log(`DocuSign emulator listening on ${emu.url}`);
  console.log(`  OAuth base URL      ${emu.url}   (JWT aud = "${emu.host}")`);
  console.log(
    `  worker setting      DOCUSIGN_ALLOWED_HOSTS=${emu.host}   (the connector trusts only DocuSign's hosts otherwise)`,
  );
  console.log(`  token               POST ${emu.url}/oauth/token`);
  console.log(
    `  consent             GET  ${emu.url}/oauth/auth?response_type=code&scope=signature%20impersonation&client_id=<IK>&redirect_uri=<URL>`,
  );
  console.log(`  userinfo            GET  ${emu.url}/oauth/userinfo`);
  console.log(`  user                ${userId}`);
  for (const a of accounts) {
    const dir = emu.directory(a.accountId);
    console.log(`  account             ${a.accountId} "${a.accountName}"${a.isDefault ? ' (default)' : ''}`);
    console.log(
      `                      ${dir.users.length} users, ${dir.groups.length} groups, ${dir.permissionProfiles.length} permission profiles`,
    );
    console.log(
      `                      REST ${a.baseUri}/restapi/v2.1/accounts/${a.accountId}/envelopes  (${emu.envelopes(a.accountId).length} envelopes)`,
    );
  }
  console.log(`  control API         ${emu.url}/__admin/info , /__admin/stats , /__admin/faults/{name}`);
  if (ik === undefined) {
    console.log('\nRegister your integration key and public key, then grant consent:');
    console.log(`  curl -s -X POST ${emu.url}/__admin/apps -H 'content-type: application/json' \\`);
    console.log(
      `    -d "$(jq -n --arg ik <INTEGRATION_KEY> --rawfile pem public.pem '{integrationKey:$ik, publicKeyPem:$pem}')"`,
    );
    console.log(`  curl -s -X POST ${emu.url}/__admin/consent -H 'content-type: application/json' \\`);
    console.log(`    -d '{"integrationKey":"<INTEGRATION_KEY>","userId":"${userId}"}'`);
  } else {
    console.log(
      `\nIntegration key ${ik} registered; consent ${values.consent ? 'granted' : `not granted (open the consent URL or POST ${emu.url}/__admin/consent)`}.`,
    );
  }

  const shutdown = (): void => {
    emu.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(`emulator: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
