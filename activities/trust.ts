/**
 * The trust policy: which private keys the connector may sign with, and which hosts may receive a JWT assertion or a
 * bearer token. The one place these rules live; the worker config, the key loader, the token service, the DocuSign
 * client, the activities, the doctor and the CLI all call it.
 *
 *   keys   `file:` references must resolve, after realpath (no symlink or `..` escape), inside DOCUSIGN_KEYS_DIR;
 *          `env:` references must name a variable that starts with DOCUSIGN_KEY_ENV_PREFIX.
 *   OAuth  https://account-d.docusign.com for demo, https://account.docusign.com for production; any other OAuth base
 *          URL only when DOCUSIGN_ALLOWED_HOSTS lists its host:port (then plain http is accepted too).
 *   REST   a base URI (userinfo `base_uri`, envelope-list URLs) must be https on *.docusign.net / *.docusign.com, or
 *          a host:port listed in DOCUSIGN_ALLOWED_HOSTS (http or https).
 *
 * Rule messages name the rule and the setting, never a secret.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { OAUTH_BASE_URLS, type ConnectionConfig } from '../workflows/config';

export const DEFAULT_KEYS_DIR = './keys';
export const DEFAULT_KEY_ENV_PREFIX = 'DOCUSIGN_KEY_';

export interface TrustPolicy {
  /** Absolute path: `file:` key references must resolve inside it. */
  keysDir: string;
  /** `env:` key references must name a variable with this prefix. */
  keyEnvPrefix: string;
  /** Normalised `host:port` entries trusted for OAuth and REST, over http or https. */
  allowedHosts: readonly string[];
}

/**
 * A policy with the defaults filled in: a relative `keysDir` resolves against the working directory, `allowedHosts`
 * entries are normalised (throws on a bad one, as parseAllowedHosts).
 */
export function trustPolicyOf(settings: Partial<TrustPolicy> = {}): TrustPolicy {
  return {
    keysDir: path.resolve(settings.keysDir ?? DEFAULT_KEYS_DIR),
    keyEnvPrefix: settings.keyEnvPrefix ?? DEFAULT_KEY_ENV_PREFIX,
    allowedHosts: parseAllowedHosts(settings.allowedHosts?.join(',') ?? ''),
  };
}

// ---- settings (validated by worker/config.ts, one line per variable) ----

export const KEYS_DIR_RULE = 'must be a directory path other than the filesystem root';
export const isKeysDir = (dir: string): boolean =>
  !dir.includes('\0') && path.parse(path.resolve(dir)).root !== path.resolve(dir);

export const KEY_ENV_PREFIX_RULE = 'must be the start of an environment variable name (letters, digits, _)';
export const isKeyEnvPrefix = (prefix: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix);

export const ALLOWED_HOSTS_RULE = 'must be a comma list of host:port, e.g. 127.0.0.1:4010,emulator:4010';
const HOST_PORT_ENTRY = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Parses DOCUSIGN_ALLOWED_HOSTS into normalised `host:port` entries; throws naming the first bad entry. */
export function parseAllowedHosts(list: string): string[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = HOST_PORT_ENTRY.exec(entry);
      const port = Number(m?.[2]);
      if (!m || port < 1 || port > 65535 || !URL.canParse(`http://${entry}`)) {
        throw new Error(`entry '${entry}': ${ALLOWED_HOSTS_RULE}`);
      }
      return `${new URL(`http://${entry}`).hostname}:${port}`;
    });
}

// ---- private key references ----

/** A key reference that breaks the policy. */
export class KeyRefViolation extends Error {
  override name = 'KeyRefViolation';
}

const isInside = (file: string, dir: string): boolean => {
  const rel = path.relative(dir, file);
  return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
};

/** The rule `ref` breaks as written (unprefixed variable, a path or `..` leading out of the keys directory), if any. */
export function keyRefViolation(
  ref: string,
  policy: Pick<TrustPolicy, 'keysDir' | 'keyEnvPrefix'>,
): string | undefined {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    return name.startsWith(policy.keyEnvPrefix) && name.length > policy.keyEnvPrefix.length
      ? undefined
      : `must name an environment variable starting with ${policy.keyEnvPrefix} (DOCUSIGN_KEY_ENV_PREFIX)`;
  }
  if (ref.startsWith('file:')) {
    return isInside(path.resolve(ref.slice(5)), policy.keysDir)
      ? undefined
      : `must be a file inside ${policy.keysDir} (DOCUSIGN_KEYS_DIR)`;
  }
  return "must start with 'file:' or 'env:'";
}

/**
 * The real path of a key file once symlinks are followed (read that path, not the given one), after checking it is
 * still inside the keys directory. Throws KeyRefViolation for an escape; file-system errors (ENOENT…) propagate.
 */
export async function resolveKeyFile(file: string, keysDir: string): Promise<string> {
  const [real, realDir] = await Promise.all([realpath(file), realpath(keysDir)]);
  if (!isInside(real, realDir)) {
    throw new KeyRefViolation(`resolves outside ${keysDir} (DOCUSIGN_KEYS_DIR) through a symlink`);
  }
  return real;
}

// ---- hosts ----

const DOCUSIGN_REST_DOMAINS = ['.docusign.net', '.docusign.com'];

/** `host:port` with the scheme's default port filled in, as DOCUSIGN_ALLOWED_HOSTS entries are written. */
function hostPortOf(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

function parsed(url: string): URL | undefined {
  const u = URL.canParse(url) ? new URL(url) : undefined;
  return u && /^https?:$/.test(u.protocol) ? u : undefined;
}

const isAllowed = (u: URL, policy: Pick<TrustPolicy, 'allowedHosts'>): boolean =>
  policy.allowedHosts.includes(hostPortOf(u));

/**
 * Why `url` may not receive a JWT assertion or an OAuth call for a connection in `environment` (any DocuSign
 * environment when undefined), or undefined when it may.
 */
export function oauthUrlViolation(
  url: string,
  environment: ConnectionConfig['environment'] | undefined,
  policy: Pick<TrustPolicy, 'allowedHosts'>,
): string | undefined {
  const u = parsed(url);
  if (!u) return `${url} is not an http(s) URL`;
  if (isAllowed(u, policy)) return undefined;
  const expected = environment ? [OAUTH_BASE_URLS[environment]] : Object.values(OAUTH_BASE_URLS);
  if (expected.some((e) => new URL(e).origin === u.origin)) return undefined;
  const uses = environment
    ? `a ${environment} connection uses ${OAUTH_BASE_URLS[environment]}`
    : `DocuSign's OAuth hosts are ${expected.join(' and ')}`;
  return `${u.origin} is not a trusted OAuth host: ${uses}; any other host must be listed as host:port in DOCUSIGN_ALLOWED_HOSTS`;
}

/** Why `url` may not receive a bearer token for a REST call (userinfo `base_uri` and below), or undefined. */
export function restUrlViolation(url: string, policy: Pick<TrustPolicy, 'allowedHosts'>): string | undefined {
  const u = parsed(url);
  if (!u) return `${url} is not an http(s) URL`;
  if (isAllowed(u, policy)) return undefined;
  if (u.protocol === 'https:' && DOCUSIGN_REST_DOMAINS.some((d) => u.hostname.endsWith(d))) return undefined;
  return `${u.origin} is not a trusted REST host: must be https on *.docusign.net or *.docusign.com, or a host:port listed in DOCUSIGN_ALLOWED_HOSTS`;
}
