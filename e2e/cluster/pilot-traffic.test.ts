/**
 * Traffic management end to end: RouteRules in a real API server, Pilot, and @grpc/grpc-js-xds
 * clients (child processes) calling real gRPC backends whose pods are labelled version v1 / v2.
 * Weighted routes, a header match, an abort fault, a timeout against a slow backend, 100 weight
 * changes under continuous calls with no failed call, and a rule that cannot be applied being
 * reported while the rest keeps working.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { JsonObject } from '../../lib/json.ts';
import { applyObjects } from '../../lib/kube/apply.ts';
import type { RunningPilot } from '../../pilot/run.ts';
import { eventually } from './eventually.ts';
import {
  hostAddress,
  startBackend,
  XdsClientProcess,
  type Backend,
  type CallResult,
} from './grpc-xds.ts';
import { useLocalCluster } from './local-cluster.ts';
import { ensurePilotCrds } from './pilot-crds.ts';
import { startKubePilot } from './pilot-support.ts';

type Json = Record<string, unknown>;

describe('pilot traffic management with proxyless gRPC clients', function () {
  this.timeout(120_000);
  const env = useLocalCluster({ namespacePrefix: 'traffic' });
  const host = hostAddress();
  let pilot: RunningPilot;
  const backends: Backend[] = [];
  let echo: XdsClientProcess | undefined;
  let slow: XdsClientProcess | undefined;
  let echoNode = '';

  const ns = () => env.namespace;
  const http = (path: string) => `http://127.0.0.1:${pilot.httpPort}${path}`;
  const getJson = async (path: string) => (await (await fetch(http(path))).json()) as Json;

  async function addService(name: string, pods: { version: string; backend: Backend }[]) {
    const core = env.kc.makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: ns(),
      body: { metadata: { name }, spec: { ports: [{ name: 'grpc', port: 9000 }] } },
    });
    for (const p of pods) {
      await core.createNamespacedPod({
        namespace: ns(),
        body: {
          metadata: { name: `${name}-${p.version}`, labels: { app: name, version: p.version } },
          spec: { containers: [{ name: 'app', image: 'example/echo:1' }] },
        },
      });
    }
    // One slice per pod, as each backend listens on its own port.
    for (const p of pods) {
      await env.kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
        namespace: ns(),
        body: {
          metadata: {
            name: `${name}-${p.version}`,
            labels: { 'kubernetes.io/service-name': name },
          },
          addressType: 'IPv4',
          ports: [{ name: 'grpc', port: p.backend.port, protocol: 'TCP' }],
          endpoints: [
            {
              addresses: [p.backend.host],
              conditions: { ready: true },
              targetRef: { kind: 'Pod', name: `${name}-${p.version}`, namespace: ns() },
            },
          ],
        },
      });
    }
  }

  function routeRule(name: string, spec: JsonObject): JsonObject {
    return {
      apiVersion: 'config.istio.io/v1alpha2',
      kind: 'RouteRule',
      metadata: { name, namespace: ns() },
      spec,
    };
  }

  async function apply(obj: JsonObject): Promise<KubernetesObject> {
    const [out] = await applyObjects(env.kc, [obj], 'pilot-traffic-e2e');
    assert.ok(out);
    return out;
  }

  async function remove(name: string): Promise<void> {
    await env.kc.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
      group: 'config.istio.io',
      version: 'v1alpha2',
      namespace: ns(),
      plural: 'routerules',
      name,
    });
  }

  /**
   * Waits until Pilot would send `node` a route configuration for which `check` holds, and the
   * client holds that build in full (everything sent ACKed); returns when (ms) that was.
   */
  async function routesInEffect(
    node: string,
    target: string,
    check: (routes: Json[]) => boolean,
  ): Promise<number> {
    const q = `/debug/configz?proxy=${encodeURIComponent(node)}&generator=grpc&type=RDS`;
    const version = await eventually(
      async () => {
        const snap = await getJson(q);
        const rds = (snap['resources'] as Record<string, Json[]>)['RDS'] ?? [];
        const rc = rds.find((r) => r['name'] === target);
        const vhosts = (rc?.['virtual_hosts'] ?? []) as Json[];
        assert.ok(check((vhosts[0]?.['routes'] ?? []) as Json[]), JSON.stringify(rc));
        return Number(snap['version']);
      },
      { timeoutMs: 10_000 },
    );
    await eventually(
      async () => {
        const conns = (await (await fetch(http('/debug/syncz'))).json()) as Json[];
        const c = conns.find((x) => x['proxy'] === node);
        assert.ok(Number(c?.['syncedVersion'] ?? -1) >= version, JSON.stringify(c));
      },
      { timeoutMs: 10_000 },
    );
    return Date.now();
  }

  /** The first `n` calls started at or after `t` (waiting for them). */
  async function calls(c: XdsClientProcess, t: number, n: number): Promise<CallResult[]> {
    return eventually(
      () => {
        const got = c.since(t);
        assert.ok(got.length >= n, `${got.length} of ${n} calls so far`);
        return got.slice(0, n);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  const share = (rs: CallResult[], backend: string) =>
    rs.filter((r) => r.backend === backend).length / rs.length;

  before(async function () {
    // EndpointSlices refuse loopback addresses: the backends listen on this machine's address.
    // A machine with no other address (rare; CI machines have one) cannot run this suite.
    if (host === undefined) this.skip();
    await ensurePilotCrds(env.kc);
    pilot = await startKubePilot(env.kc);
    await eventually(async () => {
      assert.equal((await fetch(http('/ready'))).status, 200);
    });
    const v1 = await startBackend('v1', host);
    const v2 = await startBackend('v2', host);
    const tortoise = await startBackend('slow', host, 600);
    backends.push(v1, v2, tortoise);
    await addService('echo', [
      { version: 'v1', backend: v1 },
      { version: 'v2', backend: v2 },
    ]);
    await addService('slow', [{ version: 'v1', backend: tortoise }]);
    echoNode = `sidecar~${host}~client.${ns()}~${ns()}.svc.cluster.local`;
    echo = new XdsClientProcess({
      xdsPort: pilot.xdsPort,
      target: `xds:///echo.${ns()}.svc.cluster.local:9000`,
      nodeId: echoNode,
      intervalMs: 3,
      header: ['x-user', 'jason'],
      headerEvery: 2,
    });
    slow = new XdsClientProcess({
      xdsPort: pilot.xdsPort,
      target: `xds:///slow.${ns()}.svc.cluster.local:9000`,
      nodeId: `sidecar~${host}~slow-client.${ns()}~${ns()}.svc.cluster.local`,
      intervalMs: 50,
    });
    await eventually(
      () => {
        assert.ok(
          echo?.results.some((r) => r.ok),
          echo?.stderr.slice(-5).join('\n'),
        );
        assert.ok(
          slow?.results.some((r) => r.ok),
          slow?.stderr.slice(-5).join('\n'),
        );
      },
      { timeoutMs: 20_000 },
    );
  });

  after(async () => {
    await echo?.stop();
    await slow?.stop();
    for (const b of backends) await b.close();
    await pilot.close();
  });

  const echoTarget = () => `echo.${ns()}.svc.cluster.local:9000`;
  const weights = (v1: number) =>
    routeRule('echo', {
      destination: { name: 'echo' },
      route: [
        { labels: { version: 'v1' }, weight: v1 },
        { labels: { version: 'v2' }, weight: 100 - v1 },
      ],
    });
  /** Whether the first route is exactly weights(v1): no other rule's fault or match left. */
  const weightsAre = (v1: number) => (routes: Json[]) => {
    const first = routes[0] ?? {};
    if (first['typed_per_filter_config'] !== undefined || first['match'] === undefined)
      return false;
    if (JSON.stringify(first['match']).includes('headers')) return false;
    const route = JSON.stringify(first['route']);
    if (v1 === 100 || v1 === 0) {
      const only = v1 === 100 ? 'version=v1' : 'version=v2';
      return route.includes(`"cluster":"outbound|9000|${only}|`);
    }
    return (
      route.includes(`"weight":{"value":${v1}}`) && route.includes(`"weight":{"value":${100 - v1}}`)
    );
  };

  it('80/20 weights give 80±5% of 1,000 calls to v1', async () => {
    await apply(weights(80));
    const t = await routesInEffect(echoNode, echoTarget(), weightsAre(80));
    const rs = await calls(echo!, t, 1000);
    assert.ok(rs.every((r) => r.ok));
    const v1 = share(rs, 'v1');
    assert.ok(Math.abs(v1 - 0.8) <= 0.05, `v1 got ${(v1 * 100).toFixed(1)}%`);
  });

  it('a header match sends only the matching calls to v2', async () => {
    await apply(
      routeRule('echo', { destination: { name: 'echo' }, route: [{ labels: { version: 'v1' } }] }),
    );
    await apply(
      routeRule('echo-jason', {
        destination: { name: 'echo' },
        precedence: 2,
        match: { request: { headers: { 'x-user': { exact: 'jason' } } } },
        route: [{ labels: { version: 'v2' } }],
      }),
    );
    const t = await routesInEffect(echoNode, echoTarget(), (r) =>
      JSON.stringify(r[0]?.['match']).includes('jason'),
    );
    const rs = await calls(echo!, t, 300);
    const withHeader = rs.filter((r) => r.header);
    const without = rs.filter((r) => !r.header);
    assert.ok(withHeader.length > 100 && without.length > 100);
    assert.deepEqual([...new Set(withHeader.map((r) => r.backend))], ['v2']);
    assert.deepEqual([...new Set(without.map((r) => r.backend))], ['v1']);
    await remove('echo-jason');
  });

  it('an abort fault at 50% fails about half the calls, with UNAVAILABLE', async () => {
    await apply(
      routeRule('echo', {
        destination: { name: 'echo' },
        route: [{ labels: { version: 'v1' } }],
        httpFault: { abort: { percent: 50, httpStatus: 503 } },
      }),
    );
    const t = await routesInEffect(echoNode, echoTarget(), (r) =>
      JSON.stringify(r[0]).includes('abort'),
    );
    const rs = await calls(echo!, t, 600);
    const failed = rs.filter((r) => !r.ok);
    const rate = failed.length / rs.length;
    assert.ok(rate > 0.4 && rate < 0.6, `${(rate * 100).toFixed(1)}% failed`);
    assert.deepEqual([...new Set(failed.map((r) => r.code))], [14]);
    assert.deepEqual([...new Set(rs.filter((r) => r.ok).map((r) => r.backend))], ['v1']);
  });

  it('a timeout cuts a slow backend', async () => {
    const before = slow!.results.filter((r) => r.ok);
    assert.ok(before.length > 0 && before.every((r) => r.ms >= 550), 'slow answers in ~600 ms');
    await apply(
      routeRule('slow', {
        destination: { name: 'slow' },
        httpReqTimeout: { simpleTimeout: { timeout: '150ms' } },
      }),
    );
    const t = await routesInEffect(
      `sidecar~${host ?? ''}~slow-client.${ns()}~${ns()}.svc.cluster.local`,
      `slow.${ns()}.svc.cluster.local:9000`,
      (r) => JSON.stringify(r[0]).includes('max_stream_duration'),
    );
    const rs = await calls(slow!, t, 10);
    for (const r of rs) {
      assert.equal(r.ok, false);
      assert.equal(r.code, 4, r.details); // DEADLINE_EXCEEDED
      assert.ok(r.ms < 450, `cut after ${r.ms} ms`);
    }
  });

  it('100 weight changes in a row while calling continuously: no call fails', async () => {
    await apply(weights(100));
    const t0 = await routesInEffect(echoNode, echoTarget(), weightsAre(100));
    // Shares move both ways and through 0 and 100, so version clusters come and go.
    const steps = Array.from({ length: 100 }, (_, i) => [100, 70, 40, 0, 20, 50, 90][i % 7] ?? 0);
    for (const w of steps) {
      await apply(weights(w));
      await sleep(15);
    }
    const last = steps[steps.length - 1] ?? 0;
    await routesInEffect(echoNode, echoTarget(), weightsAre(last));
    await sleep(500);
    const rs = echo!.since(t0);
    assert.ok(rs.length > 500, `${rs.length} calls`);
    const failed = rs.filter((r) => !r.ok).map((r) => `${r.code ?? ''} ${r.details ?? ''}`);
    assert.deepEqual(failed, []);
    assert.ok(share(rs, 'v2') > 0.1, 'the changes reached the client');
  });

  it('reports a rule that cannot be applied (status, Event, configz) while the rest keeps working', async () => {
    await apply(weights(50));
    const bad = await apply(
      routeRule('echo-v9', {
        destination: { name: 'echo' },
        precedence: 5,
        route: [{ labels: { version: 'v9' } }],
      }),
    );
    const odd = await apply(
      routeRule('echo-odd', {
        destination: { name: 'slow' },
        route: [
          { labels: { version: 'v1' }, weight: 60 },
          { labels: { version: 'v1' }, weight: 30 },
        ],
      }),
    );
    const custom = env.kc.makeApiClient(CustomObjectsApi);
    const condition = async (name: string) => {
      const o = (await custom.getNamespacedCustomObject({
        group: 'config.istio.io',
        version: 'v1alpha2',
        namespace: ns(),
        plural: 'routerules',
        name,
      })) as { status?: { conditions?: Json[] } };
      return o.status?.conditions?.find((c) => c['type'] === 'Applied');
    };
    await eventually(
      async () => {
        const c = await condition('echo-v9');
        assert.equal(c?.['status'], 'False');
        assert.equal(c['reason'], 'NoMatchingPods');
        assert.match(String(c['message']), /no pod of echo\..* has labels version=v9/);
        assert.equal(c['observedGeneration'], bad.metadata?.generation);
        const o = await condition('echo-odd');
        assert.equal(o?.['reason'], 'WeightsNot100');
        assert.equal(o['observedGeneration'], odd.metadata?.generation);
        assert.equal((await condition('echo'))?.['status'], 'True');
      },
      { timeoutMs: 10_000 },
    );
    const configz = (await getJson('/debug/configz'))['config'] as { problems: string[] };
    assert.ok(
      configz.problems.some((p) => p.startsWith(`RouteRule/${ns()}/echo-v9: NoMatchingPods`)),
      configz.problems.join('\n'),
    );
    await eventually(async () => {
      const events = await env.kc
        .makeApiClient(CoreV1Api)
        .listNamespacedEvent({ namespace: ns(), fieldSelector: 'involvedObject.name=echo-v9' });
      assert.ok(events.items.some((e) => e.reason === 'RuleNotApplied' && e.type === 'Warning'));
    });
    // The 50/50 rule still routes; the broken one (higher precedence) is not in the routes.
    const t = await routesInEffect(echoNode, echoTarget(), weightsAre(50));
    const rs = await calls(echo!, t, 300);
    assert.ok(rs.every((r) => r.ok));
    assert.ok(share(rs, 'v1') > 0.3 && share(rs, 'v2') > 0.3);
  });
});
