/** Test RSA key pairs, as DocuSign generates them (PKCS#1 private key) with the public half it is given (SPKI). */
import { generateKeyPairSync } from 'node:crypto';

export interface RsaKeys {
  privatePem: string;
  publicPem: string;
}

export function rsaKeys(): RsaKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
