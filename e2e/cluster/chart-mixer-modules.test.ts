/**
 * A custom adapter shipped through the chart, against the real API server and the real helm: a
 * module adding a template of its own and an adapter for it (mixer/example-template) given as
 * `mixer.adapterModules`, its kinds as `mixer.extraKinds`, Mixer's own image as `mixer.image`. The chart's ClusterRole grants Mixer
 * exactly those kinds; the module's own CRDs refuse a malformed instance naming the field; Mixer,
 * started with the arguments of the installed Deployment (parsed by the real option table) and
 * its own ServiceAccount's token, watches the new kinds, and a rule using them decides real
 * Mixer v1 Checks.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import {
  AppsV1Api,
  CustomObjectsApi,
  ApiextensionsV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import { chartDir } from '../../lib/chart.ts';
import { parseArgsConfig, parseOptions, type RawValue } from '../../lib/config/options.ts';
import { errorMessage } from '../../lib/errors.ts';
import { unaryClient } from '../../lib/grpc/services.ts';
import { applyObjects } from '../../lib/kube/apply.ts';
import { helmPath } from '../../lib/local-cluster/cluster.ts';
import { compress } from '../../lib/mixer/compress.ts';
import { globalWordCount } from '../../lib/mixer/global-dictionary.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import type { Value } from '../../lib/mixer/value.ts';
import type { CheckResponseMessage } from '../../lib/mixer/wire.ts';
import { Code } from '../../mixer/adapter.ts';
import { runMixer, type RunningMixer } from '../../mixer/run.ts';
import { mixerOptions, mixerSettings } from '../../mixer/settings.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';
import { yamlObjects } from './mixer-support.ts';
import { serviceAccountKubeConfig } from './service-account-kubeconfig.ts';
import { quietLogger } from './webhook-support.ts';

const exec = promisify(execFile);
const ns = 'istio-system';
const moduleFile = fileURLToPath(
  new URL('../../mixer/example-template/accessrequest.ts', import.meta.url),
);
const example = (f: string) => new URL(`../../mixer/example-template/${f}`, import.meta.url);

/** The Mixer container's arguments in the installed Deployment, parsed as `istio-lite mixer` does. */
async function installedMixerArgs(kc: KubeConfig): Promise<Readonly<Record<string, RawValue>>> {
  const d = await kc
    .makeApiClient(AppsV1Api)
    .readNamespacedDeployment({ name: 'istio-mixer', namespace: ns });
  const c = d.spec?.template.spec?.containers.find((x) => x.name === 'mixer');
  assert.equal(c?.image, 'acme/istio-lite-mixer:1.0', 'mixer.image: the image with the adapter');
  const [command, ...args] = c.args ?? [];
  assert.equal(command, 'mixer');
  return parseArgs({ args, options: parseArgsConfig(mixerOptions), strict: true }).values;
}

