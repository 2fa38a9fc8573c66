/**
 * Router-mode SDS serves Ingress TLS Secrets: a real gRPC SDS client asks the agent's SDS server
 * (over its Unix socket) for `kubernetes://<ns>/<name>`; the Secret is created afterwards in a
 * real API server, arrives as an Envoy tls_certificate, and a change to it is pushed on the open
 * stream. A missing Secret is not served (the stream waits). The source is loaded on the first
 * request for such a name, as router mode does (agent/sds/lazy-secrets.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import type {
  CertificateSource,
  WorkloadCertificate,
} from '../../agent/certs/certificate-source.ts';
import { LocalGrpcServer } from '../../agent/grpc/local-server.ts';
import { SdsService } from '../../agent/grpc/raw-service.ts';
import { KubeSecretSource } from '../../agent/sds/kube-secrets.ts';
import { LazySecretSource } from '../../agent/sds/lazy-secrets.ts';
import { SdsServer } from '../../agent/sds/sds-server.ts';
import { loadAgentProtos } from '../../agent/testing/envoy-protos.ts';
import { SdsTestClient, decodeSecrets, secretRequest } from '../../agent/testing/sds-client.ts';
import { testLeaf, testRoot } from '../../agent/testing/workload-certs.ts';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { createRegistry } from '../../lib/metrics.ts';
import { useLocalCluster } from './local-cluster.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

/** A gateway whose workload certificate has not come yet: Ingress secrets must not wait for it. */
const noCertificate: CertificateSource = {
  start: () => new Promise<WorkloadCertificate>(() => undefined),
  current: () => undefined,
  onChange: () => undefined,
  close: () => undefined,
};

const decode = decodeSecrets;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const request = (names: string[], nonce = ''): Buffer =>
  secretRequest(names, {
    nodeId: 'router~10.1.0.9~istio-ingress-1.istio-system~istio-system.svc.cluster.local',
    nonce,
  });

describe('agent router SDS serves kubernetes://<ns>/<name> TLS Secrets (real API server)', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'sds-kube' });
  let dir: string;
  let kube: KubeSecretSource;
  let sds: SdsServer;
  let server: LocalGrpcServer;
  let client: SdsTestClient;
  const open = () => client.stream();

  before(async () => {
    loadAgentProtos();
    dir = mkdtempSync(join(tmpdir(), 'agent-sds-kube-'));
    // As the agent loads it from --kubeconfig, on the first request for such a name.
    kube = new KubeSecretSource({ kubeConfig: () => loadKubeConfig(env.kubeconfig), logger });
    const k = kube;
    sds = new SdsServer({
      source: noCertificate,
      logger,
      metrics: createRegistry('agent', false),
      secrets: new LazySecretSource({
        handles: (n) => k.handles(n),
        logger,
        load: () => Promise.resolve(k),
      }),
    });
    server = new LocalGrpcServer();
    server.add(SdsService, sds.handlers());
    const socket = join(dir, 'SDS');
    await server.bind(socket);
    client = new SdsTestClient(`unix:${socket}`);
  });

  after(async () => {
    client.close();
    sds.close();
    await kube.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits for the Secret, serves its tls.crt/tls.key, and pushes its change', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const ns = env.namespace;
    const root = testRoot();
    const one = testLeaf(root, ns, 'ingress-one');
    const two = testLeaf(root, ns, 'ingress-two');
    const name = `kubernetes://${ns}/shop-tls`;

    const a = open();
    a.call.write(request([name]));
    await a.q.none(1000); // no such Secret yet: nothing is served

    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'shop-tls' },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': b64(one.chainPem), 'tls.key': b64(one.keyPem) },
      },
    });
    const first = decode(await a.q.next(10_000));
    assert.deepEqual(first.secrets, [{ name, tls: { chain: one.chainPem, key: one.keyPem } }]);
    a.call.write(request([name], first.nonce)); // ACK
    await a.q.none(300);

    await core.replaceNamespacedSecret({
      name: 'shop-tls',
      namespace: ns,
      body: {
        metadata: { name: 'shop-tls' },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': b64(two.chainPem), 'tls.key': b64(two.keyPem) },
      },
    });
    const next = decode(await a.q.next(10_000));
    assert.deepEqual(next.secrets, [{ name, tls: { chain: two.chainPem, key: two.keyPem } }]);
    a.call.write(request([name], next.nonce));
    a.call.end();
  });

  it('serves a generic Secret with cert/key; a name of another shape or namespace waits', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const ns = env.namespace;
    const leaf = testLeaf(testRoot(), ns, 'generic');
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'generic-tls' },
        data: { cert: b64(leaf.chainPem), key: b64(leaf.keyPem) },
      },
    });
    const name = `kubernetes://${ns}/generic-tls`;
    const b = open();
    b.call.write(request([name, 'kubernetes://bad', `kubernetes://${ns}-missing/generic-tls`]));
    const got = decode(await b.q.next(10_000));
    assert.deepEqual(got.secrets, [{ name, tls: { chain: leaf.chainPem, key: leaf.keyPem } }]);
    b.call.end();
  });
});
