/**
 * bench:scale's printout: one column per step (pods), the growth from the first step to the last
 * beside the growth in pods (linear when they match), each process's memory and CPU seconds beside
 * the API server's own, and the goals.
 */
import type { ProcessReading } from './metrics.ts';

export interface StepFigures {
  readonly pods: number;
  readonly admittedPerSecond: number;
  /** API server's view of the webhook: seconds. */
  readonly webhookP50: number;
  readonly webhookP99: number;
  readonly webhookWithin5ms: number;
  readonly webhookCalls: number;
  /** The bare webhook (allows every pod unchanged) on the same calls: seconds. */
  readonly bareP50: number;
  readonly bareP99: number;
  readonly bareWithin5ms: number;
  /** The webhook's own time per request (its sidecar_injection_time_seconds), seconds. */
  readonly injectorP50: number;
  readonly injectorP99: number;
  /** Step start → every pod Running and injected / every client holds the mesh, seconds. */
  readonly runningS: number;
  readonly meshS: number;
  /** One change, slice → last client and request → last client: ms. */
  readonly changeP50: number;
  readonly changeP99: number;
  readonly requestP50: number;
  readonly requestP99: number;
  readonly changes: number;
  readonly churnRequests: number;
  /** SA creation → every istio.<sa> Secret exists (first step only), seconds. */
  readonly secretsS: number | undefined;
  /** CPU seconds used during the step and memory at its end, per process. */
  readonly cpu: ReadonlyMap<string, number>;
  readonly end: ReadonlyMap<string, ProcessReading>;
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : String(v));
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : String(v));
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const msOf = (s: number) => (Number.isFinite(s) ? `${(s * 1000).toFixed(1)} ms` : 'n/a');
const ratio = (a: number, b: number) =>
  b > 0 && Number.isFinite(a / b) ? `x${(a / b).toFixed(1)}` : '-';

function row(label: string, cells: readonly string[], growth = ''): string {
  return `${label.padEnd(44)}${cells.map((c) => c.padStart(14)).join('')}${growth.padStart(10)}`;
}

export const ours = ['webhook', 'pilot', 'mixer', 'ca'] as const;
export const cluster = [
  'kube-apiserver',
  'etcd',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
  'bare webhook',
  'bench (clients)',
] as const;

export function report(steps: readonly StepFigures[], goals: { readonly pilotMb: number }): string {
  const first = steps[0];
  const last = steps[steps.length - 1];
  if (first === undefined || last === undefined) return 'no step finished\n';
  const grow = (f: (s: StepFigures) => number) =>
    steps.length > 1 ? ratio(f(last), f(first)) : '';
  const line = (label: string, f: (s: StepFigures) => number, fmt: (v: number) => string) =>
    row(
      label,
      steps.map((s) => fmt(f(s))),
      grow(f),
    );
  const mem = (s: StepFigures, name: string) => s.end.get(name)?.memory.rss ?? NaN;
  const peak = (s: StepFigures, name: string) => s.end.get(name)?.memory.peak ?? NaN;
  const cpu = (s: StepFigures, name: string) => s.cpu.get(name) ?? NaN;
  const out: string[] = [
    row(
      'pods',
      steps.map((s) => n0(s.pods)),
      grow((s) => s.pods),
    ),
    line('pods admitted per second', (s) => s.admittedPerSecond, f1),
    line('webhook as the API server sees it: p50', (s) => s.webhookP50, msOf),
    line('                                    p99', (s) => s.webhookP99, msOf),
    line('  calls answered within 5 ms (%)', (s) => s.webhookWithin5ms * 100, f1),
    line('  a bare webhook on the same pods: p50', (s) => s.bareP50, msOf),
    line('                                  p99', (s) => s.bareP99, msOf),
    line('    within 5 ms (%)', (s) => s.bareWithin5ms * 100, f1),
    line("  the webhook's own time: p50", (s) => s.injectorP50, msOf),
    line('                          p99', (s) => s.injectorP99, msOf),
    line('until every pod is Running and injected (s)', (s) => s.runningS, f1),
    line('until the clients hold the full mesh (s)', (s) => s.meshS, f1),
    line('endpoint change, slice -> every client: p50 (ms)', (s) => s.changeP50, n0),
    line('                                        p99 (ms)', (s) => s.changeP99, n0),
    line('  from the scale request: p50 (ms)', (s) => s.requestP50, n0),
    line('                          p99 (ms)', (s) => s.requestP99, n0),
    row(
      '  changes measured / churn scale requests',
      steps.map((s) => `${String(s.changes)}/${String(s.churnRequests)}`),
    ),
    row(
      'until every istio.<sa> Secret exists (s)',
      steps.map((s) => (s.secretsS === undefined ? '-' : f1(s.secretsS))),
    ),
    '',
    row('memory (RSS at the end of the step; peak)', []),
  ];
  for (const name of [...ours, ...cluster]) {
    out.push(line(`  ${name}`, (s) => mem(s, name), mb));
    out.push(line(`    peak`, (s) => peak(s, name), mb));
  }
  out.push('', row('CPU seconds during the step', []));
  for (const name of [...ours, ...cluster]) out.push(line(`  ${name}`, (s) => cpu(s, name), f1));
  out.push('', row("beside the API server's own (ours / kube-apiserver)", []));
  for (const name of ours) {
    out.push(
      row(
        `  ${name}: memory, CPU`,
        steps.map(
          (s) =>
            `${ratio(mem(s, name), mem(s, 'kube-apiserver'))} ${ratio(cpu(s, name), cpu(s, 'kube-apiserver'))}`,
        ),
      ),
    );
  }
  const pass = (ok: boolean) => (ok ? 'met' : 'NOT met');
  out.push(
    '',
    `goal: webhook p99 <= 10 ms as the API server sees it: ${msOf(last.webhookP99)} at ${n0(last.pods)} pods (${pass(last.webhookP99 <= 0.01)}; its buckets are 5 and 25 ms); a bare webhook there: ${msOf(last.bareP99)} (${ratio(last.webhookP99, last.bareP99)})`,
    `goal: an endpoint change at every client p99 <= 1 s under churn: ${n0(last.changeP99)} ms (${pass(last.changeP99 <= 1000)})`,
    `goal: Pilot <= ${String(goals.pilotMb)} MB at ${n0(last.pods)} pods: ${mb(peak(last, 'pilot'))} peak (${pass(peak(last, 'pilot') <= goals.pilotMb * 1024 * 1024)})`,
  );
  return `${out.join('\n')}\n`;
}
