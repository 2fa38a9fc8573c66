/**
 * Mixer names workloads by IP, as 0.2's Kubernetes attribute generator did: an unmodified Envoy's
 * ext_authz Check carries only addresses, and a rule on `source.labels` must still hold. Real
 * cluster (pods scheduled onto simulated nodes, their IPs given as a kubelet gives them), real Mixer
 * watching CRDs and pods, the real agent with its check cache between an Envoy-like gRPC client
 * and Mixer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { RunningAgent } from '../../agent/run.ts';
import { startMixerAgent } from '../../agent/testing/mixer-agent.ts';
import { EnvoyMixerClient, type HttpCheck } from '../../agent/testing/envoy-mixer-client.ts';
import { applyObjects } from '../../lib/kube/apply.ts';
import { createLogger } from '../../lib/log.ts';
import type { RunningMixer } from '../../mixer/run.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';
import { installMixerCrds, startKubeMixer } from './mixer-support.ts';
import { runPod } from './pods.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
/** The pods' IPs, as the cluster gives them. */
const ips = { v1: '', v3: '', ratings: '' };

describe('mixer: workload attributes from the pods at request IPs', function () {
  this.timeout(90_000);
  const env = useLocalCluster({ namespacePrefix: 'mixer-pods' });
  let mixer: RunningMixer | undefined;
  let agent: RunningAgent | undefined;
  const clients: EnvoyMixerClient[] = [];
  let root = '';

  async function pod(name: string, labels: Record<string, string>): Promise<string> {
    const running = await runPod(env.kc, env.namespace, {
      metadata: { name, labels },
      spec: { serviceAccountName: 'bookinfo', containers: [{ name: 'app', image: 'app:1' }] },
    });
    return running.status?.podIP ?? '';
  }

  const toRatings = (from: string, path = '/ratings/0'): HttpCheck => ({
    sourceIp: from,
    destinationIp: ips.ratings,
    path,
    host: 'ratings:9080',
  });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'mixer-pods-'));
    await installMixerCrds(env.kc, 'mixer-pods-e2e');
    ips.v1 = await pod('reviews-v1', { app: 'reviews', version: 'v1' });
    ips.v3 = await pod('reviews-v3', { app: 'reviews', version: 'v3' });
    ips.ratings = await pod('ratings-v1', { app: 'ratings', version: 'v1' });
    // Istio 0.2's mixer-rule-deny-label, in this namespace: it scopes to destinations here.
    const ns = env.namespace;
    const meta = (name: string) => ({ name, namespace: ns });
    await applyObjects(
      env.kc,
      [
        {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'denier',
          metadata: meta('denyhandler'),
          spec: { status: { code: 7, message: 'Not allowed' } },
        },
        {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'checknothing',
          metadata: meta('denyrequest'),
          spec: {},
        },
        {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'rule',
          metadata: meta('denyreviewsv3'),
          spec: {
            match:
              'destination.labels["app"] == "ratings" && source.labels["app"] == "reviews" && source.labels["version"] == "v3"',
            actions: [
              {
                handler: `denyhandler.denier.${ns}`,
                instances: [`denyrequest.checknothing.${ns}`],
              },
            ],
          },
        },
      ],
      'mixer-pods-e2e',
    );

    mixer = await startKubeMixer({
      kc: env.kc,
      logger: createLogger('mixer', { level: process.env['LOG_LEVEL'] ?? 'silent' }),
      instance: 'mixer-pods-e2e',
    });

    let socket: string;
    ({ agent, socket } = await startMixerAgent({
      dir: root,
      logger,
      flags: { mixerAddress: `127.0.0.1:${String(mixer.grpcPort)}` },
      env: { POD_NAME: 'ratings-v1', POD_NAMESPACE: ns, INSTANCE_IP: ips.ratings },
      identity: [ns, 'ratings'],
    }));
    clients.push(new EnvoyMixerClient(socket));
    clients.push(new EnvoyMixerClient(`127.0.0.1:${String(mixer.grpcPort)}`));
  });

  after(async () => {
    for (const c of clients) c.close();
    await agent?.shutdown('test over');
    await mixer?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('denies reviews v3 -> ratings on addresses alone, through the agent cache and straight', async () => {
    const [viaAgent, straight] = clients as [EnvoyMixerClient, EnvoyMixerClient];
    for (let round = 0; round < 10; round++) {
      for (const c of [viaAgent, straight]) {
        const v3 = await c.check(toRatings(ips.v3, `/ratings/${String(round % 3)}`));
        assert.equal(v3.code, 7, `round ${String(round)}: ${v3.message}`);
        assert.equal(v3.httpStatus, 'Forbidden');
        const v1 = await c.check(toRatings(ips.v1, `/ratings/${String(round % 3)}`));
        assert.equal(v1.code, 0, `round ${String(round)}: v1 allowed, got ${v1.message}`);
        const stranger = await c.check(toRatings('10.200.9.9'));
        assert.equal(stranger.code, 0, 'no pod at the address: no labels, no denial');
      }
    }
    const text = await agent!.metrics.metrics();
    const cached = [
      ...text.matchAll(/^istio_agent_mixer_checks_total\{source="cache",code="\d+"\} (\d+)$/gm),
    ].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(cached >= 20, `the agent answered repeats from its cache (${String(cached)})`);
  });

  it('follows the pod: relabelled v3, the same address is denied', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const p = await core.readNamespacedPod({ name: 'reviews-v1', namespace: env.namespace });
    if (p.metadata) p.metadata.labels = { app: 'reviews', version: 'v3' };
    await core.replaceNamespacedPod({ name: 'reviews-v1', namespace: env.namespace, body: p });
    const straight = clients[1]!;
    await eventually(async () => {
      assert.equal((await straight.check(toRatings(ips.v1, '/ratings/fresh'))).code, 7);
    });
  });
});
