/**
 * Where the Temporal binaries are: the CLI (`temporal server start-dev`, the embedded dev server) and the time-skipping
 * test server. Finding them is all a running process does; installing them is `npm run tools`' job (scripts/tools.ts),
 * so a worker never pip-installs anything at run time.
 *
 * Order: TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH; the project's `.tools/bin`; `.tools/venv/bin` (npm run tools).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface TemporalTools {
  cli: string;
  testServer: string;
}

/**
 * The project (or image) root: the nearest directory above this file that holds package.json. That is one level up
 * from the sources (worker/) and two from the compiled worker (dist/worker/), which must find the same `.tools`.
 */
function projectRoot(from: string): string {
  for (let dir = from; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`no package.json above ${from}: cannot locate the project's .tools directory`);
}

export const TOOLS_DIR = path.join(projectRoot(__dirname), '.tools');

function firstExisting(candidates: (string | undefined)[]): string | undefined {
  return candidates.find((c): c is string => !!c && existsSync(c));
}

/** Each binary that exists, from the environment or the project's `.tools`. */
export function locateTemporalTools(env: NodeJS.ProcessEnv = process.env): Partial<TemporalTools> {
  const local = (name: string) => [path.join(TOOLS_DIR, 'bin', name), path.join(TOOLS_DIR, 'venv', 'bin', name)];
  return {
    cli: firstExisting([env.TEMPORAL_CLI_PATH, ...local('temporal')]),
    testServer: firstExisting([env.TEMPORAL_TEST_SERVER_PATH, ...local('temporal-test-server')]),
  };
}

/** The Temporal CLI, or one line saying how to get it. */
export function temporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  const { cli } = locateTemporalTools(env);
  if (!cli) {
    throw new Error(
      'the Temporal CLI was not found (TEMPORAL_CLI_PATH, .tools/): run `npm run tools` to install it, or set TEMPORAL_ADDRESS to use a running server',
    );
  }
  return cli;
}
