/**
 * Payload encryption (temporal-notes.md §3 "Encrypting payloads"): every payload the worker and the client send to
 * Temporal is sealed with AES-256-GCM, so workflow inputs, results, signals, memos and (with the failure converter
 * below) error messages and stack traces are ciphertext in the server's history.
 *
 * Wire format of an encrypted payload:
 *   metadata: { encoding: "binary/encrypted", "encryption-key-id": <key id>, "encryption-cipher": "AES-256-GCM" }
 *   data:     iv (12 random bytes) || ciphertext || GCM tag (16 bytes)
 * The plaintext is the WHOLE original Payload, protobuf-encoded (`temporal.api.common.v1.Payload.encode`), so its
 * metadata (e.g. `encoding: json/plain`) is hidden too. The key id is bound to the ciphertext as GCM additional data.
 *
 * Keys come from PAYLOAD_CODEC_KEYS: `keyId:base64key[,keyId:base64key...]`, each key exactly 32 bytes. The FIRST key
 * encrypts; every listed key decrypts (the payload names its key). To rotate: put the new key first and keep the old
 * ones after it until no open workflow history still needs them.
 *
 * Payloads that are not `binary/encrypted` are passed through on decode, so history written before encryption was
 * turned on stays readable. Error messages name key ids, never key material.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  METADATA_ENCODING_KEY,
  type DataConverter,
  type Payload,
  type PayloadCodec,
  ValueError,
} from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA_KEY = 'encryption-key-id';
export const CIPHER_METADATA_KEY = 'encryption-cipher';
export const CIPHER_NAME = 'AES-256-GCM';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null | undefined): string | undefined =>
  b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8') : undefined;

/** One payload encryption key. `id` is public (it is written into every payload); `key` is secret. */
export interface CodecKey {
  id: string;
  key: Buffer;
}

/** A bad PAYLOAD_CODEC_KEYS value, or a payload that cannot be decrypted. Never contains key material. */
export class PayloadCodecError extends ValueError {
  override name = 'PayloadCodecError';
}

/**
 * Parses the PAYLOAD_CODEC_KEYS format `keyId:base64key[,keyId:base64key...]`. Throws a PayloadCodecError whose
 * message names the offending entry by position (and key id when it is well-formed), never the key.
 */
export function parseCodecKeys(spec: string): CodecKey[] {
  const entries = spec
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  if (entries.length === 0) throw new PayloadCodecError('must list at least one keyId:base64key entry');
  const keys: CodecKey[] = [];
  const problems: string[] = [];
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) {
      problems.push(`${where} must be keyId:base64key`);
      return;
    }
    const id = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) {
      problems.push(`${where}: key id must be 1-64 characters of A-Z a-z 0-9 . _ -`);
      return;
    }
    if (keys.some((k) => k.id === id)) {
      problems.push(`${where}: key id '${id}' is listed twice`);
      return;
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) && !/^[A-Za-z0-9_-]+={0,2}$/.test(encoded)) {
      problems.push(`${where} (key id '${id}'): key is not base64`);
      return;
    }
    const key = Buffer.from(encoded, encoded.includes('-') || encoded.includes('_') ? 'base64url' : 'base64');
    if (key.length !== KEY_BYTES) {
      problems.push(`${where} (key id '${id}'): key must decode to ${KEY_BYTES} bytes, got ${key.length}`);
      return;
    }
    keys.push({ id, key });
  });
  if (problems.length) throw new PayloadCodecError(problems.join('; '));
  return keys;
}

export class AesGcmPayloadCodec implements PayloadCodec {
  readonly encryptionKeyId: string;
  private readonly encryptionKey: Buffer;
  private readonly keys: ReadonlyMap<string, Buffer>;

  /** `keys[0]` encrypts; every key decrypts payloads that name it. */
  constructor(keys: readonly CodecKey[]) {
    const first = keys[0];
    if (!first) throw new PayloadCodecError('AesGcmPayloadCodec needs at least one key');
    const map = new Map<string, Buffer>();
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id)) throw new PayloadCodecError(`invalid key id '${id}'`);
      if (key.length !== KEY_BYTES) throw new PayloadCodecError(`key '${id}' must be ${KEY_BYTES} bytes`);
      if (map.has(id)) throw new PayloadCodecError(`key id '${id}' is listed twice`);
      map.set(id, Buffer.from(key));
    }
    this.keys = map;
    this.encryptionKeyId = first.id;
    this.encryptionKey = map.get(first.id) as Buffer;
  }

  /** Key ids this codec can decrypt, encryption key first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encryptOne(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decryptOne(payload));
  }

  private encryptOne(payload: Payload): Payload {
    const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(utf8(this.encryptionKeyId));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA_KEY]: utf8(this.encryptionKeyId),
        [CIPHER_METADATA_KEY]: utf8(CIPHER_NAME),
      },
      data: Buffer.concat([iv, body, cipher.getAuthTag()]),
    };
  }

  private decryptOne(payload: Payload): Payload {
    if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
    const keyId = text(payload.metadata?.[KEY_ID_METADATA_KEY]);
    if (!keyId) throw new PayloadCodecError(`encrypted payload has no '${KEY_ID_METADATA_KEY}' metadata`);
    const key = this.keys.get(keyId);
    if (!key) {
      throw new PayloadCodecError(
        `payload was encrypted with unknown key id '${keyId}' (known: ${this.keyIds.join(', ')}); ` +
          `add that key to PAYLOAD_CODEC_KEYS`,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadCodecError(`encrypted payload (key id '${keyId}') is too short to be AES-GCM ciphertext`);
    }
    const iv = data.subarray(0, IV_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const body = data.subarray(IV_BYTES, data.length - TAG_BYTES);
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(utf8(keyId));
      decipher.setAuthTag(tag);
      plaintext = Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      throw new PayloadCodecError(
        `payload decryption failed with key id '${keyId}': the ciphertext was modified or the key is not the one it was encrypted with`,
      );
    }
    const inner = temporal.api.common.v1.Payload.decode(plaintext);
    const result: Payload = { metadata: inner.metadata, data: inner.data };
    if (inner.externalPayloads.length) result.externalPayloads = inner.externalPayloads;
    return result;
  }
}

/** The codec for a PAYLOAD_CODEC_KEYS value, or undefined when it is unset/blank (payloads stay plain). */
export function codecFromKeys(spec?: string): AesGcmPayloadCodec | undefined {
  if (spec === undefined || spec.trim() === '') return undefined;
  return new AesGcmPayloadCodec(parseCodecKeys(spec));
}

/**
 * Module that exports `failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true })`. In SDK 1.24
 * a failure converter can only be given by path (`DataConverter.failureConverterPath`): the worker bundles it into the
 * workflow sandbox and the client `require`s it. Pass the same path to `bundleWorkflowCode({ failureConverterPath })`
 * when pre-building a workflow bundle.
 */
export const FAILURE_CONVERTER_PATH: string = require.resolve('./failure-converter');

/**
 * The `dataConverter` option for BOTH `Worker.create` and `new Client` (and `bundleWorkflowCode`): the codec plus the
 * failure converter that moves error messages and stack traces into an (encrypted) payload. `undefined` without a
 * codec, i.e. the SDK defaults.
 */
export function dataConverterFor(codec: PayloadCodec | undefined): DataConverter | undefined {
  if (!codec) return undefined;
  return { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH };
}
