/**
 * VMs as workloads, against a real API server and a real Pilot: `istio-lite register` and
 * `deregister` (Istio 0.2's way), WorkloadEntries applied directly (modern Istio's), and
 * WorkloadGroup auto-registration. Envoy-like ADS clients stand for a pod's sidecar and the VM's:
 * the pod's sees the VM's endpoint with its labels (a RouteRule's version subset), identity (the
 * cluster's SAN) and mTLS; the VM's sees the Kubernetes services; a removed or disconnected VM
 * leaves every client.
 */
import assert from 'node:assert/strict';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { EnvoyLikeClient } from '../../agent/testing/envoy-like-client.ts';
import { main } from '../../cli/main.ts';
import { captureIo } from '../../cli/testing/capture-io.ts';
import { applyObjects } from '../../lib/kube/apply.ts';
import type { JsonObject } from '../../lib/json.ts';
import { encodeAny } from '../../lib/xds/discovery-wire.ts';
import { anyToJson } from '../../lib/xds/json-view.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { RunningPilot } from '../../pilot/run.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';
import { ensurePilotCrds } from './pilot-crds.ts';
import { pilotReady, startKubePilot } from './pilot-support.ts';

interface SeenEndpoint {
  readonly address: string;
  readonly port: number;
  readonly tlsMode: string | undefined;
}

/** The endpoints a client holds for a cluster. */
function endpoints(c: EnvoyLikeClient, cluster: string): SeenEndpoint[] {
  const out: SeenEndpoint[] = [];
  for (const r of c.resources.get(TypeUrl.ClusterLoadAssignment)?.values() ?? []) {
    const cla = anyToJson(encodeAny(r.typeUrl, r.value)) as {
      cluster_name?: string;
      endpoints?: {
        lb_endpoints?: {
          endpoint?: { address?: { socket_address?: { address?: string; port_value?: number } } };
          metadata?: unknown;
        }[];
      }[];
    };
    if (cla.cluster_name !== cluster) continue;
    for (const l of cla.endpoints ?? []) {
      for (const e of l.lb_endpoints ?? []) {
        const a = e.endpoint?.address?.socket_address;
        const tls = /"tlsMode":"(\w+)"/.exec(JSON.stringify(e.metadata ?? {}));
        out.push({ address: a?.address ?? '', port: a?.port_value ?? 0, tlsMode: tls?.[1] });
      }
    }
  }
  return out;
}

function clusterJson(c: EnvoyLikeClient, name: string): string | undefined {
  for (const r of c.resources.get(TypeUrl.Cluster)?.values() ?? []) {
    const j = JSON.stringify(anyToJson(encodeAny(r.typeUrl, r.value)));
    if (j.includes(`"name":"${name}"`)) return j;
  }
  return undefined;
}

