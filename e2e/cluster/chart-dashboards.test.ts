/**
 * The chart's dashboards, against real helm and a real API server:
 *
 * - the Grafana dashboards (charts/istio-lite/dashboards/*.json) are valid JSON, each panel has
 *   PromQL, and every metric the PromQL names is one the project exports (read from the real
 *   /metrics of Pilot and of a Mixer with the examples' prometheus handler, and from the
 *   injector's and the CA's own metrics); with grafana.dashboards.enabled they render as
 *   ConfigMaps labelled grafana_dashboard: "1" holding the files, which the API server accepts;
 * - with dashboard.enabled the dashboard's objects apply, its arguments parse with the real
 *   command's options, and its ServiceAccount may read exactly what the dashboard reads (the
 *   istio-pilot and istio-mixer EndpointSlices and their pods through the pod proxy) in its own
 *   namespace only;
 * - both are off by default.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AuthorizationV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { createCaMetrics } from '../../ca/metrics.ts';
import { chartDir, helmTemplate } from '../../lib/chart.ts';
import { parseArgsConfig, parseOptions } from '../../lib/config/options.ts';
import { isObject, type JsonObject } from '../../lib/json.ts';
import { applyObjects } from '../../lib/kube/apply.ts';
import { helmPath } from '../../lib/local-cluster/cluster.ts';
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import { createRegistry } from '../../lib/metrics.ts';
import { createMixerMetrics } from '../../mixer/metrics.ts';
import { startTestMixer } from '../../mixer/testing/server.ts';
import { kubePlane } from '../../ops/control-plane.ts';
import { dashboardOptions } from '../../ops/dashboard/settings.ts';
import { runPilot } from '../../pilot/run.ts';
import { fixtureRegistry } from '../../pilot/testing/mesh-fixture.ts';
import { createWebhookMetrics } from '../../webhook/metrics.ts';
import { useLocalCluster } from './local-cluster.ts';
import { serviceAccountKubeConfig } from './service-account-kubeconfig.ts';

const dashboardsDir = join(chartDir, 'dashboards');

/** Metric names in an exposition (histograms and summaries with their series' suffixes). */
function exported(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = '', type] = m;
    out.add(name);
    if (type === 'histogram' || type === 'summary') {
      for (const s of ['_bucket', '_sum', '_count']) out.add(`${name}${s}`);
    }
  }
  return out;
}

const promqlWords = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'rate',
  'irate',
  'increase',
  'round',
  'vector',
  'time',
  'histogram_quantile',
  'label_values',
  'by',
  'without',
  'on',
  'ignoring',
  'or',
  'and',
  'unless',
  'bool',
  'offset',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression reads. */
function metricsOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ''); // grouping labels
  const out: string[] = [];
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    const word = m[0].replace(/\s*\($/, '');
    if (m[1] !== undefined || promqlWords.has(word)) continue; // a function call or keyword
    out.push(word);
  }
  return out;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function exprsOf(dashboard: JsonObject): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  const panels = Array.isArray(dashboard['panels']) ? dashboard['panels'].filter(isObject) : [];
  for (const p of panels) {
    if (p['type'] === 'row') continue;
    const targets = Array.isArray(p['targets']) ? p['targets'].filter(isObject) : [];
    assert.ok(targets.length > 0, `panel "${text(p['title'])}" has no query`);
    for (const t of targets) {
      assert.equal(
        typeof t['expr'],
        'string',
        `panel "${text(p['title'])}": a target without expr`,
      );
      out.push({ panel: text(p['title']), expr: text(t['expr']) });
    }
  }
  const vars =
    isObject(dashboard['templating']) && Array.isArray(dashboard['templating']['list'])
      ? dashboard['templating']['list'].filter(isObject)
      : [];
  for (const v of vars) {
    const q = isObject(v['query']) ? v['query']['query'] : undefined;
    if (typeof q === 'string')
      out.push({
        panel: `variable ${text(v['name'])}`,
        expr: q.replace(/^label_values\(([^,)]+).*$/, '$1'),
      });
  }
  return out;
}

