/**
 * The dependency rules in eslint.config.mjs fail `npm run lint` on a reversed import, a product import of test/, an
 * emulator that borrows connector code, and an import cycle: each fixture in test/fixtures/lint (kept as .ts.txt so
 * the real lint and typecheck never see it) is linted as if it lived where its `lint-as` line says, and must fail
 * with the rule it breaks. The same import from the demo, the one product module allowed to run the emulator, passes.
 */
import { ESLint } from 'eslint';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import tseslint from 'typescript-eslint';

const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.join(__dirname, 'fixtures', 'lint');
// Type information is not needed by the import rules, and a fixture is not part of the TypeScript project.
const eslint = new ESLint({ cwd: ROOT, overrideConfig: [tseslint.configs.disableTypeChecked] });

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, filePath) });
  return (result?.messages ?? []).map((m) => m.ruleId ?? `parse error: ${m.message}`);
}

describe('eslint: dependencies point one way', () => {
  const placed = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.ts.txt'))
    .map((f) => ({ name: f, code: readFileSync(path.join(FIXTURES, f), 'utf8') }))
    .filter((f) => /^\/\/ lint-as: /.test(f.code));

  test('fixtures exist', () => assert.ok(placed.length >= 6, `${placed.length} fixtures`));

  for (const fixture of placed) {
    test(fixture.name, async () => {
      const as = /^\/\/ lint-as: (\S+)/.exec(fixture.code)![1]!;
      assert.deepEqual(await ruleIds(fixture.code, as), ['import-x/no-restricted-paths']);
    });
  }

  test('the demo may run the emulator; the same import elsewhere in client/ may not', async () => {
    const code = "import { startEmulator } from '../emulator';\nexport const emulator = startEmulator;\n";
    assert.deepEqual(await ruleIds(code, 'client/demo.ts'), []);
    assert.deepEqual(await ruleIds(code, 'client/lint-fixture.ts'), ['import-x/no-restricted-paths']);
  });

  test('an import cycle fails import-x/no-cycle', async () => {
    // no-cycle follows real files: the pair is written to a throwaway folder inside the project for the run.
    const dir = mkdtempSync(path.join(__dirname, 'lint-cycle-'));
    try {
      for (const name of ['cycle-a', 'cycle-b']) {
        writeFileSync(path.join(dir, `${name}.ts`), readFileSync(path.join(FIXTURES, `${name}.ts.txt`)));
      }
      const [result] = await eslint.lintFiles([path.join(dir, 'cycle-a.ts')]);
      assert.deepEqual(
        result?.messages.map((m) => m.ruleId),
        ['import-x/no-cycle'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
