/** `istio-lite node-agent` options, parsed and validated once; a bad value names the flag. */
import { readFile } from 'node:fs/promises';
import { option, usageError, type OptionValues } from '../../lib/config/options.ts';
import { errorMessage, type IstioLiteError } from '../../lib/errors.ts';
import { KeyAlgorithm } from '../../lib/pki/keys.ts';
import { parseSpiffeId, spiffeId } from '../../lib/pki/spiffe.ts';
import type { NodeAgentOptions } from './agent.ts';

export const nodeAgentOptions = {
  'ca-address': option.hostPort('the CA (required), e.g. istio-ca.istio-system:8060'),
  'root-cert': option.string('the mesh root, to verify the CA (required)', { placeholder: 'FILE' }),
  'ca-server-name': option.string(
    'name to verify in the CA certificate (default: the address host)',
    {
      placeholder: 'NAME',
    },
  ),
  'cert-dir': option.text('/etc/certs', 'where cert-chain.pem, key.pem, root-cert.pem go', {
    placeholder: 'DIR',
  }),
  identity: option.string('spiffe://TD/ns/NS/sa/SA, or give --namespace and --service-account', {
    placeholder: 'URI',
  }),
  namespace: option.string("the workload's namespace", { placeholder: 'NS' }),
  'service-account': option.string("the workload's service account", { placeholder: 'SA' }),
  'trust-domain': option.text('cluster.local', 'trust domain of the identity', {
    placeholder: 'TD',
  }),
  'token-file': option.string('bearer token (bootstrap or ServiceAccount) for the first request', {
    placeholder: 'FILE',
  }),
  'key-algorithm': option.oneOf(KeyAlgorithm, 'ecdsa-p256', 'key of the certificate'),
  ttl: option.optionalDuration("requested lifetime (default: the CA's)", { minMs: 1000 }),
  'grace-period-ratio': option.ratio(0.5, 'renew after this part of the lifetime'),
  api: option.oneOf(['modern', 'legacy'], 'modern', 'CreateCertificate, or 0.2 HandleCSR'),
  once: option.flag('get one certificate and exit'),
};

/** What the node agent runs with (its logger comes from the command), and whether to stop after one. */
export type NodeAgentConfig = Omit<NodeAgentOptions, 'logger'> & { readonly once: boolean };

function bad(flag: string, message: string): IstioLiteError {
  return usageError(`--${flag}: ${message}`);
}

export async function parseNodeAgentConfig(
  v: OptionValues<typeof nodeAgentOptions>,
): Promise<NodeAgentConfig> {
  const caAddress = v['ca-address'];
  if (caAddress === undefined) throw bad('ca-address', 'is required');
  const rootFile = v['root-cert'];
  if (rootFile === undefined)
    throw bad('root-cert', 'is required (the mesh root, to verify the CA)');
  let rootCertPem: string;
  try {
    rootCertPem = await readFile(rootFile, 'utf8');
  } catch (e) {
    throw bad('root-cert', `cannot read ${rootFile}: ${errorMessage(e)}`);
  }
  let identity = v.identity;
  if (identity !== undefined) {
    if (parseSpiffeId(identity) === undefined)
      throw bad('identity', `"${identity}" is not spiffe://TD/ns/NS/sa/SA`);
  } else {
    const namespace = v.namespace;
    const serviceAccount = v['service-account'];
    if (namespace === undefined || serviceAccount === undefined) {
      throw bad('identity', 'give --identity, or --namespace and --service-account');
    }
    identity = spiffeId({ trustDomain: v['trust-domain'], namespace, serviceAccount });
    if (parseSpiffeId(identity) === undefined)
      throw bad('namespace', `"${identity}" is not a valid identity`);
  }
  const serverName = v['ca-server-name'];
  const tokenFile = v['token-file'];
  return {
    caAddress,
    rootCertPem,
    ...(serverName === undefined ? {} : { serverName }),
    certDir: v['cert-dir'],
    identity,
    ...(tokenFile === undefined ? {} : { tokenFile }),
    keyAlgorithm: v['key-algorithm'],
    ttlSeconds: Math.round((v.ttl ?? 0) / 1000),
    graceRatio: v['grace-period-ratio'],
    api: v.api,
    once: v.once,
  };
}
