/** A CA gRPC server on loopback for tests and benchmarks: bootstrap tokens, no Kubernetes. */
import { createLogger } from '../../lib/log.ts';
import { createRegistry, type Registry } from '../../lib/metrics.ts';
import { createAuthenticator } from '../authn.ts';
import type { CertificateAuthority } from '../authority.ts';
import { parseBootstrapTokens, tokenHash } from '../bootstrap-tokens.ts';
import { startCaGrpcServer, type CaGrpcServer } from '../grpc-server.ts';
import { createCaMetrics } from '../metrics.ts';
import { issueServingCert } from '../serving-cert.ts';
import type { TokenReviewer } from '../token-review.ts';
import { day } from './fixtures.ts';

export interface TestToken {
  readonly token: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export async function startTestCaServer(opts: {
  readonly authority: CertificateAuthority;
  readonly tokens?: readonly TestToken[];
  readonly tokenReviewer?: TokenReviewer;
  readonly port?: number;
}): Promise<{ server: CaGrpcServer; registry: Registry; address: string }> {
  const registry = createRegistry('ca_test', false);
  const yaml = `tokens:\n${(opts.tokens ?? [])
    .map(
      (t, i) =>
        `  - node: node-${i}\n    namespace: ${t.namespace}\n    serviceAccount: ${t.serviceAccount}\n    sha256: ${tokenHash(t.token)}\n`,
    )
    .join('')}`;
  const tokens = parseBootstrapTokens(
    (opts.tokens ?? []).length > 0 ? yaml : 'tokens: []\n',
    'test',
  );
  const server = await startCaGrpcServer(
    {
      authority: opts.authority,
      authenticate: createAuthenticator({
        trustDomain: 'cluster.local',
        bootstrapTokens: () => tokens,
        ...(opts.tokenReviewer ? { tokenReviewer: opts.tokenReviewer } : {}),
      }),
      metrics: createCaMetrics(registry),
      logger: createLogger('ca-test', { level: 'silent' }),
      tls: issueServingCert(opts.authority, ['localhost', '127.0.0.1'], day).tls,
    },
    opts.port ?? 0,
    '127.0.0.1',
  );
  return { server, registry, address: `localhost:${server.port}` };
}
