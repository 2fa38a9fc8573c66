/**
 * The Helm chart against the real API server: lint, a snapshot of `helm template`, a server-side
 * dry run of everything it renders, then a real `helm install` (pods cannot run here, so no
 * --wait), RBAC checked per ServiceAccount with `kubectl auth can-i`, the control plane run with
 * the chart's ConfigMaps and each component's own ServiceAccount token, `helm upgrade` keeping the
 * root, and `helm uninstall` cleaning up everything but the CRDs and the root.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseCaConfig } from '../../ca/settings.ts';
import { runCa } from '../../ca/run.ts';
import { chartDir, helmTemplate } from '../../lib/chart.ts';
import { errorMessage } from '../../lib/errors.ts';
import { isNotFound } from '../../lib/kube/client.ts';
import { helmPath } from '../../lib/local-cluster/cluster.ts';
import { parseMeshConfig } from '../../lib/mesh-config.ts';
import { parseConfigText } from '../../lib/config-file.ts';
import { projectRoot } from '../../lib/package-info.ts';
import { toYamlDocuments } from '../../lib/yaml.ts';
import { runMixer } from '../../mixer/run.ts';
import { runPilot } from '../../pilot/run.ts';
import { useLocalCluster } from './local-cluster.ts';
import { serviceAccountKubeConfig } from './service-account-kubeconfig.ts';
import { quietLogger, startTestWebhook, waitFor } from './webhook-support.ts';

const exec = promisify(execFile);
const ns = 'istio-system';
const update = process.env['UPDATE_GOLDEN'] === '1';

describe('Helm chart', function () {
  this.timeout(120_000);
  const env = useLocalCluster({ dedicated: true });
  let helm: string;
  const run = async (args: string[]) => {
    try {
      return (await exec(helm, [...args, '--kubeconfig', env.kubeconfig])).stdout;
    } catch (e) {
      throw new Error(
        `helm ${args.join(' ')}: ${(e as { stderr?: string }).stderr ?? errorMessage(e)}`,
        {
          cause: e,
        },
      );
    }
  };

  before(async () => {
    helm = await helmPath();
  });

  it('passes helm lint --strict with default and HA values', async () => {
    await exec(helm, ['lint', '--strict', chartDir]);
    await exec(helm, ['lint', '--strict', chartDir, '-f', join(chartDir, 'values-ha.yaml')]);
  });

  it('renders with plain `helm template` as GitOps tools run it (no --kube-version, no cluster)', async () => {
    // Helm assumes a default Kubernetes version here (1.20 in builds without release flags);
    // the chart declares no kubeVersion, so the render must not depend on it.
    const { stdout } = await exec(helm, ['template', 'istio-lite', chartDir]);
    assert.match(stdout, /kind: MutatingWebhookConfiguration/);
    const old = await exec(helm, ['template', 'istio-lite', chartDir, '--kube-version', '1.20.0']);
    assert.match(old.stdout, /kind: MutatingWebhookConfiguration/);
    // Against a cluster, Helm knows the real version and the chart checks it (1.28 or later).
    const live = await run(['template', 'istio-lite', chartDir, '-n', ns, '--dry-run=server']);
    assert.match(live, /kind: MutatingWebhookConfiguration/);
  });

  for (const [name, files] of [
    ['default', []],
    ['ha', [join(chartDir, 'values-ha.yaml')]],
  ] as const) {
    it(`renders the ${name} snapshot (UPDATE_GOLDEN=1 regenerates)`, async () => {
      const docs = await helmTemplate({
        helm,
        namespace: ns,
        valuesFiles: files,
        kubeVersion: '1.37.0',
      });
      const got = toYamlDocuments(docs);
      const path = join(projectRoot, 'testdata', 'chart', `${name}.yaml`);
      if (update) writeFileSync(path, got);
      assert.ok(existsSync(path), `missing ${path}: run with UPDATE_GOLDEN=1`);
      assert.equal(got, readFileSync(path, 'utf8'), `stale snapshot testdata/chart/${name}.yaml`);
    });
  }

  it('passes pilot.registries and the registries’ addresses to Pilot, and refuses a missing one', async () => {
    const template = (...set: string[]) =>
      exec(helm, [
        'template',
        'istio-lite',
        chartDir,
        '--show-only',
        'templates/pilot.yaml',
        ...set.flatMap((s) => ['--set', s]),
      ]);
    const { stdout } = await template(
      'pilot.registries={Kubernetes,Consul,Eureka}',
      'pilot.consulAddress=http://consul.example:8500',
      'pilot.eurekaAddress=http://eureka.example:8761/eureka',
    );
    for (const arg of [
      '--registries=Kubernetes,Consul,Eureka',
      '--consulserverURL=http://consul.example:8500',
      '--eurekaserverURL=http://eureka.example:8761/eureka',
      '--eurekaPollInterval=2s',
    ]) {
      assert.ok(stdout.includes(`- ${arg}\n`), arg);
    }
    await assert.rejects(
      template('pilot.registries={Kubernetes,Eureka}'),
      /pilot.registries has Eureka: set pilot.eurekaAddress/,
    );
  });

  it('has every rendered object accepted by a server-side dry run', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const api = KubernetesObjectApi.makeApiClient(env.kc);
    const docs = await helmTemplate({ helm, namespace: ns, kubeVersion: '1.37.0' });
    for (const d of docs) {
      const o = d as KubernetesObject;
      await api.create(o, undefined, 'All').catch((e: unknown) => {
        assert.fail(`${o.kind ?? ''} ${o.metadata?.name ?? ''}: ${errorMessage(e)}`);
      });
    }
  });

  it('installs for real: every object, the webhook configuration, the CRDs', async () => {
    await run(['install', 'istio-lite', chartDir, '-n', ns]);
    const core = env.kc.makeApiClient(CoreV1Api);
    for (const sa of [
      'istio-sidecar-injector',
      'istio-pilot',
      'istio-ca',
      'istio-mixer',
      'istio-ingress',
      'istio-egress',
    ]) {
      await core.readNamespacedServiceAccount({ name: sa, namespace: ns });
      await core.readNamespacedService({ name: sa, namespace: ns });
    }
    await core.readNamespacedConfigMap({ name: 'istio', namespace: ns });
    await core.readNamespacedConfigMap({ name: 'istio-sidecar-injector', namespace: ns });
    const mwc = await env.kc
      .makeApiClient(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: 'istio-sidecar-injector' });
    const first = (mwc.webhooks ?? [])[0];
    assert.equal(first?.clientConfig.service?.name, 'istio-sidecar-injector');
    assert.equal(first.failurePolicy, 'Fail');
    const crds = await env.kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
    assert.ok(crds.items.some((c) => c.spec.group === 'config.istio.io'));
    const names = crds.items.map((c) => c.metadata?.name);
    assert.ok(names.includes('workloadentries.networking.istio.io'), names.join(', '));
    assert.ok(names.includes('workloadgroups.networking.istio.io'), names.join(', '));
  });

  const canI: [string, string, boolean][] = [
    ['istio-sidecar-injector', 'list namespaces', true],
    ['istio-sidecar-injector', 'patch mutatingwebhookconfigurations/istio-sidecar-injector', true],
    ['istio-sidecar-injector', 'patch mutatingwebhookconfigurations/someone-elses', false],
    ['istio-sidecar-injector', 'update secrets/istio-sidecar-injector-certs -n istio-system', true],
    ['istio-sidecar-injector', 'get secrets -n default', false],
    ['istio-sidecar-injector', 'create pods -n default', false],
    ['istio-pilot', 'watch endpointslices.discovery.k8s.io', true],
    ['istio-pilot', 'list services', true],
    ['istio-pilot', 'list ingresses.networking.k8s.io', true],
    ['istio-pilot', 'watch routerules.config.istio.io', true],
    ['istio-pilot', 'patch routerules.config.istio.io --subresource=status -n default', true],
    ['istio-pilot', 'create routerules.config.istio.io -n default', false],
    ['istio-pilot', 'watch workloadentries.networking.istio.io', true],
    ['istio-pilot', 'create workloadentries.networking.istio.io -n default', true],
    ['istio-pilot', 'delete workloadentries.networking.istio.io -n default', true],
    [
      'istio-pilot',
      'patch workloadentries.networking.istio.io --subresource=status -n default',
      true,
    ],
    ['istio-pilot', 'list workloadgroups.networking.istio.io', true],
    ['istio-pilot', 'create workloadgroups.networking.istio.io -n default', false],
    ['istio-pilot', 'get secrets -n default', false],
    ['istio-pilot', 'delete services -n default', false],
    ['istio-ca', 'create secrets -n default', true],
    ['istio-ca', 'watch serviceaccounts', true],
    ['istio-ca', 'create tokenreviews.authentication.k8s.io', true],
    ['istio-ca', 'delete pods -n default', false],
    ['istio-ca', 'patch mutatingwebhookconfigurations', false],
    ['istio-ca', 'create workloadentries.networking.istio.io -n default', false],
    ['istio-mixer', 'watch rules.config.istio.io', true],
    ['istio-mixer', 'list deniers.config.istio.io', true],
    ['istio-mixer', 'watch stackdrivers.config.istio.io', true],
    ['istio-mixer', 'create events -n default', true],
    ['istio-mixer', 'watch pods', true],
    ['istio-mixer', 'delete pods -n default', false],
    ['istio-mixer', 'get secrets -n default', false],
    ['istio-mixer', 'create rules.config.istio.io -n default', false],
    ['istio-ingress', 'list pods', false],
    ['istio-ingress', 'watch secrets -n default', true],
    ['istio-ingress', 'update secrets -n default', false],
  ];
  for (const [sa, what, want] of canI) {
    it(`RBAC: ${sa} ${want ? 'can' : 'cannot'} ${what}`, async () => {
      const args = [
        'auth',
        'can-i',
        ...what.split(' '),
        `--as=system:serviceaccount:${ns}:${sa}`,
        '--kubeconfig',
        env.kubeconfig,
      ];
      const got = await exec('kubectl', args).then(
        (r) => r.stdout.trim(),
        (e: unknown) => ((e as { stdout?: string }).stdout ?? '').trim(),
      );
      assert.equal(got, want ? 'yes' : 'no');
    });
  }

  it('runs the webhook, Pilot, Mixer and the CA with the chart ConfigMaps and their own ServiceAccounts', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const dir = mkdtempSync(join(tmpdir(), 'chart-config-'));
    const injectConfig = join(dir, 'config');
    const meshConfig = join(dir, 'mesh');
    const injector = await core.readNamespacedConfigMap({
      name: 'istio-sidecar-injector',
      namespace: ns,
    });
    const mesh = await core.readNamespacedConfigMap({ name: 'istio', namespace: ns });
    writeFileSync(injectConfig, injector.data?.['config'] ?? '');
    writeFileSync(meshConfig, mesh.data?.['mesh'] ?? '');

    const webhookKc = await serviceAccountKubeConfig(env.kc, ns, 'istio-sidecar-injector');
    const webhook = await startTestWebhook(webhookKc, {
      injectConfigFile: injectConfig,
      meshConfigFile: meshConfig,
    });
    const caKc = await serviceAccountKubeConfig(env.kc, ns, 'istio-ca');
    const ca = await runCa(
      parseCaConfig(
        {
          namespace: ns,
          'grpc-host': '127.0.0.1',
          'grpc-port': '0',
          'monitoring-host': '127.0.0.1',
          'monitoring-port': '0',
        },
        {},
      ),
      caKc,
      quietLogger,
    );
    const pilot = await runPilot({
      logger: quietLogger,
      mesh: parseMeshConfig(parseConfigText(mesh.data?.['mesh'] ?? '', 'mesh', 'mesh')),
      kc: await serviceAccountKubeConfig(env.kc, ns, 'istio-pilot'),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      httpHost: '127.0.0.1',
      httpPort: 0,
      debounceMs: 100,
      debounceMaxMs: 1000,
      domain: 'cluster.local',
    });
    const mixer = await runMixer({
      logger: quietLogger,
      port: 0,
      host: '127.0.0.1',
      monitoringPort: 0,
      configDefaultNamespace: ns,
      kc: await serviceAccountKubeConfig(env.kc, ns, 'istio-mixer'),
      configFiles: [],
      failPolicy: 'closed',
      adapterModules: [],
      instance: 'chart-test',
    });
    try {
      // Mixer: its config informers synced as its ServiceAccount.
      await mixer.ready();
      // Webhook: its certificates in the chart's Secret, caBundle patched into the chart's configuration.
      const admission = env.kc.makeApiClient(AdmissionregistrationV1Api);
      await waitFor(
        async () => {
          const c = await admission.readMutatingWebhookConfiguration({
            name: 'istio-sidecar-injector',
          });
          return (c.webhooks ?? []).every((w) => (w.clientConfig.caBundle ?? '') !== '');
        },
        15_000,
        'caBundle patched by the injector as its ServiceAccount',
      );
      const certs = await core.readNamespacedSecret({
        name: 'istio-sidecar-injector-certs',
        namespace: ns,
      });
      assert.ok((certs.data?.['cert.pem'] ?? '') !== '');
      // CA: the root in istio-ca-secret, a workload Secret for a new ServiceAccount.
      const root = await core.readNamespacedSecret({ name: 'istio-ca-secret', namespace: ns });
      assert.ok((root.data?.['ca-cert.pem'] ?? '') !== '');
      await core.createNamespace({ body: { metadata: { name: 'shop' } } });
      await core.createNamespacedServiceAccount({
        namespace: 'shop',
        body: { metadata: { name: 'web' } },
      });
      await waitFor(
        async () =>
          (await core.readNamespacedSecret({ name: 'istio.web', namespace: 'shop' })).type ===
          'istio.io/key-and-cert',
        15_000,
        'istio.web',
      );
      // Pilot: ready with its informers synced as its ServiceAccount.
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${pilot.httpPort}/ready`)).status === 200,
        15_000,
        'pilot ready',
      );
    } finally {
      await Promise.all([webhook.close(), ca.close(), pilot.close(), mixer.close()]);
    }
  });

  it('keeps the root and the injector certificates through helm upgrade', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const before = await core.readNamespacedSecret({ name: 'istio-ca-secret', namespace: ns });
    const certsBefore = await core.readNamespacedSecret({
      name: 'istio-sidecar-injector-certs',
      namespace: ns,
    });
    await run(['upgrade', 'istio-lite', chartDir, '-n', ns, '--set', 'pilot.replicas=2']);
    const after = await core.readNamespacedSecret({ name: 'istio-ca-secret', namespace: ns });
    const certsAfter = await core.readNamespacedSecret({
      name: 'istio-sidecar-injector-certs',
      namespace: ns,
    });
    assert.deepEqual(after.data, before.data);
    assert.deepEqual(certsAfter.data, certsBefore.data);
  });

  it('uninstalls everything but the CRDs and the root Secret', async () => {
    await run(['uninstall', 'istio-lite', '-n', ns]);
    const core = env.kc.makeApiClient(CoreV1Api);
    const gone = async (read: () => Promise<unknown>, what: string) => {
      await read().then(
        () => assert.fail(`${what} is still there`),
        (e: unknown) => {
          assert.ok(isNotFound(e), `${what}: ${errorMessage(e)}`);
        },
      );
    };
    await gone(
      () => core.readNamespacedConfigMap({ name: 'istio', namespace: ns }),
      'ConfigMap istio',
    );
    await gone(
      () => core.readNamespacedServiceAccount({ name: 'istio-ca', namespace: ns }),
      'ServiceAccount istio-ca',
    );
    await gone(
      () => core.readNamespacedSecret({ name: 'istio-sidecar-injector-certs', namespace: ns }),
      'the injector certificates',
    );
    await gone(
      () =>
        env.kc
          .makeApiClient(AdmissionregistrationV1Api)
          .readMutatingWebhookConfiguration({ name: 'istio-sidecar-injector' }),
      'the webhook configuration',
    );
    await core.readNamespacedSecret({ name: 'istio-ca-secret', namespace: ns });
    const crds = await env.kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
    assert.ok(crds.items.some((c) => c.spec.group === 'config.istio.io'));
  });
});
