/**
 * bench/inject: injections per second and latency per injection for a realistic Deployment
 * (examples/10-productpage.yaml: probes to rewrite, named ports, a service account), on one core
 * (one Node thread). Measures the engine alone and the engine plus the JSON Patch the webhook
 * sends, against a baseline measured in the same run: a deep copy of the same object, the least
 * work any mutating webhook does. Target: >= 5,000 injections/s.
 *
 *   npm run bench:inject [-- --seconds N]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cloneJson, isObject, type JsonValue } from '../../lib/json.ts';
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import { parseYamlDocuments } from '../../lib/yaml.ts';
import { defaultInjectorConfig } from '../../webhook/config.ts';
import { injectObject, type InjectContext } from '../../webhook/engine.ts';
import { createPatch } from '../../webhook/patch.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' } } });
const seconds = Number(values.seconds);

const text = readFileSync(new URL('../../examples/10-productpage.yaml', import.meta.url), 'utf8');
const deployment = parseYamlDocuments(text).find(
  (d) => isObject(d.value) && d.value['kind'] === 'Deployment',
)?.value;
if (deployment === undefined) throw new Error('no Deployment in examples/10-productpage.yaml');

const ctx: InjectContext = {
  config: defaultInjectorConfig,
  mesh: defaultMeshConfig,
  namespaceLabels: { 'istio-injection': 'enabled' },
  namespace: 'demo',
};

interface Result {
  readonly name: string;
  readonly perSecond: number;
  readonly p50us: number;
  readonly p99us: number;
}

function measure(name: string, fn: () => unknown): Result {
  for (let i = 0; i < 2000; i++) fn(); // warm up the JIT
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - start) / 1000;
  samples.sort((a, b) => a - b);
  const at = (q: number) =>
    (samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0) * 1000;
  return { name, perSecond: samples.length / elapsed, p50us: at(0.5), p99us: at(0.99) };
}

const input: JsonValue = deployment;
const baseline = measure('baseline: deep copy only', () => cloneJson(input));
const engine = measure('engine (decide + render)', () => injectObject(input, ctx));
const webhook = measure('engine + JSON Patch', () =>
  createPatch(input, injectObject(input, ctx).object),
);

const rows = [baseline, engine, webhook];
console.log(`bench/inject: ${seconds}s per case, one thread, Node ${process.version}`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(28)} ${r.perSecond.toFixed(0).padStart(8)}/s  p50 ${r.p50us.toFixed(1).padStart(6)} µs  p99 ${r.p99us.toFixed(1).padStart(7)} µs  cost ${(baseline.perSecond / r.perSecond).toFixed(1)}x baseline`,
  );
}
const ok = webhook.perSecond >= 5000;
console.log(
  `target >= 5,000 injections/s (with patch): ${ok ? 'met' : 'NOT met'} (${webhook.perSecond.toFixed(0)}/s)`,
);
