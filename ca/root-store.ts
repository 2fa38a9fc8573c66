/**
 * Where the CA's signing material comes from, in this order (issue 4):
 *   1. files given by flags (--signing-cert, --signing-key, --root-cert, --cert-chain);
 *   2. Secret `cacerts` in the CA's namespace (bring your own CA: ca-cert.pem, ca-key.pem,
 *      root-cert.pem, cert-chain.pem);
 *   3. Secret `istio-ca-secret` (type istio.io/ca-root: ca-cert.pem, ca-key.pem), the self-signed
 *      root of an earlier start;
 *   4. a new self-signed root, created as `istio-ca-secret`. Replicas starting together race on
 *      the create: the loser gets AlreadyExists, re-reads, and uses the winner's root.
 * A restart therefore never changes the root.
 */
import { readFile } from 'node:fs/promises';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError, errorMessage } from '../lib/errors.ts';
import { isAlreadyExists, isNotFound } from '../lib/kube/client.ts';
import type { Logger } from '../lib/log.ts';
import type { KeyAlgorithm } from '../lib/pki/keys.ts';
import {
  createSelfSignedRoot,
  loadKeyCertBundle,
  type KeyCertBundle,
  type KeyCertPem,
} from './key-cert-bundle.ts';

export const CaSecret = {
  SelfSignedName: 'istio-ca-secret',
  SelfSignedType: 'istio.io/ca-root',
  PluggedName: 'cacerts',
  CaCert: 'ca-cert.pem',
  CaKey: 'ca-key.pem',
  RootCert: 'root-cert.pem',
  CertChain: 'cert-chain.pem',
} as const;

export interface SigningFiles {
  readonly signingCert: string;
  readonly signingKey: string;
  readonly rootCert?: string;
  readonly certChain?: string;
}

export interface RootStoreOptions {
  readonly core: CoreV1Api;
  /** The CA's namespace (holds istio-ca-secret and cacerts). */
  readonly namespace: string;
  readonly files?: SigningFiles;
  /** Name of the bring-your-own Secret (default cacerts). */
  readonly pluggedSecretName?: string;
  readonly selfSigned: {
    readonly keyAlgorithm: KeyAlgorithm;
    readonly ttlMs: number;
    readonly org: string;
  };
  readonly logger: Logger;
}

export interface LoadedRoot {
  readonly bundle: KeyCertBundle;
  /** Where it came from, for logs: `flags`, `Secret ns/cacerts`, … */
  readonly source: string;
  /** True when this process created the self-signed root. */
  readonly created: boolean;
}

function decode(secret: V1Secret, key: string): string | undefined {
  const v = secret.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

export function pemFromSecret(secret: V1Secret, where: string): KeyCertPem {
  const caCertPem = decode(secret, CaSecret.CaCert);
  const caKeyPem = decode(secret, CaSecret.CaKey);
  if (caCertPem === undefined || caKeyPem === undefined) {
    throw new IstioLiteError(
      ErrorCode.InvalidConfig,
      `${where}: must hold ${CaSecret.CaCert} and ${CaSecret.CaKey}`,
    );
  }
  const rootCertPem = decode(secret, CaSecret.RootCert);
  const certChainPem = decode(secret, CaSecret.CertChain);
  return {
    caCertPem,
    caKeyPem,
    ...(rootCertPem === undefined ? {} : { rootCertPem }),
    ...(certChainPem === undefined ? {} : { certChainPem }),
  };
}

async function readSecret(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ namespace, name });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw new IstioLiteError(
      ErrorCode.External,
      `reading Secret ${namespace}/${name}: ${errorMessage(e)}`,
      { cause: e },
    );
  }
}

async function readFileFlag(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new IstioLiteError(
      ErrorCode.InvalidConfig,
      `--${flag}: cannot read ${path}: ${errorMessage(e)}`,
      { cause: e },
    );
  }
}

async function fromFiles(files: SigningFiles): Promise<KeyCertPem> {
  const caCertPem = await readFileFlag(files.signingCert, 'signing-cert');
  const caKeyPem = await readFileFlag(files.signingKey, 'signing-key');
  const rootCertPem =
    files.rootCert === undefined ? undefined : await readFileFlag(files.rootCert, 'root-cert');
  const certChainPem =
    files.certChain === undefined ? undefined : await readFileFlag(files.certChain, 'cert-chain');
  return {
    caCertPem,
    caKeyPem,
    ...(rootCertPem === undefined ? {} : { rootCertPem }),
    ...(certChainPem === undefined ? {} : { certChainPem }),
  };
}

export async function loadRoot(opts: RootStoreOptions): Promise<LoadedRoot> {
  const { core, namespace, logger } = opts;
  if (opts.files) {
    const source = 'flags --signing-cert/--signing-key';
    return {
      bundle: loadKeyCertBundle(await fromFiles(opts.files), source),
      source,
      created: false,
    };
  }
  const plugged = opts.pluggedSecretName ?? CaSecret.PluggedName;
  const byo = await readSecret(core, namespace, plugged);
  if (byo) {
    const source = `Secret ${namespace}/${plugged}`;
    return {
      bundle: loadKeyCertBundle(pemFromSecret(byo, source), source),
      source,
      created: false,
    };
  }
  const source = `Secret ${namespace}/${CaSecret.SelfSignedName}`;
  const existing = await readSecret(core, namespace, CaSecret.SelfSignedName);
  if (existing)
    return {
      bundle: loadKeyCertBundle(pemFromSecret(existing, source), source),
      source,
      created: false,
    };

  const pem = await createSelfSignedRoot(opts.selfSigned);
  const body: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: CaSecret.SelfSignedName, namespace },
    type: CaSecret.SelfSignedType,
    data: {
      [CaSecret.CaCert]: Buffer.from(pem.caCertPem).toString('base64'),
      [CaSecret.CaKey]: Buffer.from(pem.caKeyPem).toString('base64'),
    },
  };
  try {
    await core.createNamespacedSecret({ namespace, body });
    logger.info({ secret: source }, 'created a new self-signed root');
    return { bundle: loadKeyCertBundle(pem, source), source, created: true };
  } catch (e) {
    if (!isAlreadyExists(e)) {
      throw new IstioLiteError(ErrorCode.External, `creating ${source}: ${errorMessage(e)}`, {
        cause: e,
      });
    }
    // Another replica created it first: use its root.
    const winner = await readSecret(core, namespace, CaSecret.SelfSignedName);
    if (!winner)
      throw new IstioLiteError(ErrorCode.External, `${source} vanished after AlreadyExists`);
    logger.info({ secret: source }, 'another replica created the root first; using it');
    return {
      bundle: loadKeyCertBundle(pemFromSecret(winner, source), source),
      source,
      created: false,
    };
  }
}
