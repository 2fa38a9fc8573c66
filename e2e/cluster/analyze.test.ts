/**
 * `istio-lite analyze` against a real API server: the cluster's RouteRules and Mixer rules are
 * checked against its Services and running pods; files given with `-f` replace the cluster's
 * objects as if applied; a namespace labelled `istio.io/rev=canary` is not selected by the chart's
 * MutatingWebhookConfiguration (revision `default`) while one labelled `istio-injection=enabled`
 * is; a pod created before injection was on is reported; the cluster is found through
 * `.local/endpoints.json` with no flag; an unreachable API server is an error.
 *
 * A dedicated cluster: the suite registers the injector's webhook configuration, which is
 * cluster-wide.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { main } from '../../cli/main.ts';
import { captureIo } from '../../cli/testing/capture-io.ts';
import { freePort } from '../../lib/free-ports.ts';
import { useLocalCluster } from './local-cluster.ts';
import { installMixerCrds } from './mixer-support.ts';
import { ensurePilotCrds } from './pilot-crds.ts';
import { registerWebhook } from './webhook-support.ts';

interface Row {
  code: string;
  kind: string;
  namespace: string;
  name: string;
  field: string | null;
  source: string;
}

describe('istio-lite analyze on a cluster', function () {
  this.timeout(120_000);
  const env = useLocalCluster({ dedicated: true, namespacePrefix: 'analyze' });
  let work: string;
  const ns = () => env.namespace;
  const revNs = () => `${env.namespace}-rev`;

  async function run(
    argv: string[],
    cwd = work,
  ): Promise<{ code: number; out: string; err: string }> {
    const io = captureIo(cwd, {});
    const code = await main(['analyze', ...argv], io);
    return { code, out: io.out(), err: io.err() };
  }

  const rows = (out: string) => JSON.parse(out) as Row[];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'analyze-'));
    await ensurePilotCrds(env.kc);
    await installMixerCrds(env.kc, 'analyze-test');
    const core = env.kc.makeApiClient(CoreV1Api);
    const custom = env.kc.makeApiClient(CustomObjectsApi);
    await core.patchNamespace({
      name: ns(),
      body: [{ op: 'add', path: '/metadata/labels/istio-injection', value: 'enabled' }],
    });
    await core.createNamespace({
      body: { metadata: { name: revNs(), labels: { 'istio.io/rev': 'canary' } } },
    });
    await core.createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name: 'reviews' },
        spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] },
      },
    });
    // Created before the injector's webhook exists: no sidecar.
    await core.createNamespacedPod({
      namespace: ns(),
      body: {
        metadata: { name: 'reviews-v1', labels: { app: 'reviews', version: 'v1' } },
        spec: { containers: [{ name: 'app', image: 'reviews:1' }] },
      },
    });
    await registerWebhook(env.kc, 'https://127.0.0.1:1/inject', {
      'webhook.failurePolicy': 'Ignore',
    });
    const rule = (name: string, spec: object) => ({
      apiVersion: 'config.istio.io/v1alpha2',
      kind: 'RouteRule',
      metadata: { name, namespace: ns() },
      spec,
    });
    await custom.createNamespacedCustomObject({
      group: 'config.istio.io',
      version: 'v1alpha2',
      namespace: ns(),
      plural: 'routerules',
      body: rule('reviews-v2', {
        destination: { name: 'reviews' },
        route: [{ labels: { version: 'v2' } }],
      }),
    });
    await custom.createNamespacedCustomObject({
      group: 'config.istio.io',
      version: 'v1alpha2',
      namespace: ns(),
      plural: 'rules',
      body: {
        apiVersion: 'config.istio.io/v1alpha2',
        kind: 'rule',
        metadata: { name: 'broken', namespace: ns() },
        spec: {
          match: 'request.path ==',
          actions: [{ handler: 'x.denier', instances: ['y.checknothing'] }],
        },
      },
    });
    writeFileSync(
      join(work, 'fixed.yaml'),
      JSON.stringify(
        rule('reviews-v2', {
          destination: { name: 'reviews' },
          route: [{ labels: { version: 'v1' } }],
        }),
      ),
    );
  });

  after(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it("reports the cluster's problems with their codes, the objects and fields", async () => {
    const r = await run(['--kubeconfig', env.kubeconfig, '-A', '-o', 'json']);
    assert.equal(r.code, 79, r.err);
    const found = rows(r.out).map(
      (x) => `${x.code} ${x.kind} ${x.namespace}/${x.name} ${x.field ?? '-'} ${x.source}`,
    );
    for (const want of [
      `IL0102 RouteRule ${ns()}/reviews-v2 spec.route[0] cluster`,
      `IL0201 rule ${ns()}/broken spec.match cluster`,
      `IL0301 Namespace /${revNs()} metadata.labels cluster`,
      `IL0303 Pod ${ns()}/reviews-v1 - cluster`,
    ]) {
      assert.ok(found.includes(want), `${want}\n${found.join('\n')}`);
    }
    // The namespace labelled istio-injection=enabled is selected by the webhook.
    assert.ok(!found.some((f) => f.startsWith(`IL0301 Namespace /${ns()} `)), found.join('\n'));
  });

  it('checks files as if applied over the cluster, and scopes to -n', async () => {
    const r = await run([
      '--kubeconfig',
      env.kubeconfig,
      '-n',
      ns(),
      '-f',
      join(work, 'fixed.yaml'),
      '-o',
      'json',
    ]);
    const found = rows(r.out);
    assert.ok(!found.some((x) => x.code === 'IL0102'), r.out);
    assert.ok(
      found.some((x) => x.code === 'IL0201'),
      r.out,
    );
    assert.ok(!found.some((x) => x.name === revNs()), 'another namespace is out of scope');
  });

  it('finds the cluster through .local/endpoints.json with no flag', async () => {
    mkdirSync(join(work, '.local'), { recursive: true });
    writeFileSync(
      join(work, '.local', 'endpoints.json'),
      JSON.stringify({
        kubeconfig: env.kubeconfig,
        pilotHttp: '127.0.0.1:1',
        mixerMetrics: '127.0.0.1:1',
      }),
    );
    const r = await run(['-n', ns()]);
    assert.equal(r.code, 79, r.err);
    assert.match(
      r.out,
      new RegExp(
        `Error \\[IL0102\\] \\(RouteRule ${ns()}/reviews-v2\\) spec\\.route\\[0\\]: no pod of reviews\\.`,
      ),
    );
    assert.match(r.out, /\n {4}fix: deploy pods with these labels first/);
  });

  it('says so when the API server cannot be reached', async () => {
    const port = await freePort();
    const kubeconfig = join(work, 'unreachable.kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'c',
            cluster: {
              server: `https://127.0.0.1:${String(port)}`,
              'insecure-skip-tls-verify': true,
            },
          },
        ],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    const r = await run(['--kubeconfig', kubeconfig], tmpdir());
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      new RegExp(
        `the API server at https://127\\.0\\.0\\.1:${String(port)} is unreachable: .*ECONNREFUSED`,
      ),
    );
  });
});