describe('VMs as workloads (register, WorkloadEntry, auto-registration) with Pilot', function () {
  this.timeout(90_000);
  const env = useLocalCluster({ namespacePrefix: 'vm' });
  let pilot: RunningPilot;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  const clients: EnvoyLikeClient[] = [];
  const ns = () => env.namespace;
  const host = (svc: string) => `${svc}.${ns()}.svc.cluster.local`;

  before(async () => {
    core = env.kc.makeApiClient(CoreV1Api);
    custom = env.kc.makeApiClient(CustomObjectsApi);
    await ensurePilotCrds(env.kc);
    pilot = await startKubePilot(env.kc, 0, { workloadEntryGraceMs: 1000 });
    await pilotReady(pilot);
  });

  after(async () => {
    for (const c of clients) c.close();
    await pilot.close();
  });

  function sidecar(ip: string, pod: string, metadata: Record<string, unknown> = {}) {
    const c = new EnvoyLikeClient({
      target: `127.0.0.1:${pilot.xdsPort}`,
      nodeId: `sidecar~${ip}~${pod}.${ns()}~${ns()}.svc.cluster.local`,
      metadata,
    });
    c.start();
    clients.push(c);
    return c;
  }

  async function cli(...argv: string[]) {
    const io = captureIo();
    const code = await main([...argv, '--kubeconfig', env.kubeconfig], io);
    return { code, out: io.out(), err: io.err() };
  }

  async function entries(): Promise<
    { metadata: { name: string; annotations?: Record<string, string> }; spec: JsonObject }[]
  > {
    const list = (await custom.listNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      plural: 'workloadentries',
      namespace: ns(),
    })) as {
      items: {
        metadata: { name: string; annotations?: Record<string, string> };
        spec: JsonObject;
      }[];
    };
    return list.items;
  }

  it('register: the VM is an endpoint with its labels, identity and mTLS, and a version subset reaches it', async () => {
    const r = await cli(
      'register',
      'reviews',
      '10.77.1.5',
      'http:9080',
      '-l',
      'version=v3',
      '-s',
      'reviews-vm',
      '-n',
      ns(),
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`service ${ns()}/reviews created`));
    assert.match(
      r.out,
      /10\.77\.1\.5 is an endpoint of .*labels app=reviews,version=v3, service account reviews-vm/,
    );
    const svc = await core.readNamespacedService({ name: 'reviews', namespace: ns() });
    assert.deepEqual(svc.spec?.selector, { app: 'reviews' });
    const [we] = await entries();
    assert.ok(we);
    assert.equal(we.metadata.name, 'reviews-10-77-1-5');
    assert.deepEqual(we.spec, {
      address: '10.77.1.5',
      labels: { app: 'reviews', version: 'v3' },
      ports: { http: 9080 },
      serviceAccount: 'reviews-vm',
    });

    await applyObjects(
      env.kc,
      [
        {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'RouteRule',
          metadata: { name: 'reviews-v3', namespace: ns() },
          spec: {
            destination: { name: 'reviews' },
            route: [{ labels: { version: 'v3' }, weight: 100 }],
          },
        },
      ],
      'vm-e2e',
    );
    const pod = sidecar('10.244.3.7', 'productpage-1');
    const plain = `outbound|9080||${host('reviews')}`;
    const v3 = `outbound|9080|version=v3|${host('reviews')}`;
    await eventually(
      () => {
        assert.deepEqual(endpoints(pod, plain), [
          { address: '10.77.1.5', port: 9080, tlsMode: 'istio' },
        ]);
        assert.deepEqual(endpoints(pod, v3), [
          { address: '10.77.1.5', port: 9080, tlsMode: 'istio' },
        ]);
        const c = clusterJson(pod, plain) ?? '';
        assert.ok(c.includes(`spiffe://cluster.local/ns/${ns()}/sa/reviews-vm`), c);
      },
      { timeoutMs: 15_000 },
    );
  });

  it('refuses bad input, naming it, and changes nothing', async () => {
    const before = JSON.stringify(await entries());
    const svcBefore = (await core.readNamespacedService({ name: 'reviews', namespace: ns() }))
      .metadata?.resourceVersion;
    const cases: [string[], number, RegExp][] = [
      [
        ['register', 'reviews', '10.77.1.300', 'http:9080', '-n', ns()],
        2,
        /"10\.77\.1\.300" is not an IP address/,
      ],
      [
        ['register', 'reviews', '10.77.1.6', 'http:9081', '-n', ns()],
        1,
        /port clash: service .*reviews has port http as 9080, not 9081/,
      ],
      [
        ['register', 'reviews', '10.77.1.6', 'web:9080', '-n', ns()],
        1,
        /port clash: .*port 9080 named "http", not "web"/,
      ],
      [
        ['register', 'reviews', '10.77.1.6', 'http:9080', '-n', 'no-such-ns'],
        1,
        /namespace "no-such-ns" not found/,
      ],
      [
        ['register', 'reviews', '10.77.1.6', 'http:9080', '-l', 'app=other', '-n', ns()],
        1,
        /selects app=reviews/,
      ],
      [['register', 'reviews', '10.77.1.6', 'http:0', '-n', ns()], 2, /not a port number/],
      [['register', 'reviews', '10.77.1.6', 'http:9080', '--colour', '-n', ns()], 2, /--colour/],
      [
        ['deregister', 'reviews', '10.77.1.99', '-n', ns()],
        1,
        /10\.77\.1\.99 is not registered for .*reviews/,
      ],
    ];
    for (const [argv, code, message] of cases) {
      const r = await cli(...argv);
      assert.equal(r.code, code, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, message, argv.join(' '));
    }
    assert.equal(JSON.stringify(await entries()), before);
    assert.equal(
      (await core.readNamespacedService({ name: 'reviews', namespace: ns() })).metadata
        ?.resourceVersion,
      svcBefore,
    );
  });

  it('deregister removes the VM from every client; the Service stays', async () => {
    const a = sidecar('10.244.3.8', 'productpage-2');
    const b = sidecar('10.244.3.9', 'details-1');
    const plain = `outbound|9080||${host('reviews')}`;
    await eventually(
      () => {
        for (const c of [a, b]) assert.equal(endpoints(c, plain).length, 1);
      },
      { timeoutMs: 15_000 },
    );
    const r = await cli('deregister', 'reviews', '10.77.1.5', '-n', ns());
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /workloadentry .*reviews-10-77-1-5 deleted/);
    await eventually(
      () => {
        for (const c of [a, b]) assert.deepEqual(endpoints(c, plain), []);
      },
      { timeoutMs: 15_000 },
    );
    await core.readNamespacedService({ name: 'reviews', namespace: ns() });
  });

  it('a WorkloadEntry applied directly (v1beta1) is selected by a Service as a pod is, on its named port', async () => {
    await core.createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name: 'ratings' },
        spec: {
          selector: { app: 'ratings' },
          ports: [{ name: 'http', port: 9080, targetPort: 'web' }],
        },
      },
    });
    const entry = (labels: Record<string, string>) => ({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'WorkloadEntry',
      metadata: { name: 'ratings-vm', namespace: ns() },
      spec: {
        address: '10.77.1.20',
        ports: { web: 8081 },
        labels,
        locality: 'eu/eu-1a',
        weight: 5,
      },
    });
    await applyObjects(env.kc, [entry({ app: 'ratings' })], 'vm-e2e');
    const pod = sidecar('10.244.3.10', 'reviews-1');
    const cluster = `outbound|9080||${host('ratings')}`;
    // No service account, no tlsMode label: plaintext, as to a pod without a sidecar.
    await eventually(
      () => {
        assert.deepEqual(endpoints(pod, cluster), [
          { address: '10.77.1.20', port: 8081, tlsMode: 'disabled' },
        ]);
      },
      { timeoutMs: 15_000 },
    );
    await applyObjects(env.kc, [entry({ app: 'not-ratings' })], 'vm-e2e');
    await eventually(
      () => {
        assert.deepEqual(endpoints(pod, cluster), []);
      },
      { timeoutMs: 15_000 },
    );
  });

  it('auto-registers a VM from its WorkloadGroup, keeps it through a quick reconnect, removes it after the grace period', async () => {
    await core.createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name: 'db' },
        spec: { selector: { app: 'db' }, ports: [{ name: 'mysql', port: 3306 }] },
      },
    });
    await applyObjects(
      env.kc,
      [
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'WorkloadGroup',
          metadata: { name: 'db', namespace: ns() },
          spec: {
            metadata: { labels: { app: 'db' }, annotations: { team: 'data' } },
            template: {
              labels: { version: 'v1' },
              serviceAccount: 'db-sa',
              ports: { mysql: 3306 },
            },
          },
        },
      ],
      'vm-e2e',
    );
    const pod = sidecar('10.244.3.11', 'app-1');
    const cluster = `outbound|3306||${host('db')}`;
    const vm = sidecar('10.77.2.9', 'vm-db', { AUTO_REGISTER_GROUP: 'db' });
    await eventually(
      async () => {
        const we = (await entries()).find((e) => e.metadata.name === 'db-10-77-2-9');
        assert.ok(we, 'entry created');
        const ann = we.metadata.annotations ?? {};
        assert.equal(ann['istio.io/autoRegistrationGroup'], 'db');
        assert.equal(ann['team'], 'data');
        assert.ok(ann['istio.io/connectedAt']);
        assert.ok(ann['istio.io/workloadController']);
        assert.deepEqual(we.spec, {
          address: '10.77.2.9',
          labels: { app: 'db', version: 'v1' },
          ports: { mysql: 3306 },
          serviceAccount: 'db-sa',
        });
      },
      { timeoutMs: 15_000 },
    );
    await eventually(
      () => {
        assert.deepEqual(endpoints(pod, cluster), [
          { address: '10.77.2.9', port: 3306, tlsMode: 'istio' },
        ]);
        // The VM's own sidecar gets the Kubernetes services.
        assert.ok(vm.config.get(TypeUrl.Cluster)?.includes(`outbound|9080||${host('reviews')}`));
      },
      { timeoutMs: 15_000 },
    );

    // Gone for less than the grace period: kept, and marked connected again.
    vm.close();
    const back = sidecar('10.77.2.9', 'vm-db', { AUTO_REGISTER_GROUP: 'db' });
    await new Promise((r) => setTimeout(r, 2000));
    const kept = (await entries()).find((e) => e.metadata.name === 'db-10-77-2-9');
    assert.ok(kept, 'kept through a reconnect');
    assert.equal(kept.metadata.annotations?.['istio.io/disconnectedAt'], undefined);
    assert.equal(endpoints(pod, cluster).length, 1);

    // Gone for good: marked, then removed from the API server and from every client.
    back.close();
    await eventually(
      async () => {
        const we = (await entries()).find((e) => e.metadata.name === 'db-10-77-2-9');
        assert.ok(
          we === undefined || we.metadata.annotations?.['istio.io/disconnectedAt'] !== undefined,
        );
      },
      { timeoutMs: 5000 },
    );
    await eventually(
      async () => {
        assert.equal(
          (await entries()).find((e) => e.metadata.name === 'db-10-77-2-9'),
          undefined,
        );
        assert.deepEqual(endpoints(pod, cluster), []);
      },
      { timeoutMs: 15_000 },
    );
  });

  it('a VM naming a WorkloadGroup that does not exist is served but not registered', async () => {
    const vm = sidecar('10.77.2.10', 'vm-x', { AUTO_REGISTER_GROUP: 'no-such-group' });
    await eventually(
      () => {
        assert.ok((vm.config.get(TypeUrl.Cluster) ?? []).length > 0);
      },
      { timeoutMs: 15_000 },
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(
      (await entries()).find((e) => e.metadata.name.startsWith('no-such-group')),
      undefined,
    );
  });
});
