/**
 * The agent gets its certificate by CSR from the real CA (ca/run.ts on a real API server) with a
 * real ServiceAccount token (TokenRequest, checked by TokenReview), and serves it to Envoy over
 * SDS: a real gRPC client on the SDS socket gets a chain for the pod's SPIFFE identity that
 * verifies against the CA's root, and the root as ROOTCA.
 */
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { parseAgentConfig } from '../../agent/settings.ts';
import { runAgent, type RunningAgent } from '../../agent/run.ts';
import { loadAgentProtos } from '../../agent/testing/envoy-protos.ts';
import { SdsTestClient, secretRequest } from '../../agent/testing/sds-client.ts';
import type { RunningCa } from '../../ca/run.ts';
import { createServiceAccount, startCa } from './ca-support.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';

describe('agent certificates by CSR to the real CA', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'agent-ca' });
  let ca: RunningCa;
  let agent: RunningAgent | undefined;
  let dir: string;

  before(async () => {
    loadAgentProtos();
    dir = mkdtempSync(join(tmpdir(), 'agent-ca-'));
    ca = await startCa(env.kc, env.namespace, { 'token-audiences': 'istio-ca' });
    await createServiceAccount(env.kc, env.namespace, 'reviews');
  });

  after(async () => {
    await agent?.shutdown('test over');
    await ca.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves over SDS a certificate the CA issued for the pod identity', async () => {
    const res = await env.kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      namespace: env.namespace,
      name: 'reviews',
      body: { spec: { audiences: ['istio-ca'], expirationSeconds: 600 } },
    });
    writeFileSync(join(dir, 'token'), res.status?.token ?? '');
    writeFileSync(join(dir, 'root-cert.pem'), ca.authority.rootPem);
    const config = parseAgentConfig(
      'sidecar',
      {
        configPath: join(dir, 'proxy'),
        startEnvoy: 'false',
        statusPort: '0',
        readinessPort: '0',
        discoveryAddress: '127.0.0.1:1',
        caAddress: `localhost:${ca.grpcPort}`,
        caRootCertPath: join(dir, 'root-cert.pem'),
        caTokenPath: join(dir, 'token'),
        certTtl: '1h',
      },
      {
        POD_NAME: 'reviews-1',
        POD_NAMESPACE: env.namespace,
        INSTANCE_IP: '127.0.0.1',
        SERVICE_ACCOUNT: 'reviews',
      },
    );
    agent = await runAgent({
      config,
      logger: pino({ level: process.env['LOG_LEVEL'] ?? 'silent' }),
      listenHost: '127.0.0.1',
    });
    const running = agent;
    await eventually(() => {
      assert.ok(
        !running.readiness.reasons().some((r) => r.startsWith('certificate')),
        running.readiness.reasons().join(),
      );
    });
    const sdsClient = new SdsTestClient(`unix:${config.sockets.sds}`);
    const { secrets } = await sdsClient.fetch(secretRequest(['default', 'ROOTCA'])).finally(() => {
      sdsClient.close();
    });
    const def = secrets[0]!;
    const root = secrets[1]!;
    assert.equal(def.name, 'default');
    const leaf = new X509Certificate(def.tls?.chain ?? '');
    assert.equal(leaf.subjectAltName, `URI:spiffe://cluster.local/ns/${env.namespace}/sa/reviews`);
    assert.ok(
      leaf.verify(new X509Certificate(ca.authority.rootPem).publicKey),
      'signed by the CA root',
    );
    assert.ok(leaf.checkPrivateKey(createPrivateKey(def.tls?.key ?? '')));
    const hours =
      (new Date(leaf.validTo).getTime() - new Date(leaf.validFrom).getTime()) / 3_600_000;
    // 1 h asked (not the CA default of 24 h); the CA backdates notBefore a little for clock skew.
    assert.ok(hours > 0.9 && hours < 1.1, `the requested lifetime (1h), got ${hours.toFixed(2)} h`);
    assert.equal(root.name, 'ROOTCA');
    assert.equal(root.root, ca.authority.rootPem);
  });

  it('starts before the root is mounted, and asks the CA once it appears', async () => {
    const late = join(dir, 'late');
    const res = await env.kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      namespace: env.namespace,
      name: 'reviews',
      body: { spec: { audiences: ['istio-ca'], expirationSeconds: 600 } },
    });
    writeFileSync(join(dir, 'token-late'), res.status?.token ?? '');
    const config = parseAgentConfig(
      'sidecar',
      {
        configPath: late,
        startEnvoy: 'false',
        statusPort: '0',
        readinessPort: '0',
        discoveryAddress: '127.0.0.1:1',
        caAddress: `localhost:${ca.grpcPort}`,
        caRootCertPath: join(late, 'root-cert.pem'),
        caTokenPath: join(dir, 'token-late'),
      },
      {
        POD_NAME: 'reviews-2',
        POD_NAMESPACE: env.namespace,
        INSTANCE_IP: '127.0.0.1',
        SERVICE_ACCOUNT: 'reviews',
      },
    );
    const running = await runAgent({
      config,
      logger: pino({ level: process.env['LOG_LEVEL'] ?? 'silent' }),
      listenHost: '127.0.0.1',
    });
    try {
      assert.ok(running.readiness.reasons().some((r) => r.startsWith('certificate')));
      writeFileSync(join(late, 'root-cert.pem'), ca.authority.rootPem);
      await eventually(
        () => {
          assert.ok(
            !running.readiness.reasons().some((r) => r.startsWith('certificate')),
            running.readiness.reasons().join(),
          );
        },
        { timeoutMs: 15_000 },
      );
    } finally {
      await running.shutdown('test over');
    }
  });
});
