import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { anyToJson } from '../../lib/xds/json-view.ts';
import { encodeAny } from '../../lib/xds/discovery-wire.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { RawAdsClient } from '../../pilot/testing/raw-ads-client.ts';
import { waitFor } from './webhook-support.ts';

/** The endpoint addresses of `cluster` in the latest load assignment `c` received. */
async function nextEndpoints(c: RawAdsClient, cluster: string): Promise<string[]> {
  for (;;) {
    const r = await c.next(30_000);
    c.ack(r, r.typeUrl === TypeUrl.ClusterLoadAssignment ? [cluster] : []);
    if (r.typeUrl !== TypeUrl.ClusterLoadAssignment || r.resources.length === 0) continue;
    const text = JSON.stringify(anyToJson(encodeAny(r.typeUrl, r.resources[0]!.value)));
    return [...text.matchAll(/"address":"([0-9.]+)"/g)].map((m) => m[1] ?? '').sort();
  }
}

const main = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));

describe('npm start (istio-lite start) on the embedded local cluster', function () {
  this.timeout(180_000);
  const stateDir = mkdtempSync(join(tmpdir(), 'istio-lite-start-'));
  let child: ChildProcess | undefined;
  let out = '';
  after(() => {
    child?.kill('SIGKILL');
  });

  it("brings everything up, the controllers make the examples' pods and the webhook injects them, scaling shows in EDS, a second start is refused, SIGTERM stops it cleanly", async () => {
    child = spawn(process.execPath, [main, 'start', '--state-dir', stateDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const endpointsFile = join(stateDir, 'endpoints.json');
    await waitFor(
      () => existsSync(endpointsFile) && out.includes('running;'),
      150_000,
      'endpoints.json',
    );
    const endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as Record<string, string>;
    assert.equal(endpoints['kubeconfig'], join(stateDir, 'kubeconfig'));
    for (const key of ['webhook', 'pilotXds', 'pilotHttp', 'caGrpc', 'mixerGrpc', 'mixerMetrics']) {
      assert.match(endpoints[key] ?? '', /^127\.0\.0\.1:\d+$/, key);
    }
    // Pilot is ready once its caches synced and the first snapshot is built.
    await waitFor(
      async () => (await fetch(`http://${endpoints['pilotHttp'] ?? ''}/ready`)).status === 200,
      20_000,
      'pilot /ready',
    );
    const kc = loadKubeConfig(endpoints['kubeconfig']);
    const core = kc.makeApiClient(CoreV1Api);
    // Mixer is ready once its config informers (on the chart's CRDs) synced.
    await waitFor(
      async () => (await fetch(`http://${endpoints['mixerMetrics'] ?? ''}/ready`)).status === 200,
      20_000,
      'mixer /ready',
    );
    // The chart's CRDs are installed whole: their schemas refuse a malformed rule, naming the field.
    const custom = kc.makeApiClient(CustomObjectsApi);
    await assert.rejects(
      custom.createNamespacedCustomObject({
        group: 'config.istio.io',
        version: 'v1alpha2',
        namespace: 'demo',
        plural: 'routerules',
        body: {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'RouteRule',
          metadata: { name: 'too-heavy' },
          spec: {
            destination: { name: 'reviews' },
            route: [{ labels: { version: 'v1' }, weight: 150 }],
          },
        },
      }),
      /spec\.route\[0\]\.weight/,
    );
    // The CA gave the example's service accounts their istio.<sa> Secrets.
    await waitFor(
      async () => {
        const s = await core.readNamespacedSecret({ name: 'istio.productpage', namespace: 'demo' });
        return s.type === 'istio.io/key-and-cert';
      },
      20_000,
      'istio.productpage Secret',
    );
    // Pods made by the ReplicaSet and StatefulSet controllers, injected, scheduled, running.
    const running = String.raw`\((Running|Succeeded) on kwok-node-\d, 10\.112\.\d+\.\d+\)`;
    assert.match(
      out,
      new RegExp(String.raw`pod demo/productpage-v1-[a-z0-9]+-[a-z0-9]+: injected ${running}`),
    );
    assert.match(
      out,
      new RegExp(
        String.raw`pod demo/mongodb-0: injected ${running}\n {2}initContainers: istio-init, istio-proxy, fix-permissions`,
      ),
    );
    assert.match(out, /pod demo\/debug-shell: not injected/);
    assert.doesNotMatch(out, /-local: /, 'no hand-made pods');
    // The injected Job finishes: its sidecar is native on this Kubernetes.
    const batch = kc.makeApiClient(BatchV1Api);
    await waitFor(
      async () =>
        ((await batch.readNamespacedJob({ name: 'seed-ratings', namespace: 'demo' })).status
          ?.succeeded ?? 0) === 1,
      30_000,
      'Job seed-ratings complete',
    );

    // kubectl scale deploy/reviews-v1 --replicas 3: three injected pods, and Pilot's EDS follows.
    const reviews = `outbound|9080||reviews.demo.svc.cluster.local`;
    const ads = new RawAdsClient(
      endpoints['pilotXds'] ?? '',
      'sidecar~10.9.9.9~probe.demo~demo.svc.cluster.local',
    );
    try {
      ads.send({ typeUrl: TypeUrl.Cluster });
      ads.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: [reviews] });
      let eps = await nextEndpoints(ads, reviews);
      while (eps.length !== 2) eps = await nextEndpoints(ads, reviews); // reviews-v1 and -v2
      await kc.makeApiClient(AppsV1Api).patchNamespacedDeploymentScale({
        name: 'reviews-v1',
        namespace: 'demo',
        body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
      });
      while (eps.length !== 4) eps = await nextEndpoints(ads, reviews);
      const pods = (
        await core.listNamespacedPod({ namespace: 'demo', labelSelector: 'app=reviews,version=v1' })
      ).items;
      assert.equal(pods.length, 3);
      for (const p of pods) {
        assert.ok(
          p.metadata?.annotations?.['sidecar.istio.io/status'],
          `${p.metadata?.name} injected`,
        );
        assert.ok(eps.includes(p.status?.podIP ?? ''), `${p.status?.podIP} in EDS`);
      }
    } finally {
      ads.close();
    }
    // A person reads short lines; every component's JSON logs are in the file it names.
    const logFile = join(stateDir, 'logs', 'control-plane.log');
    assert.ok(out.includes(`logs of every component (JSON lines): ${logFile}`), out);
    assert.doesNotMatch(out, /^\{/m, 'no JSON log line on the terminal');
    const logLines = readFileSync(logFile, 'utf8').trim().split('\n');
    assert.ok(logLines.length > 0);
    for (const l of logLines)
      assert.equal(typeof (JSON.parse(l) as { msg: unknown }).msg, 'string');

    const second = await promisify(execFile)(process.execPath, [
      main,
      'start',
      '--state-dir',
      stateDir,
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (e: unknown) => ({
        code: (e as { code?: number }).code,
        stderr: String((e as { stderr?: string }).stderr),
      }),
    );
    assert.equal(second.code, 1);
    assert.match(second.stderr, /already running \(pid \d+\)/);

    const exited = new Promise<number | null>((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(existsSync(endpointsFile), false);
    assert.equal(existsSync(join(stateDir, 'state.json')), false);
  });
});
