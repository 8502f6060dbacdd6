/**
 * Emulator page benchmark: 5000 envelopes, one token, 200 timed fetches of a 100-envelope page with
 * include=recipients over loopback (the connector's incremental query), after a short warm-up. Timed with node:http
 * (keep-alive agent, body read as bytes: emulator + loopback cost) and, for comparison, with fetch (adds undici's
 * client overhead and UTF-8 decoding). Pages cycle through the whole result set, so the first pass includes
 * serializing every envelope. Prints median/p95 and writes bench/results/emulator-page.json.
 *
 *   npx tsx bench/emulator-page.ts
 */
import { generateKeyPairSync } from 'node:crypto';
import { Agent, request } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { startEmulator } from '../emulator/index';
import { percentile, round } from './sync';

const ENVELOPES = 5000;
const PAGE = 100;
const RUNS = 200;
const WARMUP = 20;

async function main(): Promise<void> {
  const emu = await startEmulator({ seed: 1, envelopes: ENVELOPES });
  try {
    const ik = '00000000-0000-4000-8000-00000000b001';
    const userId = '00000000-0000-4000-8000-00000000b002';
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    emu.registerApp(ik, publicKey.export({ type: 'spki', format: 'pem' }) as string);
    emu.addUser({ userId });
    emu.grantConsent(ik, userId);
    const account = emu.accountsOf(userId).find((a) => a.isDefault)!;

    const iat = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: 'signature impersonation' })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(ik)
      .setSubject(userId)
      .setAudience(emu.host)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 600)
      .sign(privateKey);
    const tokenRes = await fetch(`${emu.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
    });
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };

    const base = `${account.baseUri}/restapi/v2.1/accounts/${account.accountId}/envelopes`;
    const total = emu.envelopes(account.accountId).filter((e) => e.status !== 'created').length;
    const pages = Math.ceil(total / PAGE);
    const url = (i: number): string =>
      `${base}?from_date=2000-01-01T00:00:00Z&status=any&order_by=status_changed&order=asc&include=recipients` +
      `&count=${PAGE}&start_position=${(i % pages) * PAGE}`;
    const headers = { authorization: `Bearer ${token}` };

    let bytes = 0;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const viaHttp = (i: number): Promise<number> =>
      new Promise((resolve, reject) => {
        const t0 = performance.now();
        const req = request(url(i), { headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const ms = performance.now() - t0;
            const body = Buffer.concat(chunks);
            if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${body.toString().slice(0, 200)}`));
            bytes = Math.max(bytes, body.length);
            resolve(ms);
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
    const viaFetch = async (i: number): Promise<number> => {
      const t0 = performance.now();
      const res = await fetch(url(i), { headers });
      const body = await res.text();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${body.slice(0, 200)}`);
      return ms;
    };

    const measure = async (
      fetchPage: (i: number) => Promise<number>,
    ): Promise<{ samples: number[]; sorted: number[] }> => {
      emu.seedEnvelopes(account.accountId, ENVELOPES); // same data, cold serialization caches
      for (let i = 0; i < WARMUP; i++) await fetchPage(i);
      const samples: number[] = [];
      for (let i = 0; i < RUNS; i++) samples.push(await fetchPage(WARMUP + i));
      return { samples, sorted: [...samples].sort((a, b) => a - b) };
    };
    const summary = ({ samples, sorted }: { samples: number[]; sorted: number[] }) => ({
      medianMs: round(percentile(sorted, 50), 3),
      p95Ms: round(percentile(sorted, 95), 3),
      meanMs: round(samples.reduce((s, x) => s + x, 0) / samples.length, 3),
      minMs: round(sorted[0]!, 3),
      maxMs: round(sorted.at(-1)!, 3),
    });
    const http = summary(await measure(viaHttp));
    const withFetch = summary(await measure(viaFetch));
    agent.destroy();
    const result = {
      benchmark: 'emulator-page',
      measuredAt: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      envelopes: ENVELOPES,
      matchingEnvelopes: total,
      pageSize: PAGE,
      includeRecipients: true,
      warmup: WARMUP,
      runs: RUNS,
      client: 'node:http keep-alive',
      ...http,
      fetch: withFetch,
      maxPageBytes: bytes,
      pagesServed: emu.stats.pagesServed,
      targetMedianMs: 5,
    };
    console.log(
      `emulator page (${PAGE} envelopes + recipients of ${ENVELOPES}, ${bytes} bytes): ` +
        `node:http median ${http.medianMs} ms, p95 ${http.p95Ms} ms (mean ${http.meanMs}, max ${http.maxMs}); ` +
        `fetch median ${withFetch.medianMs} ms, p95 ${withFetch.p95Ms} ms`,
    );
    const dir = join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'emulator-page.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${join('bench', 'results', 'emulator-page.json')}`);
    if (result.medianMs > result.targetMedianMs) process.exitCode = 1;
  } finally {
    await emu.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
