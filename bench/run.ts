/**
 * `npm run bench [-- name…]`: runs the benchmarks in bench/ one after another, each in its own process as
 * `tsx bench/<name>.ts` would (a fresh heap, its own servers). Never two at once: they measure this machine, and two
 * in parallel would measure each other. Names filter (`npm run bench -- emulator-page sync`). Each benchmark prints
 * its tables and writes bench/results/<name>.json as before; this prints a summary and exits 1 if any failed.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const available = readdirSync(__dirname)
  .filter((f) => f.endsWith('.ts') && f !== path.basename(__filename))
  .map((f) => f.slice(0, -'.ts'.length))
  .sort();

function runOne(name: string): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, `${name}.ts`)], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

async function main(): Promise<number> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !available.includes(name));
  if (unknown.length) {
    console.error(`bench: no benchmark ${unknown.join(', ')} (available: ${available.join(', ')})`);
    return 2;
  }
  const results: { name: string; code: number; seconds: number }[] = [];
  for (const name of wanted.length ? wanted : available) {
    console.log(`\n== bench/${name}.ts`);
    const started = Date.now();
    const code = await runOne(name);
    results.push({ name, code, seconds: Math.round((Date.now() - started) / 1000) });
  }
  console.log('\n== summary');
  for (const r of results) console.log(`${r.code === 0 ? 'ok    ' : 'FAILED'}  ${r.name} (${r.seconds} s)`);
  return results.some((r) => r.code !== 0) ? 1 : 0;
}

void main().then((code) => process.exit(code));