describe('chart: the mesh dashboard and the Grafana dashboards', function () {
  this.timeout(120_000);
  const env = useLocalCluster({ namespacePrefix: 'chartdash' });
  let helm: string;

  before(async () => {
    helm = await helmPath();
  });

  it('Grafana dashboards: valid JSON whose every PromQL names a metric the project exports', async () => {
    const pilot = await runPilot({
      logger: pino({ level: 'silent' }),
      mesh: defaultMeshConfig,
      registry: fixtureRegistry(),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      httpHost: '127.0.0.1',
      httpPort: 0,
      debounceMs: 10,
      debounceMaxMs: 50,
      domain: 'cluster.local',
    });
    const mixer = await startTestMixer();
    const names = new Set<string>();
    try {
      for (const n of exported(
        await (await fetch(`http://127.0.0.1:${String(pilot.httpPort)}/metrics`)).text(),
      ))
        names.add(n);
      for (const n of exported(await mixer.scrape())) names.add(n);
    } finally {
      await mixer.close();
      await pilot.close();
    }
    const webhook = createRegistry('istio_lite_webhook');
    createWebhookMetrics(webhook);
    const ca = createRegistry('istio_lite_ca');
    createCaMetrics(ca);
    // Mixer's own metrics and process metrics, as `istio-lite mixer` registers them (mixer/run.ts).
    const mixerOwn = createRegistry('mixer');
    createMixerMetrics(mixerOwn);
    for (const r of [webhook, ca, mixerOwn])
      for (const n of exported(await r.metrics())) names.add(n);
    // Mixer's request metrics, as its prometheus handler exports them.
    for (const n of ['request_count', 'request_duration_bucket']) assert.ok(names.has(n), n);

    const files = readdirSync(dashboardsDir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    assert.deepEqual(files, ['control-plane.json', 'mesh.json']);
    for (const f of files) {
      const dashboard = JSON.parse(readFileSync(join(dashboardsDir, f), 'utf8')) as JsonObject;
      assert.equal(typeof dashboard['uid'], 'string', f);
      const exprs = exprsOf(dashboard);
      assert.ok(exprs.length >= 10, `${f}: ${String(exprs.length)} queries`);
      for (const { panel, expr } of exprs) {
        const used = metricsOf(expr);
        assert.ok(used.length > 0, `${f}: "${panel}": no metric in ${expr}`);
        for (const m of used)
          assert.ok(names.has(m), `${f}: "${panel}": ${m} is not exported by istio-lite (${expr})`);
      }
    }
  });

  it('renders the Grafana dashboards as labelled ConfigMaps the API server accepts', async () => {
    const docs = await helmTemplate({
      helm,
      namespace: env.namespace,
      set: { 'grafana.dashboards.enabled': 'true' },
      showOnly: ['templates/grafana-dashboards.yaml'],
    });
    assert.deepEqual(
      docs.map((d) => (d['metadata'] as JsonObject)['name']),
      ['istio-lite-grafana-control-plane', 'istio-lite-grafana-mesh'],
    );
    for (const d of docs) {
      const md = d['metadata'] as JsonObject;
      assert.equal((md['labels'] as JsonObject)['grafana_dashboard'], '1');
      const data = d['data'] as Record<string, string>;
      const [key] = Object.keys(data);
      const file = (key ?? '').replace(/^istio-lite-/, '');
      assert.equal(
        data[key ?? ''],
        readFileSync(join(dashboardsDir, file), 'utf8').replace(/\n$/, ''),
      );
    }
    await applyObjects(env.kc, docs, 'chart-dashboards-test');
    const other = await helmTemplate({
      helm,
      set: { 'grafana.dashboards.enabled': 'true', 'grafana.dashboards.namespace': 'monitoring' },
      showOnly: ['templates/grafana-dashboards.yaml'],
    });
    assert.ok(other.every((d) => (d['metadata'] as JsonObject)['namespace'] === 'monitoring'));
  });

  it('runs the dashboard as its own ServiceAccount, reading Pilot and Mixer in its namespace only', async () => {
    const docs = await helmTemplate({
      helm,
      namespace: env.namespace,
      set: {
        'dashboard.enabled': 'true',
        'dashboard.prometheus': 'http://prometheus.monitoring:9090',
      },
      showOnly: ['templates/dashboard.yaml'],
    });
    assert.deepEqual(docs.map((d) => text(d['kind'])).sort(), [
      'Deployment',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    await applyObjects(env.kc, docs, 'chart-dashboards-test');
    const deployment = docs.find((d) => d['kind'] === 'Deployment') as JsonObject;
    const container = (
      (((deployment['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject)[
        'containers'
      ] as JsonObject[]
    )[0];
    const [command, ...args] = container?.['args'] as string[];
    assert.equal(command, 'dashboard');
    const { values } = parseArgs({
      args,
      options: parseArgsConfig(dashboardOptions),
      strict: true,
    });
    const v = parseOptions(dashboardOptions, values);
    assert.deepEqual(
      [v.address, v.port, v.istioNamespace, v.prometheus],
      ['0.0.0.0', 8088, env.namespace, 'http://prometheus.monitoring:9090'],
    );

    const sa = await serviceAccountKubeConfig(env.kc, env.namespace, 'istio-dashboard');
    const can = async (namespace: string, resource: string, verb: string, subresource = '') => {
      const r = await sa.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
        body: {
          spec: {
            resourceAttributes: {
              namespace,
              resource,
              verb,
              subresource,
              group: resource === 'endpointslices' ? 'discovery.k8s.io' : '',
            },
          },
        },
      });
      return r.status?.allowed === true;
    };
    assert.ok(await can(env.namespace, 'endpointslices', 'list'));
    assert.ok(await can(env.namespace, 'pods', 'get', 'proxy'));
    assert.ok(
      !(await can('default', 'pods', 'get', 'proxy')),
      'no pod proxy outside its namespace',
    );
    assert.ok(!(await can(env.namespace, 'secrets', 'get')));
    // The dashboard's own lookup works with that token (the namespace has no Pilot: a clear error, not a 403).
    const plane = kubePlane(sa, env.namespace, 'the dashboard ServiceAccount');
    await assert.rejects(
      plane.pilots(),
      /no Pilot found: the istio-pilot Service in namespace \S+ has no endpoints/,
    );
    await assert.rejects(
      plane.mixers(),
      /no Mixer found: the istio-mixer Service in namespace \S+ has no endpoints/,
    );
  });

  it('renders neither by default', async () => {
    const docs = await helmTemplate({ helm });
    const names = docs.map(
      (d) => `${text(d['kind'])}/${text((d['metadata'] as JsonObject)['name'])}`,
    );
    assert.ok(
      !names.some((n) => n.includes('istio-dashboard') || n.includes('grafana')),
      names.join('\n'),
    );
  });
});
