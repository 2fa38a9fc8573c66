/**
 * The chart's tracing values (`tracing.zipkinAddress`, `tracing.sampling`), rendered by the real
 * helm: off by default; set, the mesh ConfigMap names the collector and the sampling percentage
 * (read back with the mesh config parser Pilot and the injector use), Mixer gets `--zipkinURL`
 * and the gateways `--zipkinAddress`, both with `--traceSampling`, each read back with its
 * command's own option parser; bad values fail the render naming the value.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { agentOptions, agentSettings } from '../../agent/settings.ts';
import { chartDir } from '../../lib/chart.ts';
import { parseArgsConfig, parseOptions } from '../../lib/config/options.ts';
import { isObject, type JsonObject } from '../../lib/json.ts';
import { helmPath } from '../../lib/local-cluster/binaries.ts';
import { parseMeshConfig } from '../../lib/mesh-config.ts';
import { parseYamlDocument, parseYamlDocuments } from '../../lib/yaml.ts';
import { mixerOptions, mixerSettings } from '../../mixer/settings.ts';

const exec = promisify(execFile);

function at(v: unknown, ...path: (string | number)[]): unknown {
  let cur = v;
  for (const p of path) cur = (cur as Record<string | number, unknown> | undefined)?.[p];
  return cur;
}

describe('Helm chart: tracing', function () {
  this.timeout(60_000);
  let helm: string;

  before(async () => {
    helm = await helmPath();
  });

  const render = async (...set: string[]): Promise<JsonObject[]> => {
    const args = ['template', 'istio-lite', chartDir, '-n', 'istio-system'];
    args.push('--kube-version', '1.37.0', ...set.flatMap((s) => ['--set', s]));
    const { stdout } = await exec(helm, args, { maxBuffer: 32 * 1024 * 1024 });
    return parseYamlDocuments(stdout, 'helm template')
      .map((d) => d.value)
      .filter(isObject);
  };

  const find = (docs: JsonObject[], kind: string, name: string): JsonObject => {
    const d = docs.find((o) => o['kind'] === kind && at(o, 'metadata', 'name') === name);
    assert.ok(d, `${kind} ${name} rendered`);
    return d;
  };

  const mesh = (docs: JsonObject[]) =>
    parseMeshConfig(
      parseYamlDocument(String(at(find(docs, 'ConfigMap', 'istio'), 'data', 'mesh'))),
    );

  /** A Deployment's container args after the subcommand(s), as its command parses them. */
  const argsOf = (docs: JsonObject[], name: string, skip: number): string[] => {
    const args = at(
      find(docs, 'Deployment', name),
      'spec',
      'template',
      'spec',
      'containers',
      0,
      'args',
    );
    assert.ok(Array.isArray(args));
    return args.map(String).slice(skip);
  };

  const mixerOf = (docs: JsonObject[]) => {
    const flags = parseArgs({
      args: argsOf(docs, 'istio-mixer', 1),
      options: parseArgsConfig(mixerOptions),
      strict: true,
    }).values;
    return mixerSettings(parseOptions(mixerOptions, flags), { cwd: process.cwd(), env: {} });
  };

  const gatewayOf = (docs: JsonObject[], name: string) => {
    const flags = parseArgs({
      args: argsOf(docs, name, 2),
      options: parseArgsConfig(agentOptions),
      strict: true,
    }).values;
    return agentSettings('router', parseOptions(agentOptions, flags), {
      POD_NAME: 'gw-1',
      POD_NAMESPACE: 'istio-system',
      INSTANCE_IP: '10.0.0.1',
    });
  };

  it('is off by default: no collector anywhere', async () => {
    const docs = await render();
    assert.equal(mesh(docs).defaultConfig.zipkinAddress, '');
    assert.equal(mixerOf(docs).zipkinUrl, undefined);
    for (const gw of ['istio-ingress', 'istio-egress']) {
      assert.equal(gatewayOf(docs, gw).zipkinAddress, undefined, gw);
    }
  });

  it('names the collector and the sampling in the mesh config, Mixer and the gateways', async () => {
    const docs = await render(
      'tracing.zipkinAddress=jaeger.observability:9411',
      'tracing.sampling=100',
    );
    const m = mesh(docs);
    assert.equal(m.enableTracing, true);
    assert.equal(m.defaultConfig.zipkinAddress, 'jaeger.observability:9411');
    assert.equal(m.defaultConfig.tracing.sampling, 100);
    const mixer = mixerOf(docs);
    assert.equal(mixer.zipkinUrl, 'http://jaeger.observability:9411/api/v2/spans');
    assert.equal(mixer.traceSampling, 100);
    for (const gw of ['istio-ingress', 'istio-egress']) {
      const c = gatewayOf(docs, gw);
      assert.equal(c.zipkinAddress, 'jaeger.observability:9411', gw);
      assert.equal(c.traceSampling, 100, gw);
    }
  });

  it('keeps the default 1% and takes fractions', async () => {
    const one = await render('tracing.zipkinAddress=zipkin:9411');
    assert.equal(mesh(one).defaultConfig.tracing.sampling, 1);
    assert.equal(mixerOf(one).traceSampling, 1);
    const half = await render('tracing.zipkinAddress=zipkin:9411', 'tracing.sampling=0.5');
    assert.equal(mesh(half).defaultConfig.tracing.sampling, 0.5);
    assert.equal(gatewayOf(half, 'istio-ingress').traceSampling, 0.5);
  });

  for (const [what, set, want] of [
    [
      'a sampling above 100',
      'tracing.sampling=101',
      /tracing.sampling must be a percentage from 0 to 100, got "101"/,
    ],
    [
      'a sampling that is not a number',
      'tracing.sampling=lots',
      /tracing.sampling must be a percentage/,
    ],
    [
      'a collector without a port',
      'tracing.zipkinAddress=zipkin',
      /tracing.zipkinAddress must be host:port/,
    ],
  ] as const) {
    it(`refuses ${what}, naming the value`, async () => {
      await assert.rejects(render(set), want);
    });
  }
});
