/**
 * The chart's mesh expansion switch (meshExpansion in values.yaml), rendered by the real helm: off
 * by default; on, the Services through which VMs reach Pilot, Mixer, the CA and the cluster DNS,
 * internal load balancers by default or node ports; a bad type refused naming the value; the
 * Services accepted by the real API server (server-side dry run); the release notes saying what
 * to give the VMs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { chartDir } from '../../lib/chart.ts';
import { errorMessage } from '../../lib/errors.ts';
import { isObject, type JsonObject } from '../../lib/json.ts';
import { helmPath } from '../../lib/local-cluster/cluster.ts';
import { parseYamlDocuments } from '../../lib/yaml.ts';
import { useLocalCluster } from './local-cluster.ts';

const exec = promisify(execFile);

const internalLb = {
  'networking.gke.io/load-balancer-type': 'Internal',
  'service.beta.kubernetes.io/aws-load-balancer-internal': 'true',
  'service.beta.kubernetes.io/azure-load-balancer-internal': 'true',
};

interface Rendered {
  readonly namespace: unknown;
  readonly type: unknown;
  readonly annotations: unknown;
  readonly selector: unknown;
  readonly ports: unknown;
}

function nameOf(o: JsonObject): string {
  const meta = o['metadata'];
  return isObject(meta) && typeof meta['name'] === 'string' ? meta['name'] : '';
}

function field(o: JsonObject, key: string): JsonObject {
  const v = o[key];
  assert.ok(isObject(v), `${key} is an object`);
  return v;
}

describe('Helm chart: mesh expansion', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'chart-mesh-expansion' });
  let helm: string;

  /** `helm template` with typed `--set` values (so `false` is false), as objects. */
  const render = async (...set: string[]): Promise<JsonObject[]> => {
    const args = ['template', 'istio-lite', chartDir, '-n', env.namespace];
    args.push('--kube-version', '1.37.0', ...set.flatMap((s) => ['--set', s]));
    const { stdout } = await exec(helm, args, { maxBuffer: 32 * 1024 * 1024 });
    return parseYamlDocuments(stdout, 'helm template')
      .map((d) => d.value)
      .filter(isObject);
  };

  /** The Services labelled istio=mesh-expansion, by name. */
  const meshExpansionServices = (docs: JsonObject[]): Map<string, JsonObject> => {
    const out = new Map<string, JsonObject>();
    for (const d of docs) {
      if (d['kind'] !== 'Service') continue;
      const meta = field(d, 'metadata');
      const labels = isObject(meta['labels']) ? meta['labels'] : {};
      if (labels['istio'] === 'mesh-expansion') out.set(nameOf(d), d);
    }
    return out;
  };

  const summary = (svc: JsonObject): Rendered => {
    const meta = field(svc, 'metadata');
    const spec = field(svc, 'spec');
    return {
      namespace: meta['namespace'],
      type: spec['type'],
      annotations: meta['annotations'],
      selector: spec['selector'],
      ports: spec['ports'],
    };
  };

  before(async () => {
    helm = await helmPath();
  });

  it('renders no mesh-expansion Service with the default values', async () => {
    const docs = await render();
    assert.deepEqual([...meshExpansionServices(docs).keys()], []);
    const names = docs.map(nameOf);
    for (const n of ['istio-pilot-ilb', 'mixer-ilb', 'istio-ca-ilb', 'dns-ilb']) {
      assert.ok(!names.includes(n), `${n} not rendered`);
    }
  });

  it('renders internal load balancers for Pilot, Mixer, the CA and the cluster DNS when enabled', async () => {
    const services = meshExpansionServices(await render('meshExpansion.enabled=true'));
    const got = Object.fromEntries([...services].map(([name, svc]) => [name, summary(svc)]));
    const lb = (namespace: string, selector: object, ports: object[]): Rendered => ({
      namespace,
      type: 'LoadBalancer',
      annotations: internalLb,
      selector,
      ports,
    });
    assert.deepEqual(got, {
      'istio-pilot-ilb': lb(env.namespace, { app: 'istio-pilot' }, [
        { name: 'grpc-xds', port: 15010 },
      ]),
      'mixer-ilb': lb(env.namespace, { app: 'istio-mixer' }, [{ name: 'grpc-mixer', port: 9091 }]),
      'istio-ca-ilb': lb(env.namespace, { app: 'istio-ca' }, [{ name: 'grpc-ca', port: 8060 }]),
      'dns-ilb': lb('kube-system', { 'k8s-app': 'kube-dns' }, [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ]),
    });
    // The chart's own labels, as on every object of the release.
    for (const svc of services.values()) {
      const labels = field(field(svc, 'metadata'), 'labels');
      assert.equal(labels['app.kubernetes.io/instance'], 'istio-lite');
      assert.equal(labels['app.kubernetes.io/managed-by'], 'Helm');
    }
  });

  it('renders NodePort Services with type=NodePort, and takes other annotations and DNS settings', async () => {
    const services = meshExpansionServices(
      await render(
        'meshExpansion.enabled=true',
        'meshExpansion.type=NodePort',
        'meshExpansion.annotations=null',
        'meshExpansion.dns.namespace=dns',
        'meshExpansion.dns.selector.k8s-app=null',
        'meshExpansion.dns.selector.app=coredns',
      ),
    );
    assert.deepEqual([...services.keys()].sort(), [
      'dns-ilb',
      'istio-ca-ilb',
      'istio-pilot-ilb',
      'mixer-ilb',
    ]);
    for (const [name, svc] of services) {
      const s = summary(svc);
      assert.equal(s.type, 'NodePort', name);
      assert.equal(s.annotations, undefined, name);
    }
    const dns = summary(services.get('dns-ilb') ?? {});
    assert.equal(dns.namespace, 'dns');
    assert.deepEqual(dns.selector, { app: 'coredns' });
  });

  it('drops mixer-ilb when Mixer is off, and dns-ilb when meshExpansion.dns is off', async () => {
    const noMixer = meshExpansionServices(
      await render('meshExpansion.enabled=true', 'mixer.enabled=false'),
    );
    assert.deepEqual([...noMixer.keys()].sort(), ['dns-ilb', 'istio-ca-ilb', 'istio-pilot-ilb']);
    const noDns = meshExpansionServices(
      await render('meshExpansion.enabled=true', 'meshExpansion.dns.enabled=false'),
    );
    assert.deepEqual([...noDns.keys()].sort(), ['istio-ca-ilb', 'istio-pilot-ilb', 'mixer-ilb']);
  });

  it('refuses a type other than LoadBalancer or NodePort, naming meshExpansion.type', async () => {
    for (const type of ['ClusterIP', 'loadbalancer', 'ExternalName']) {
      await assert.rejects(
        render('meshExpansion.enabled=true', `meshExpansion.type=${type}`),
        (e: unknown) => {
          const stderr = String((e as { stderr?: unknown }).stderr);
          assert.match(stderr, /meshExpansion\.type must be LoadBalancer or NodePort/);
          assert.ok(stderr.includes(`got "${type}"`), stderr);
          return true;
        },
      );
    }
  });

  for (const type of ['LoadBalancer', 'NodePort']) {
    it(`has the ${type} Services accepted by a server-side dry run`, async () => {
      const api = KubernetesObjectApi.makeApiClient(env.kc);
      const services = meshExpansionServices(
        await render('meshExpansion.enabled=true', `meshExpansion.type=${type}`),
      );
      assert.equal(services.size, 4);
      for (const [name, svc] of services) {
        /** What the API server would store. */
        const created: { metadata?: KubernetesObject['metadata']; spec?: { type?: string } } =
          await api
            .create(svc as KubernetesObject, undefined, 'All')
            .catch((e: unknown) => assert.fail(`Service ${name}: ${errorMessage(e)}`));
        assert.equal(created.metadata?.name, name);
        // The type and the annotations as rendered.
        assert.equal(created.spec?.type, type, name);
        assert.deepEqual(created.metadata.annotations, internalLb, name);
      }
    });
  }

  it('tells in the release notes which addresses to give the VMs', async () => {
    const notes = async (...set: string[]) =>
      (
        await exec(helm, [
          'install',
          'istio-lite',
          chartDir,
          '-n',
          env.namespace,
          '--dry-run=client',
          '--kubeconfig',
          env.kubeconfig,
          ...set.flatMap((s) => ['--set', s]),
        ])
      ).stdout
        .split('\nNOTES:\n')
        .slice(1)
        .join('');
    const off = await notes();
    assert.match(off, /is installed in namespace/);
    assert.ok(!off.includes('Mesh expansion'), off);
    const on = await notes('meshExpansion.enabled=true');
    assert.ok(
      on.includes(`kubectl get svc -n ${env.namespace} istio-pilot-ilb mixer-ilb istio-ca-ilb\n`),
      on,
    );
    assert.ok(on.includes('kubectl get svc -n kube-system dns-ilb\n'), on);
    assert.match(on, /EXTERNAL-IP/);
    const nodePort = await notes(
      'meshExpansion.enabled=true',
      'meshExpansion.type=NodePort',
      'mixer.enabled=false',
    );
    assert.ok(
      nodePort.includes(`kubectl get svc -n ${env.namespace} istio-pilot-ilb istio-ca-ilb\n`),
      nodePort,
    );
    assert.match(nodePort, /node port/);
  });
});
