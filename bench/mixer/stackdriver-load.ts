/**
 * What Google's client packages cost a Mixer process when a stackdriver handler first sends: each
 * case runs in a fresh Node process, which imports the package(s) and constructs the client the
 * adapter uses (@google-cloud/monitoring's MetricServiceClient, @google-cloud/logging's
 * LoggingServiceV2Client), then reports the time taken and the growth of the resident set and of
 * the live heap (after a full GC), against a baseline process that imports nothing, measured in
 * the same run. Medians of --runs. Mixer never pays this unless a stackdriver handler is
 * configured: the adapter imports the packages on its first push (stackdriver-clients.ts).
 *
 *   node bench/mixer/stackdriver-load.ts [--runs 5]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);

const cases = {
  baseline: '',
  monitoring: `const { MetricServiceClient } = await import('@google-cloud/monitoring');
    new MetricServiceClient(opts);`,
  logging: `const { v2 } = await import('@google-cloud/logging');
    new v2.LoggingServiceV2Client(opts);`,
  both: `const { MetricServiceClient } = await import('@google-cloud/monitoring');
    const { v2 } = await import('@google-cloud/logging');
    new MetricServiceClient(opts); new v2.LoggingServiceV2Client(opts);`,
} as const;

interface Sample {
  readonly ms: number;
  readonly rssMb: number;
  readonly heapMb: number;
}

function sample(body: string): Sample {
  const script = `
    const opts = { projectId: 'p', universeDomain: 'googleapis.com' };
    globalThis.gc(); const r0 = process.memoryUsage(); const t0 = performance.now();
    ${body}
    const ms = performance.now() - t0; globalThis.gc(); const r1 = process.memoryUsage();
    process.stdout.write(JSON.stringify({ ms, rssMb: (r1.rss - r0.rss) / 1048576,
      heapMb: (r1.heapUsed - r0.heapUsed) / 1048576 }));`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    cwd: new URL('../..', import.meta.url),
    encoding: 'utf8',
  });
  return JSON.parse(out) as Sample;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

const results = new Map<string, Sample>();
for (const [name, body] of Object.entries(cases)) {
  const samples = Array.from({ length: runs }, () => sample(body));
  results.set(name, {
    ms: median(samples.map((s) => s.ms)),
    rssMb: median(samples.map((s) => s.rssMb)),
    heapMb: median(samples.map((s) => s.heapMb)),
  });
}
const base = results.get('baseline') ?? { ms: 0, rssMb: 0, heapMb: 0 };
console.log(`median of ${String(runs)} fresh processes each (Node ${process.version})`);
console.log('case        load ms   RSS +MB   heap +MB   (over the baseline process)');
for (const [name, r] of results) {
  const f = (n: number, w: number) => n.toFixed(1).padStart(w);
  console.log(
    `${name.padEnd(10)} ${f(r.ms - base.ms, 8)} ${f(r.rssMb - base.rssMb, 9)} ${f(r.heapMb - base.heapMb, 10)}`,
  );
}
