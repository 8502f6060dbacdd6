/**
 * Resolves `privateKeyRef` ('file:<absolute path>' | 'env:<VAR>') to an RSA private KeyObject, reading only what the
 * trust policy allows (trust.ts: files inside DOCUSIGN_KEYS_DIR, variables with DOCUSIGN_KEY_ENV_PREFIX).
 * Accepts PKCS#1 (`BEGIN RSA PRIVATE KEY`, what DocuSign's "Generate RSA" gives) and PKCS#8 (`BEGIN PRIVATE KEY`).
 * Every failure is a `private_key_unavailable` error whose message names the reference and the rule, never key bytes.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConnectorError } from './errors';
import { KeyRefViolation, keyRefViolation, resolveKeyFile, type TrustPolicy } from './trust';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/;
const ACCEPTED_LABELS = ['RSA PRIVATE KEY', 'PRIVATE KEY'];

function unavailable(ref: string, rule: string): ConnectorError {
  return new ConnectorError('private_key_unavailable', `privateKeyRef ${ref}: ${rule}`);
}

async function readRef(ref: string, trust: TrustPolicy, env: NodeJS.ProcessEnv): Promise<string> {
  const violation = keyRefViolation(ref, trust);
  if (violation) throw unavailable(ref, violation);
  if (ref.startsWith('env:')) {
    const value = env[ref.slice(4)];
    if (!value) throw unavailable(ref, 'environment variable is not set on the worker');
    // Env vars often carry PEMs with literal "\n" sequences.
    return value.includes('\\n') && !value.includes('\n') ? value.replace(/\\n/g, '\n') : value;
  }
  try {
    return await readFile(await resolveKeyFile(ref.slice(5), trust.keysDir), 'utf8');
  } catch (err) {
    if (err instanceof KeyRefViolation) throw unavailable(ref, err.message);
    throw unavailable(ref, `file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export async function loadPrivateKey(
  ref: string,
  trust: TrustPolicy,
  env: NodeJS.ProcessEnv = process.env,
): Promise<KeyObject> {
  const text = await readRef(ref, trust, env);
  const block = PEM_BLOCK.exec(text);
  if (!block) throw unavailable(ref, 'is not a complete PEM block (BEGIN/END lines missing or truncated)');
  const label = block[1] ?? '';
  if (label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(block[0])) {
    throw unavailable(ref, 'is an encrypted key; give the connector the unencrypted RSA private key');
  }
  if (!ACCEPTED_LABELS.includes(label)) {
    throw unavailable(ref, `has PEM label '${label}'; expected 'RSA PRIVATE KEY' (PKCS#1) or 'PRIVATE KEY' (PKCS#8)`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block[0], format: 'pem' });
  } catch {
    throw unavailable(ref, 'PEM body does not parse as a private key (truncated or corrupted)');
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw unavailable(
      ref,
      `is a ${key.asymmetricKeyType ?? 'non-RSA'} key; DocuSign JWT Grant needs an RSA key (RS256)`,
    );
  }
  return key;
}
