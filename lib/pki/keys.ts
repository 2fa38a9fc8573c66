/**
 * Key pairs and signatures with node:crypto (native; ECDSA P-256 signs in ~25 µs). One list of
 * supported algorithms; the signature algorithm follows from the signing key.
 */
import { generateKeyPair, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { Oid } from './oids.ts';

export const KeyAlgorithm = [
  'ecdsa-p256',
  'ecdsa-p384',
  'rsa-2048',
  'rsa-3072',
  'rsa-4096',
] as const;
export type KeyAlgorithm = (typeof KeyAlgorithm)[number];

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function isKeyAlgorithm(s: string): s is KeyAlgorithm {
  return (KeyAlgorithm as readonly string[]).includes(s);
}

function rsaBits(alg: KeyAlgorithm): number | undefined {
  switch (alg) {
    case 'rsa-2048':
      return 2048;
    case 'rsa-3072':
      return 3072;
    case 'rsa-4096':
      return 4096;
    case 'ecdsa-p256':
    case 'ecdsa-p384':
      return undefined;
  }
}

function curve(alg: KeyAlgorithm): string {
  return alg === 'ecdsa-p384' ? 'P-384' : 'P-256';
}

/** A new key pair. RSA generation takes ~100 ms, so it runs off the event loop. */
export async function generateKeys(alg: KeyAlgorithm): Promise<KeyPair> {
  const bits = rsaBits(alg);
  if (bits === undefined) return generateKeysSync(alg);
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: bits }, (err, publicKey, privateKey) => {
      if (err) reject(err);
      else resolve({ publicKey, privateKey });
    });
  });
}

export function generateKeysSync(alg: KeyAlgorithm): KeyPair {
  const bits = rsaBits(alg);
  return bits === undefined
    ? generateKeyPairSync('ec', { namedCurve: curve(alg) })
    : generateKeyPairSync('rsa', { modulusLength: bits });
}

/** What a public key is, for policy checks and messages. */
export type KeyDescription =
  | { readonly type: 'ec'; readonly curve: string }
  | { readonly type: 'rsa'; readonly bits: number }
  | { readonly type: 'other'; readonly name: string };

export function describeKey(key: KeyObject): KeyDescription {
  const d = key.asymmetricKeyDetails;
  const t = key.asymmetricKeyType;
  if (t === 'ec') return { type: 'ec', curve: d?.namedCurve ?? 'unknown' };
  if (t === 'rsa') return { type: 'rsa', bits: d?.modulusLength ?? 0 };
  return { type: 'other', name: t ?? 'unknown' };
}

export function keyText(d: KeyDescription): string {
  switch (d.type) {
    case 'ec':
      return `ECDSA ${d.curve}`;
    case 'rsa':
      return `RSA ${d.bits}`;
    case 'other':
      return d.name;
  }
}

export interface SignatureAlgorithm {
  /** The hash passed to node:crypto sign/verify. */
  readonly hash: 'sha256' | 'sha384';
  /** The signature algorithm's OID, as named in a certificate or request. */
  readonly oid: string;
  /** Its AlgorithmIdentifier carries NULL parameters (RSA, RFC 4055) rather than none (ECDSA, RFC 5758). */
  readonly nullParameters: boolean;
}

export const ecdsaSha256: SignatureAlgorithm = {
  hash: 'sha256',
  oid: Oid.ecdsaWithSha256,
  nullParameters: false,
};
const ecdsaSha384: SignatureAlgorithm = {
  hash: 'sha384',
  oid: Oid.ecdsaWithSha384,
  nullParameters: false,
};
const rsaSha256: SignatureAlgorithm = {
  hash: 'sha256',
  oid: Oid.sha256WithRsaEncryption,
  nullParameters: true,
};

/** The signature algorithm a private key signs with: ECDSA with the curve's hash, RSA PKCS#1 v1.5 SHA-256. */
export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm {
  const d = describeKey(key);
  switch (d.type) {
    case 'ec':
      if (d.curve === 'prime256v1' || d.curve === 'P-256') return ecdsaSha256;
      if (d.curve === 'secp384r1' || d.curve === 'P-384') return ecdsaSha384;
      throw new Error(`unsupported signing curve ${d.curve}`);
    case 'rsa':
      return rsaSha256;
    case 'other':
      throw new Error(`unsupported signing key type ${d.name}`);
  }
}

/** Hashes for verifying a signature named by `oid`; undefined when istio-lite does not accept it. */
export function hashForSignatureOid(sigOid: string): 'sha256' | 'sha384' | undefined {
  switch (sigOid) {
    case Oid.ecdsaWithSha256:
    case Oid.sha256WithRsaEncryption:
      return 'sha256';
    case Oid.ecdsaWithSha384:
    case Oid.sha384WithRsaEncryption:
      return 'sha384';
    default:
      return undefined;
  }
}

/** Signs `data` (DER) with `key`; ECDSA signatures come DER-encoded, as X.509 wants. */
export function signDer(data: Buffer, key: KeyObject, alg: SignatureAlgorithm): Buffer {
  return sign(alg.hash, data, key);
}

export function spkiDer(publicKey: KeyObject): Buffer {
  return publicKey.export({ type: 'spki', format: 'der' });
}