describe('Helm chart: a custom Mixer adapter and template from mixer.adapterModules', function () {
  this.timeout(120_000);
  const env = useLocalCluster({ dedicated: true });
  let mixer: RunningMixer | undefined;
  let client: ReturnType<typeof unaryClient> | undefined;

  after(async () => {
    client?.close();
    await mixer?.close();
  });

  it('installs with the module and its kinds; the module’s CRDs go in', async () => {
    const helm = await helmPath();
    await exec(helm, [
      'install',
      'istio-lite',
      chartDir,
      '-n',
      ns,
      '--create-namespace',
      '--kubeconfig',
      env.kubeconfig,
      '--set',
      `mixer.adapterModules={${moduleFile}}`,
      '--set',
      'mixer.extraKinds={accessrequest,pathacl}',
      '--set',
      'mixer.image=acme/istio-lite-mixer:1.0',
    ]).catch((e: unknown) => {
      throw new Error(`helm install: ${(e as { stderr?: string }).stderr ?? errorMessage(e)}`);
    });
    const crds = yamlObjects(example('accessrequest-crds.yaml'));
    await applyObjects(env.kc, crds, 'chart-mixer-modules-test');
    const ext = env.kc.makeApiClient(ApiextensionsV1Api);
    await eventually(
      async () => {
        for (const name of ['accessrequests.config.istio.io', 'pathacls.config.istio.io']) {
          const crd = await ext.readCustomResourceDefinition({ name });
          assert.ok(
            crd.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'),
            name,
          );
        }
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  });

  const canI: [string, boolean][] = [
    ['watch accessrequests.config.istio.io', true],
    ['list pathacls.config.istio.io', true],
    ['get accessrequests.config.istio.io -n default', true],
    ['create accessrequests.config.istio.io -n default', false],
    ['list httpsinks.config.istio.io', false],
    ['list rules.config.istio.io', true],
  ];
  for (const [what, want] of canI) {
    it(`RBAC: istio-mixer ${want ? 'can' : 'cannot'} ${what}`, async () => {
      const args = ['auth', 'can-i', ...what.split(' ')];
      args.push(`--as=system:serviceaccount:${ns}:istio-mixer`, '--kubeconfig', env.kubeconfig);
      const got = await exec('kubectl', args).then(
        (r) => r.stdout.trim(),
        (e: unknown) => ((e as { stdout?: string }).stdout ?? '').trim(),
      );
      assert.equal(got, want ? 'yes' : 'no');
    });
  }

  it('the API server refuses an instance of the new kind without its required field', async () => {
    const api = env.kc.makeApiClient(CustomObjectsApi);
    const err = await api
      .createNamespacedCustomObject({
        group: 'config.istio.io',
        version: 'v1alpha2',
        namespace: ns,
        plural: 'accessrequests',
        body: {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'accessrequest',
          metadata: { name: 'nouser' },
          spec: { method: 'request.method' },
        },
      })
      .then(
        () => '',
        (e: unknown) => errorMessage(e),
      );
    assert.match(err, /spec.*user.*Required|Required.*user/i);
  });

  it('runs Mixer as its ServiceAccount with the Deployment’s arguments: the rule decides Checks', async () => {
    const flags = await installedMixerArgs(env.kc);
    const { kube, ...settings } = mixerSettings(parseOptions(mixerOptions, flags), {
      cwd: process.cwd(),
      env: {},
    });
    assert.ok(kube, 'the chart configures Mixer from the API server');
    assert.deepEqual(settings.adapterModules, [moduleFile]);
    mixer = await runMixer({
      ...settings,
      host: '127.0.0.1',
      port: 0,
      monitoringPort: 0,
      logger: quietLogger,
      kc: await serviceAccountKubeConfig(env.kc, ns, 'istio-mixer'),
    });
    await mixer.ready();
    await applyObjects(
      env.kc,
      yamlObjects(example('accessrequest.yaml')),
      'chart-mixer-modules-test',
    );
    const running = mixer;
    await eventually(
      () => {
        const s = running.core.controller.snapshot();
        assert.deepEqual(s.problems, []);
        assert.equal(s.counts['rule'], 1);
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    const c = unaryClient(
      mixerService(),
      `127.0.0.1:${String(mixer.grpcPort)}`,
      credentials.createInsecure(),
    );
    client = c;
    const check = async (user: string, path: string) => {
      const attrs = new Map<string, Value>([
        ['request.path', path],
        ['request.method', 'GET'],
        ['request.headers', new Map([['x-user', user]])],
      ]);
      const res = (await c.call('Check', {
        attributes: compress(attrs),
        global_word_count: globalWordCount,
        deduplication_id: '',
        quotas: {},
      })) as CheckResponseMessage;
      return res.precondition.status;
    };
    assert.equal((await check('bob', '/ratings/1')).code, Code.OK);
    assert.equal((await check('alice', '/admin')).code, Code.OK);
    const denied = await check('bob', '/admin');
    assert.equal(denied.code, Code.PERMISSION_DENIED);
    assert.equal(denied.message, 'pathacl: "bob" may not GET /admin');
  });
});
