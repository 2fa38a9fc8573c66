/**
 * Ingresses and EgressRules through a real API server: an Ingress of class istio becomes the
 * ingress gateway's listeners and routes (one of another class does not), an Ingress that cannot
 * be applied gets a Warning Event and a /debug/configz line, Ingresses Pilot serves show the
 * gateway Service's load-balancer address, and an EgressRule reaches sidecars and says Applied in
 * its status.
 */
import assert from 'node:assert/strict';
import {
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  type V1Ingress,
} from '@kubernetes/client-node';
import type { RunningPilot } from '../../pilot/run.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';
import { ensurePilotCrds } from './pilot-crds.ts';
import { startKubePilot } from './pilot-support.ts';
import { runPod } from './pods.ts';

type Json = Record<string, unknown>;

describe('pilot gateways: Ingress and EgressRule from the API server', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'gateways' });
  let pilot: RunningPilot;
  let gatewayIp = '';
  const ns = () => env.namespace;

  async function snapshot(proxy: string, type: string): Promise<Json[]> {
    const q = `/debug/configz?proxy=${encodeURIComponent(proxy)}&type=${type}`;
    const body = (await (await fetch(`http://127.0.0.1:${pilot.httpPort}${q}`)).json()) as {
      resources: Record<string, Json[]>;
    };
    return body.resources[type] ?? [];
  }

  function ing(name: string, backend: string, extra: Partial<V1Ingress['spec']> = {}): V1Ingress {
    return {
      metadata: { name },
      spec: {
        ingressClassName: 'istio',
        rules: [
          {
            host: `${name}.example.com`,
            http: {
              paths: [
                {
                  path: '/api',
                  pathType: 'Prefix',
                  backend: { service: { name: backend, port: { number: 9080 } } },
                },
              ],
            },
          },
        ],
        ...extra,
      },
    };
  }

  before(async () => {
    await ensurePilotCrds(env.kc);
    pilot = await startKubePilot(env.kc);
    const core = env.kc.makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: ns(),
      body: { metadata: { name: 'reviews' }, spec: { ports: [{ name: 'http', port: 9080 }] } },
    });
    await core.createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name: 'istio-ingress' },
        spec: {
          type: 'LoadBalancer',
          selector: { istio: 'ingress' },
          ports: [
            { name: 'http', port: 80, targetPort: 8080 },
            { name: 'https', port: 443, targetPort: 8443 },
          ],
        },
      },
    });
    // The ingress gateway pod, run by the scheduler and kwok; Kubernetes writes its slice.
    const gw = await runPod(env.kc, ns(), {
      metadata: { name: 'istio-ingress-1', labels: { app: 'istio-ingress', istio: 'ingress' } },
      spec: { containers: [{ name: 'istio-proxy', image: 'proxy:1' }] },
    });
    gatewayIp = gw.status?.podIP ?? '';
    const net = env.kc.makeApiClient(NetworkingV1Api);
    await net.createNamespacedIngress({
      namespace: ns(),
      body: ing('shop', 'reviews', {
        tls: [{ hosts: ['shop.example.com'], secretName: 'shop-cert' }],
      }),
    });
    const nginx = ing('other', 'reviews');
    nginx.metadata = { name: 'other', annotations: { 'kubernetes.io/ingress.class': 'nginx' } };
    delete nginx.spec?.ingressClassName;
    await net.createNamespacedIngress({ namespace: ns(), body: nginx });
    await net.createNamespacedIngress({ namespace: ns(), body: ing('broken', 'nope') });
  });

  after(async () => {
    await pilot.close();
  });

  const gateway = () => `router~${gatewayIp}~istio-ingress-1.${ns()}~${ns()}.svc.cluster.local`;

  it('an Ingress of class istio becomes the ingress gateway listeners and routes', async () => {
    await eventually(async () => {
      const lds = (await snapshot(gateway(), 'LDS')).map((l) => l['name']);
      assert.deepEqual(lds, ['ingress_8080', 'ingress_8443']);
      const rds = await snapshot(gateway(), 'RDS');
      const hosts = (rds[0]?.['virtual_hosts'] as Json[] | undefined)?.map((h) => h['name']);
      assert.deepEqual(hosts, ['shop.example.com'], 'not the nginx one, nor the broken one');
    });
  });

  it('an Ingress that cannot be applied gets a Warning Event and a configz line', async () => {
    await eventually(async () => {
      const configz = (await (
        await fetch(`http://127.0.0.1:${pilot.httpPort}/debug/configz`)
      ).json()) as { config: { problems: string[] } };
      assert.ok(
        configz.config.problems.includes(
          `Ingress/${ns()}/broken: UnknownBackend: backend nope.${ns()}.svc.cluster.local is not a known service`,
        ),
        configz.config.problems.join('\n'),
      );
      const events = await env.kc.makeApiClient(CoreV1Api).listNamespacedEvent({
        namespace: ns(),
        fieldSelector: 'involvedObject.name=broken,involvedObject.kind=Ingress',
      });
      assert.ok(events.items.some((e) => e.reason === 'RuleNotApplied'));
    });
  });

  it("an Ingress of class istio shows the gateway Service's load-balancer address", async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const net = env.kc.makeApiClient(NetworkingV1Api);
    const setLb = async (ip: string) => {
      // What a cloud controller writes (no load balancer here): the Service's status.
      const svc = await core.readNamespacedService({ name: 'istio-ingress', namespace: ns() });
      svc.status = { loadBalancer: { ingress: [{ ip }] } };
      await core.replaceNamespacedServiceStatus({
        name: 'istio-ingress',
        namespace: ns(),
        body: svc,
      });
    };
    const addresses = async (name: string) =>
      (
        await net.readNamespacedIngress({ name, namespace: ns() })
      ).status?.loadBalancer?.ingress?.map((i) => i.ip);
    await setLb('203.0.113.10');
    await eventually(async () => {
      assert.deepEqual(await addresses('shop'), ['203.0.113.10']);
    });
    await setLb('203.0.113.20');
    await eventually(async () => {
      assert.deepEqual(await addresses('shop'), ['203.0.113.20'], 'follows the Service');
    });
    assert.equal(await addresses('other'), undefined, 'an nginx Ingress is not ours to touch');
  });

  it('an EgressRule reaches sidecars, and says so in its status', async () => {
    const custom = env.kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: 'config.istio.io',
      version: 'v1alpha2',
      namespace: ns(),
      plural: 'egressrules',
      body: {
        apiVersion: 'config.istio.io/v1alpha2',
        kind: 'EgressRule',
        metadata: { name: 'foo' },
        spec: { destination: { service: 'api.foo.com' }, ports: [{ port: 80, protocol: 'http' }] },
      },
    });
    const sidecar = `sidecar~10.77.0.9~app-1.${ns()}~${ns()}.svc.cluster.local`;
    await eventually(async () => {
      const rds = await snapshot(sidecar, 'RDS');
      const rc = rds.find((r) => r['name'] === '80');
      const vh = (rc?.['virtual_hosts'] as Json[] | undefined)?.find(
        (h) => h['name'] === 'api.foo.com:80',
      );
      assert.ok(vh, JSON.stringify(rc));
      const obj = (await custom.getNamespacedCustomObject({
        group: 'config.istio.io',
        version: 'v1alpha2',
        namespace: ns(),
        plural: 'egressrules',
        name: 'foo',
      })) as { status?: { conditions?: Json[] } };
      assert.equal(obj.status?.conditions?.[0]?.['status'], 'True');
    });
  });
});
