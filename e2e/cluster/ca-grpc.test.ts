import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { createCaClient, type CaClient } from '../../lib/ca/client.ts';
import { NodeAgent } from '../../ca/node-agent/agent.ts';
import type { RunningCa } from '../../ca/run.ts';
import { tokenHash } from '../../ca/bootstrap-tokens.ts';
import { csrFor, opensslVerify } from '../../ca/testing/fixtures.ts';
import { createLogger } from '../../lib/log.ts';
import { createServiceAccount, startCa } from './ca-support.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';
import { grpcError } from '../../lib/testing/grpc-errors.ts';

async function saToken(
  kc: KubeConfig,
  namespace: string,
  name: string,
  audiences?: string[],
): Promise<string> {
  const res = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { expirationSeconds: 600, ...(audiences ? { audiences } : {}) } },
  });
  const token = res.status?.token;
  assert.ok(token, 'TokenRequest returned no token');
  return token;
}

describe('CA CSR service with TokenReview on a real API server', () => {
  const env = useLocalCluster({ namespacePrefix: 'ca-grpc' });
  let ca: RunningCa;
  let client: CaClient;
  const id = (sa: string) => `spiffe://cluster.local/ns/${env.namespace}/sa/${sa}`;

  before(async () => {
    ca = await startCa(env.kc, env.namespace, { 'token-audiences': 'istio-ca' });
    client = createCaClient({
      address: `localhost:${ca.grpcPort}`,
      rootCertPem: ca.authority.rootPem,
    });
    await createServiceAccount(env.kc, env.namespace, 'vm-app');
  });

  after(async () => {
    client.close();
    await ca.close();
  });

  it('issues for a ServiceAccount token the API server accepts', async () => {
    const token = await saToken(env.kc, env.namespace, 'vm-app', ['istio-ca']);
    const { csr } = await csrFor({ uris: [id('vm-app')] });
    const chain = await client.createCertificate({ csr, token });
    assert.match(opensslVerify(chain, ca.authority.rootPem), /OK/);
    assert.equal(new X509Certificate(chain[0]!).subjectAltName, `URI:${id('vm-app')}`);
    const legacy = await client.handleCsr({ csr, token });
    assert.match(opensslVerify(legacy, ca.authority.rootPem), /OK/);
  });

  it('refuses another identity with PERMISSION_DENIED', async () => {
    const token = await saToken(env.kc, env.namespace, 'vm-app', ['istio-ca']);
    const { csr } = await csrFor({ uris: [id('someone-else')] });
    await assert.rejects(
      client.createCertificate({ csr, token }),
      grpcError(status.PERMISSION_DENIED, /but the caller is .*sa\/vm-app/),
    );
  });

  it('refuses a token without the CA audience, a garbage token, and a token of a deleted ServiceAccount', async () => {
    const { csr } = await csrFor({ uris: [id('vm-app')] });
    const wrongAudience = await saToken(env.kc, env.namespace, 'vm-app', ['some-other-service']);
    await assert.rejects(
      client.createCertificate({ csr, token: wrongAudience }),
      grpcError(status.UNAUTHENTICATED, /ServiceAccount token rejected/),
    );
    await assert.rejects(
      client.createCertificate({ csr, token: 'not.a.jwt' }),
      grpcError(status.UNAUTHENTICATED, /ServiceAccount token rejected/),
    );
    await createServiceAccount(env.kc, env.namespace, 'gone');
    const orphan = await saToken(env.kc, env.namespace, 'gone', ['istio-ca']);
    await env.kc
      .makeApiClient(CoreV1Api)
      .deleteNamespacedServiceAccount({ namespace: env.namespace, name: 'gone' });
    const gone = await csrFor({ uris: [id('gone')] });
    await assert.rejects(
      client.createCertificate({ csr: gone.csr, token: orphan }),
      grpcError(status.UNAUTHENTICATED, /ServiceAccount token rejected/),
    );
  });

  it('serves the node agent with a ServiceAccount token file, then renews over mTLS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ca-grpc-agent-'));
    try {
      writeFileSync(
        join(dir, 'token'),
        await saToken(env.kc, env.namespace, 'vm-app', ['istio-ca']),
      );
      const agent = new NodeAgent({
        caAddress: `localhost:${ca.grpcPort}`,
        rootCertPem: ca.authority.rootPem,
        certDir: join(dir, 'certs'),
        identity: id('vm-app'),
        tokenFile: join(dir, 'token'),
        keyAlgorithm: 'ecdsa-p256',
        ttlSeconds: 3,
        graceRatio: 0.5,
        api: 'modern',
        logger: createLogger('node-agent-e2e', { level: 'silent' }),
      });
      const first = await agent.ensure();
      rmSync(join(dir, 'token'));
      await new Promise((r) => setTimeout(r, 1700));
      const second = await agent.ensure();
      assert.ok(second > first);
      const chain = readFileSync(join(dir, 'certs', 'cert-chain.pem'), 'utf8');
      const root = readFileSync(join(dir, 'certs', 'root-cert.pem'), 'utf8');
      assert.match(opensslVerify([chain], root), /OK/);
      const metrics = await ca.registry.metrics();
      assert.match(
        metrics,
        /citadel_server_success_cert_issuance_count\{api="CreateCertificate",auth="client_cert"\} 1\n/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('authenticates VMs with bootstrap tokens from a file, reloaded when it changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ca-grpc-tokens-'));
    const file = join(dir, 'tokens.yaml');
    const entry = (token: string) =>
      `tokens:\n  - node: vm-7\n    namespace: ${env.namespace}\n    serviceAccount: vm-app\n    sha256: ${tokenHash(token)}\n`;
    writeFileSync(file, entry('first-token'));
    const vmCa = await startCa(env.kc, env.namespace, { 'bootstrap-token-file': file });
    const vmClient = createCaClient({
      address: `localhost:${vmCa.grpcPort}`,
      rootCertPem: vmCa.authority.rootPem,
    });
    try {
      const { csr } = await csrFor({ uris: [id('vm-app')] });
      const chain = await vmClient.createCertificate({ csr, token: 'first-token' });
      assert.match(opensslVerify(chain, vmCa.authority.rootPem), /OK/);
      writeFileSync(file, entry('second-token'));
      await eventually(
        async () => {
          await assert.rejects(
            vmClient.createCertificate({ csr, token: 'first-token' }),
            grpcError(status.UNAUTHENTICATED, /ServiceAccount token rejected/),
          );
        },
        { timeoutMs: 5000, intervalMs: 200 },
      );
      await vmClient.createCertificate({ csr, token: 'second-token' });
    } finally {
      vmClient.close();
      await vmCa.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
