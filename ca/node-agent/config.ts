/** `istio-lite node-agent` flags, parsed and validated once; a bad value names the flag. */
import { readFile } from 'node:fs/promises';
import { ErrorCode, IstioLiteError, errorMessage } from '../../lib/errors.ts';
import { KeyAlgorithm } from '../../lib/pki/keys.ts';
import { parseSpiffeId, spiffeId } from '../../lib/pki/spiffe.ts';
import { durationFlag, keyAlgorithmFlag, ratioFlag } from '../config.ts';
import type { CsrApiChoice } from './agent.ts';

export const nodeAgentFlags = {
  'ca-address': { type: 'string' },
  'root-cert': { type: 'string' },
  'ca-server-name': { type: 'string' },
  'cert-dir': { type: 'string' },
  identity: { type: 'string' },
  namespace: { type: 'string' },
  'service-account': { type: 'string' },
  'trust-domain': { type: 'string' },
  'token-file': { type: 'string' },
  'key-algorithm': { type: 'string' },
  ttl: { type: 'string' },
  'grace-period-ratio': { type: 'string' },
  api: { type: 'string' },
  once: { type: 'boolean' },
} as const;

export const nodeAgentHelp = [
  '      --ca-address HOST:PORT     the CA (required), e.g. istio-ca.istio-system:8060',
  '      --root-cert FILE           the mesh root, to verify the CA (required)',
  '      --ca-server-name NAME      name to verify in the CA certificate (default: the address host)',
  '      --cert-dir DIR             where cert-chain.pem, key.pem, root-cert.pem go (default /etc/certs)',
  '      --identity URI             spiffe://TD/ns/NS/sa/SA, or give the three below',
  '      --namespace NS --service-account SA [--trust-domain TD (default cluster.local)]',
  '      --token-file FILE          bearer token (bootstrap or ServiceAccount) for the first request',
  `      --key-algorithm ALG        ${KeyAlgorithm.join('|')} (default ecdsa-p256)`,
  "      --ttl D                    requested lifetime (default: the CA's)",
  '      --grace-period-ratio R     renew after this part of the lifetime (default 0.5)',
  '      --api modern|legacy        CreateCertificate (default) or 0.2 HandleCSR',
  '      --once                     get one certificate and exit',
].join('\n');

export interface NodeAgentConfig {
  readonly caAddress: string;
  readonly rootCertPem: string;
  readonly serverName?: string;
  readonly certDir: string;
  readonly identity: string;
  readonly tokenFile?: string;
  readonly keyAlgorithm: KeyAlgorithm;
  readonly ttlSeconds: number;
  readonly graceRatio: number;
  readonly api: CsrApiChoice;
  readonly once: boolean;
}

function bad(flag: string, message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.Usage, `--${flag}: ${message}`);
}

type Flags = Readonly<Record<string, unknown>>;

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export async function parseNodeAgentConfig(flags: Flags): Promise<NodeAgentConfig> {
  const caAddress = str(flags, 'ca-address');
  if (caAddress === undefined) throw bad('ca-address', 'is required');
  if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(caAddress))
    throw bad('ca-address', `"${caAddress}" is not host:port`);
  const rootFile = str(flags, 'root-cert');
  if (rootFile === undefined)
    throw bad('root-cert', 'is required (the mesh root, to verify the CA)');
  let rootCertPem: string;
  try {
    rootCertPem = await readFile(rootFile, 'utf8');
  } catch (e) {
    throw bad('root-cert', `cannot read ${rootFile}: ${errorMessage(e)}`);
  }
  let identity = str(flags, 'identity');
  if (identity !== undefined) {
    if (parseSpiffeId(identity) === undefined)
      throw bad('identity', `"${identity}" is not spiffe://TD/ns/NS/sa/SA`);
  } else {
    const namespace = str(flags, 'namespace');
    const serviceAccount = str(flags, 'service-account');
    if (namespace === undefined || serviceAccount === undefined) {
      throw bad('identity', 'give --identity, or --namespace and --service-account');
    }
    identity = spiffeId({
      trustDomain: str(flags, 'trust-domain') ?? 'cluster.local',
      namespace,
      serviceAccount,
    });
    if (parseSpiffeId(identity) === undefined)
      throw bad('namespace', `"${identity}" is not a valid identity`);
  }
  const api = str(flags, 'api') ?? 'modern';
  if (api !== 'modern' && api !== 'legacy') throw bad('api', `"${api}" must be modern or legacy`);
  const ttl = str(flags, 'ttl');
  const serverName = str(flags, 'ca-server-name');
  const tokenFile = str(flags, 'token-file');
  return {
    caAddress,
    rootCertPem,
    ...(serverName === undefined ? {} : { serverName }),
    certDir: str(flags, 'cert-dir') ?? '/etc/certs',
    identity,
    ...(tokenFile === undefined ? {} : { tokenFile }),
    keyAlgorithm: keyAlgorithmFlag(flags, 'key-algorithm'),
    ttlSeconds: ttl === undefined ? 0 : Math.round(durationFlag(flags, 'ttl', '0s') / 1000),
    graceRatio: ratioFlag(flags, 'grace-period-ratio', 0.5),
    api,
    once: flags['once'] === true,
  };
}
