/**
 * Options for a connection to Temporal, shared by the worker (`NativeConnection.connect`) and every client
 * (`Connection.connect`): the address, TLS (mTLS files, CA, SNI) or a Temporal Cloud API key. The TLS files are read
 * when the options are built, so a file that cannot be read is reported before anything connects.
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';

export interface TlsFiles {
  /** mTLS client certificate (PEM): set together with `clientKeyPath`. */
  clientCertPath?: string;
  clientKeyPath?: string;
  /** SNI / host name to verify instead of the address's host. */
  serverName?: string;
  /** CA bundle (PEM) for servers whose certificate the OS does not trust. */
  caPath?: string;
}

/** Where and how to connect; the worker's config holds one (worker/config.ts). */
export interface TemporalSettings {
  address: string;
  namespace: string;
  /** Temporal Cloud API key (secret). */
  apiKey?: string;
  tls?: TlsFiles;
}

/**
 * The intersection of `NativeConnectionOptions` (@temporalio/worker) and `ConnectionOptions` (@temporalio/client)
 * that this project uses: assignable to both.
 */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

/** A TLS file named in the settings could not be read; `file` says which setting named it. */
export class TlsFileError extends Error {
  override name = 'TlsFileError';
  constructor(
    readonly file: 'clientCertPath' | 'clientKeyPath' | 'caPath',
    readonly path: string,
    readonly code: string,
  ) {
    super(`cannot read file ${path} (${code})`);
  }
}

function readTlsFile(file: TlsFileError['file'], path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsFileError(file, path, (err as NodeJS.ErrnoException).code ?? 'error');
  }
}

/**
 * Builds the options, reading the TLS files now (throws TlsFileError). With an API key TLS is on (Temporal Cloud)
 * and the `temporal-namespace` header is set.
 */
export function temporalConnectionOptions(settings: TemporalSettings): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: settings.address };
  if (settings.tls) {
    const tls: TLSConfig = {};
    const { clientCertPath, clientKeyPath, serverName, caPath } = settings.tls;
    if (clientCertPath && clientKeyPath) {
      tls.clientCertPair = {
        crt: readTlsFile('clientCertPath', clientCertPath),
        key: readTlsFile('clientKeyPath', clientKeyPath),
      };
    }
    if (serverName) tls.serverNameOverride = serverName;
    if (caPath) tls.serverRootCACertificate = readTlsFile('caPath', caPath);
    options.tls = tls;
  }
  if (settings.apiKey) {
    options.apiKey = settings.apiKey;
    options.tls ??= true;
    options.metadata = { 'temporal-namespace': settings.namespace };
  }
  return options;
}
