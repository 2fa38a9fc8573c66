import assert from 'node:assert/strict';
import { parseAllDocuments, parse } from 'yaml';
import {
  componentMarker,
  controllerManagerArgs,
  kwokArgs,
  kwokEnv,
  schedulerArgs,
  schedulerConfigYaml,
} from './component-args.ts';
import { kwokConfigYaml } from './kwok-config.ts';
import { nodeIp, nodeObject, notReadyReason } from './nodes.ts';
import { clusterPaths, componentNames } from './state.ts';

const paths = clusterPaths('/tmp/some/state');

describe('simulated cluster command lines', () => {
  const cm = controllerManagerArgs(paths, { port: 2001 });
  const sched = schedulerArgs(paths, { port: 2002 });
  const kwok = kwokArgs(paths, { port: 2003 });

  it('carry a marker naming the state folder, one exact argument each', () => {
    for (const [name, args] of [
      ['kube-controller-manager', cm],
      ['kube-scheduler', sched],
      ['kwok', kwok],
    ] as const) {
      assert.ok(args.includes(componentMarker(paths, name)), name);
      assert.ok(componentMarker(paths, name).includes('/tmp/some/state/'), name);
    }
    const markers = componentNames.map((n) => componentMarker(paths, n));
    assert.equal(new Set(markers).size, markers.length);
  });

  it('serve health on 127.0.0.1 only', () => {
    for (const args of [cm, sched]) {
      assert.ok(args.includes('--bind-address=127.0.0.1'));
      assert.ok(args.some((a) => a.startsWith('--tls-cert-file=/tmp/some/state/')));
    }
    assert.ok(kwok.includes('--server-address=127.0.0.1:2003'));
  });

  it('give the controller manager what it needs for tokens, node CIDRs and no leader election', () => {
    for (const want of [
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${paths.serviceAccountKey}`,
      `--root-ca-file=${paths.caCert}`,
      '--allocate-node-cidrs=true',
      '--cluster-cidr=10.112.0.0/14',
      '--service-cluster-ip-range=10.0.0.0/16',
    ]) {
      assert.ok(cm.includes(want), want);
    }
    assert.ok(!cm.some((a) => a.startsWith('--kube-api-qps')), 'its own default unless asked');
    const fast = controllerManagerArgs(paths, { port: 1, qps: 500 });
    assert.ok(fast.includes('--kube-api-qps=500') && fast.includes('--kube-api-burst=1000'));
  });

  it('configure the scheduler through its configuration file', () => {
    const c: unknown = parse(schedulerConfigYaml(paths, { port: 1, qps: 300 }));
    assert.deepEqual(c, {
      apiVersion: 'kubescheduler.config.k8s.io/v1',
      kind: 'KubeSchedulerConfiguration',
      clientConnection: {
        kubeconfig: '/tmp/some/state/components/kube-scheduler.kubeconfig',
        qps: 300,
        burst: 600,
      },
      leaderElection: { leaderElect: false },
    });
  });

  it("keep kwok away from the user's own kwok configuration", () => {
    assert.equal(kwokEnv(paths, {})['KWOK_WORKDIR'], '/tmp/some/state/components/kwok-home');
  });

  it('use --name=value only', () => {
    for (const arg of [...cm, ...sched, ...kwok]) assert.match(arg, /^--[a-z-]+=/);
  });
});

describe("kwok's configuration", () => {
  const docs = parseAllDocuments(kwokConfigYaml({ kubeletVersion: 'v1.37.2' })).map(
    (d) => d.toJS() as { kind: string; metadata?: { name: string }; spec?: unknown },
  );

  it('holds the options, then a stage for nodes, running pods, finished Job pods and deletion', () => {
    assert.equal(docs[0]?.kind, 'KwokConfiguration');
    assert.deepEqual(
      docs.slice(1).map((d) => [d.kind, d.metadata?.name]),
      [
        ['Stage', 'istio-lite-node-ready'],
        ['Stage', 'istio-lite-pod-running'],
        ['Stage', 'istio-lite-job-pod-succeeded'],
        ['Stage', 'istio-lite-pod-gone'],
      ],
    );
  });

  it('never finishes a Job pod whose istio-proxy is a regular container', () => {
    const text = JSON.stringify(docs.find((d) => d.metadata?.name.endsWith('succeeded') === true));
    assert.match(
      text,
      /"key":"\.spec\.containers\.\[\]\.name","operator":"NotIn","values":\["istio-proxy"\]/,
    );
  });
});

describe('simulated nodes', () => {
  it('get distinct addresses outside loopback and the cluster ranges', () => {
    const ips = Array.from({ length: 600 }, (_, i) => nodeIp(i));
    assert.equal(new Set(ips).size, 600);
    for (const ip of ips) assert.match(ip, /^172\.30\.\d+\.([1-9]\d?|1\d\d|2[0-4]\d|250)$/);
  });

  it('are ready for pods once Ready, with a podCIDR and no node.kubernetes.io taint', () => {
    const metadata = nodeObject(0).metadata ?? {};
    assert.equal(notReadyReason({ metadata }), 'not Ready');
    const status = { conditions: [{ type: 'Ready', status: 'True' }] };
    assert.equal(notReadyReason({ metadata, status }), 'no podCIDR');
    const taints = [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }];
    const tainted = { metadata, status, spec: { podCIDR: '10.112.0.0/22', taints } };
    assert.equal(notReadyReason(tainted), 'tainted node.kubernetes.io/not-ready');
    assert.equal(
      notReadyReason({ metadata, status, spec: { podCIDR: '10.112.0.0/22' } }),
      undefined,
    );
  });
});
