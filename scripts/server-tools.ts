/**
 * The production Temporal server for `npm run stack` and the production tests, built with Go from the module proxy
 * (no Docker engine and no GitHub release download here, but the Go module proxy is reachable): the server and
 * temporal-sql-tool of go.temporal.io/server, and the Web UI server of github.com/temporalio/ui-server/v2, at the
 * versions docker-compose.yml's images pin (test/compose.test.ts keeps them equal).
 *
 * A cold build takes ~11 min of CPU (30 min wall on a busy 2-core machine), so it is built once per MACHINE, outside
 * any clone, and reused by every clone and CI run:
 *
 *   ${XDG_CACHE_HOME:-~/.cache}/docusign-connector/
 *     temporal-server-v<server>/bin/temporal-server, bin/temporal-sql-tool, schema/postgresql/v12/ (from the module)
 *     temporal-ui-server-v<ui>/bin/ui-server, config/docker.yaml (the config template the temporalio/ui image runs)
 *
 * Each piece is built only when missing, into a temporary name renamed into place, so an interrupted build leaves
 * nothing half-written. `npm run tools -- --server` provisions and prints the paths.
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** temporalio/server and temporalio/admin-tools in docker-compose.yml. */
export const TEMPORAL_SERVER_VERSION = '1.31.0';
/** temporalio/ui in docker-compose.yml. v2.58 needs a newer Go and modules the proxy refuses; v2.54.1 builds. */
export const TEMPORAL_UI_VERSION = '2.54.1';

const SERVER_MODULE = 'go.temporal.io/server';
const UI_MODULE = 'github.com/temporalio/ui-server/v2';

export interface ServerTools {
  /** `temporal-server start` (the temporalio/server image's binary and entrypoint). */
  server: string;
  /** temporal-sql-tool (the temporalio/admin-tools image's). */
  sqlTool: string;
  /** The module's schema/postgresql/v12 (the admin-tools image's /etc/temporal/schema/postgresql/v12). */
  schemaDir: string;
  /** The Web UI server; run with `--root uiRoot --env docker start` like the temporalio/ui image. */
  uiServer: string;
  /** Holds config/docker.yaml, the UI image's env-driven config template. */
  uiRoot: string;
}

export function serverToolsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME?.trim() || path.join(homedir(), '.cache'), 'docusign-connector');
}

function paths(env: NodeJS.ProcessEnv = process.env): ServerTools {
  const serverDir = path.join(serverToolsCacheDir(env), `temporal-server-v${TEMPORAL_SERVER_VERSION}`);
  const uiRoot = path.join(serverToolsCacheDir(env), `temporal-ui-server-v${TEMPORAL_UI_VERSION}`);
  return {
    server: path.join(serverDir, 'bin', 'temporal-server'),
    sqlTool: path.join(serverDir, 'bin', 'temporal-sql-tool'),
    schemaDir: path.join(serverDir, 'schema', 'postgresql', 'v12'),
    uiServer: path.join(uiRoot, 'bin', 'ui-server'),
    uiRoot,
  };
}

/** The provisioned tools, or undefined when any piece is missing (the production tests then say so and skip). */
export function locateServerTools(env: NodeJS.ProcessEnv = process.env): ServerTools | undefined {
  const found = paths(env);
  const pieces = [found.server, found.sqlTool, found.schemaDir, found.uiServer, path.join(found.uiRoot, 'config')];
  return pieces.every((p) => existsSync(p)) ? found : undefined;
}

export const NOT_PROVISIONED = `the production Temporal server v${TEMPORAL_SERVER_VERSION} is not provisioned: run \`npm run tools -- --server\` (builds it with Go once per machine)`;

const go = (args: string[], options: ExecFileSyncOptions = {}) =>
  execFileSync('go', args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });

/** Where the Go module cache holds `module@version` (downloading it if needed). */
function moduleDir(module: string, version: string): string {
  const info = JSON.parse(go(['mod', 'download', '-json', `${module}@v${version}`]).toString()) as { Dir?: string };
  if (!info.Dir) throw new Error(`go mod download ${module}@v${version} named no directory`);
  return info.Dir;
}

/** Creates `target` through `make(tmp)`, which writes `tmp/<basename of target>`, renamed into place when complete. */
function provide(target: string, make: (tmp: string) => void): void {
  if (existsSync(target)) return;
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = mkdtempSync(path.join(path.dirname(target), '.tmp-'));
  try {
    make(tmp);
    renameSync(path.join(tmp, path.basename(target)), target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * `go install`s `module/cmd@version` for each command into a GOBIN of its own (the server and the UI both name their
 * binary `server`), then moves each binary to its target path.
 */
function goInstall(env: NodeJS.ProcessEnv, module: string, version: string, targets: Record<string, string>): void {
  const missing = Object.entries(targets).filter(([, target]) => !existsSync(target));
  if (!missing.length) return;
  mkdirSync(serverToolsCacheDir(env), { recursive: true });
  const gobin = mkdtempSync(path.join(serverToolsCacheDir(env), '.gobin-'));
  try {
    go(['install', ...missing.map(([cmd]) => `${module}/${cmd}@v${version}`)], { env: { ...env, GOBIN: gobin } });
    for (const [cmd, target] of missing) {
      provide(target, (tmp) => renameSync(path.join(gobin, path.basename(cmd)), path.join(tmp, path.basename(target))));
    }
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
}

/** Copies a file or directory out of the (read-only) module cache, writable so the cache can be deleted normally. */
function copyWritable(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
  const walk = (p: string) => {
    const isDir = statSync(p).isDirectory();
    chmodSync(p, isDir ? 0o755 : 0o644);
    if (isDir) for (const name of readdirSync(p)) walk(path.join(p, name));
  };
  walk(to);
}

/** Returns the tools, building what is missing with Go. Throws one line naming what to install when Go is missing. */
export function ensureServerTools(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  env: NodeJS.ProcessEnv = process.env,
): ServerTools {
  const want = paths(env);
  if (locateServerTools(env)) return want;
  try {
    go(['version']);
  } catch {
    throw new Error(
      `Go is not installed: install Go 1.21 or newer (https://go.dev/dl or apt-get install golang-go; it fetches the Go toolchain the modules need) to build the Temporal server v${TEMPORAL_SERVER_VERSION} and UI v${TEMPORAL_UI_VERSION}`,
    );
  }
  log(`building what is missing under ${serverToolsCacheDir(env)} with Go (from a cold Go cache: ~11 min CPU)`);
  goInstall(env, SERVER_MODULE, TEMPORAL_SERVER_VERSION, { 'cmd/server': want.server, 'cmd/tools/sql': want.sqlTool });
  provide(want.schemaDir, (tmp) =>
    copyWritable(
      path.join(moduleDir(SERVER_MODULE, TEMPORAL_SERVER_VERSION), 'schema', 'postgresql', 'v12'),
      path.join(tmp, 'v12'),
    ),
  );
  goInstall(env, UI_MODULE, TEMPORAL_UI_VERSION, { 'cmd/server': want.uiServer });
  // Only the template the temporalio/ui image copies in: with --env docker the UI reads config/docker.yaml alone.
  const uiConfig = path.join(want.uiRoot, 'config');
  provide(uiConfig, (tmp) => {
    mkdirSync(path.join(tmp, 'config'));
    copyWritable(
      path.join(moduleDir(UI_MODULE, TEMPORAL_UI_VERSION), 'config', 'docker.yaml'),
      path.join(tmp, 'config', 'docker.yaml'),
    );
  });
  return want;
}
