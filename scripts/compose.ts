/**
 * docker-compose.yml as data: its services' images, environments, commands, ports and volumes, with `${VAR}`
 * interpolated the way `docker compose` does. `npm run stack` runs the same services from it without Docker
 * (scripts/stack.ts), and test/compose.test.ts checks the file and the stack against each other with it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const ROOT = path.resolve(__dirname, '..');
export const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  ports?: (string | number | { published?: string | number; target?: number; host_ip?: string })[];
  stop_grace_period?: string;
}

export interface Compose {
  text: string;
  services: Record<string, ComposeService>;
}

export function readCompose(file = COMPOSE_FILE): Compose {
  const text = readFileSync(file, 'utf8');
  return { text, services: (parse(text, { merge: true }) as { services: Record<string, ComposeService> }).services };
}

export function service(compose: Compose, name: string): ComposeService {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

/** The tag of a service's image (`temporalio/server:1.31.0` → `1.31.0`); '' when it has none. */
export function imageTag(s: ComposeService): string {
  const image = s.image ?? '';
  return image.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : '';
}

/**
 * Compose interpolation: `$$` is a literal `$`; `${VAR}` / `$VAR`; `${VAR:-default}` (unset or empty) and
 * `${VAR-default}` (unset); `${VAR:?message}` / `${VAR?message}` fail with the message.
 */
export function interpolate(text: string, vars: NodeJS.ProcessEnv): string {
  return text.replace(
    /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, body: string, name?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
      if (body === '$') return '$';
      const key = (name ?? bare)!;
      const value = vars[key];
      const missing = value === undefined || (colon === ':' && value === '');
      if (!missing) return value;
      if (op === '-') return arg ?? '';
      if (op === '?') throw new Error(`${key}: ${arg || 'required'}`);
      return '';
    },
  );
}

/** A service's environment as written (uninterpolated), `KEY: value` and `KEY=value` forms alike. */
export function rawEnv(s: ComposeService): Record<string, string> {
  if (!s.environment) return {};
  if (Array.isArray(s.environment)) {
    return Object.fromEntries(
      s.environment.map((e) => (e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, ''])),
    );
  }
  return Object.fromEntries(Object.entries(s.environment).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** A service's environment interpolated against `vars` (the operator's environment). */
export function serviceEnv(s: ComposeService, vars: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(rawEnv(s)).map(([k, v]) => [k, interpolate(v, vars)]));
}

export function dependsOn(s: ComposeService): string[] {
  if (!s.depends_on) return [];
  return Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on);
}

export interface PublishedPort {
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

/** Published host ports of a service. */
export function published(s: ComposeService): PublishedPort[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object') {
      return { hostIp: p.host_ip ?? '0.0.0.0', hostPort: Number(p.published), containerPort: Number(p.target) };
    }
    const parts = String(p).split(':');
    const containerPort = Number(parts.pop());
    const hostPort = Number(parts.pop() ?? containerPort);
    return { hostIp: parts.pop() ?? '0.0.0.0', hostPort, containerPort };
  });
}

const asArgs = (v: string | string[] | undefined): string[] => (!v ? [] : Array.isArray(v) ? v : v.split(/\s+/));
export const commandArgs = (s: ComposeService): string[] => asArgs(s.command);
export const entrypointArgs = (s: ComposeService): string[] => asArgs(s.entrypoint);

/** The value after `name` in an argument list. */
export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export interface Mount {
  source: string;
  target: string;
  mode: string;
}

/** `source:target[:mode]` bind mounts (the source may itself hold `:` inside `${VAR:-default}`), interpolated. */
export function mounts(s: ComposeService, vars: NodeJS.ProcessEnv): Mount[] {
  return (s.volumes ?? []).flatMap((v) => {
    const m = /^(.*?):(\/[^:]*)(?::(ro|rw))?$/.exec(v);
    return m ? [{ source: interpolate(m[1]!, vars), target: m[2]!, mode: m[3] ?? 'rw' }] : [];
  });
}

/** Compose durations as used here (`45s`, `1m30s`) in milliseconds; undefined stays undefined. */
export function durationMs(text: string | undefined): number | undefined {
  if (!text) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h)/g)) {
    ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  }
  return ms;
}
