/**
 * bench/pilot's printout: one column per server (the median over runs, with the range when there
 * were several), the ratio istio-lite/istiod, the goals against the peer, per-round lines and the
 * machine's no-op baselines (so figures compare across machines).
 */
import type { SideFigures } from './measure.ts';
import type { Memory } from './proc-stats.ts';
import type { BenchMesh } from './mesh.ts';

export interface Baselines {
  /** An empty Node process: start to exit, and its resident memory. */
  readonly node: { readonly startMs: number; readonly rss: number };
  /** API server write → a watch delivers it (ms, sorted): the floor under every change. */
  readonly watchFloor: readonly number[];
  readonly apiServerIdle: Memory | undefined;
  readonly load: string;
}

export interface ReportInput {
  readonly mesh: BenchMesh;
  readonly clients: number;
  readonly rounds: number;
  readonly runs: number;
  /** How istio-lite's Pilot was run (entry, NODE_OPTIONS, flags). */
  readonly pilot: string;
  readonly results: ReadonlyMap<string, readonly SideFigures[]>;
  readonly baselines: Baselines;
}

const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MB`;
const ms = (v: number): string =>
  Number.isFinite(v) ? `${Math.round(v).toString()} ms` : 'timeout';
const sec = (v: number): string => `${v.toFixed(2)} s`;
const pctf = (v: number): string => `${v.toFixed(1)} %`;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
}

type Row = readonly [string, (f: SideFigures) => number, (v: number) => string];

const rows: readonly Row[] = [
  ['ready after start (/ready 200)', (f) => f.readyMs, ms],
  ['RSS idle (informers synced, no client)', (f) => f.idle.rss, mb],
  ['full config at every client (max)', (f) => f.fullMs, ms],
  ['full config at a client (p50)', (f) => f.fullP50Ms, ms],
  ['  CPU seconds for the full push', (f) => f.fullCpuS, sec],
  ['RSS serving (after the full push)', (f) => f.serving.rss, mb],
  ['steady state: CPU (clients, no change)', (f) => f.steadyCpuPct, pctf],
  ['steady state: RSS', (f) => f.steady.rss, mb],
  ['one change at every client: p50', (f) => f.changeP50, ms],
  ['one change at every client: p99', (f) => f.changeP99, ms],
  ['one change at every client: max', (f) => f.changeMax, ms],
  ['  CPU seconds for the changes', (f) => f.changesCpuS, sec],
  ['RSS peak (VmHWM, whole run)', (f) => f.peak, mb],
];

export function report(i: ReportInput): string[] {
  const labels = [...i.results.keys()];
  const lite = i.results.get('istio-lite') ?? [];
  const peer = i.results.get('istiod');
  const w = 42;
  const col = i.runs > 1 ? 26 : 12;
  const cell = (
    fs: readonly SideFigures[],
    get: (f: SideFigures) => number,
    fmt: (v: number) => string,
  ) => {
    const vs = fs.map(get);
    const m = fmt(median(vs));
    if (vs.length < 2) return m;
    return `${m} (${fmt(Math.min(...vs))}–${fmt(Math.max(...vs))})`.replace(/ (ms|MB|s|%)–/, '–');
  };
  const head = [
    'figure'.padEnd(w),
    ...labels.map((l) => l.padStart(col)),
    ...(peer ? ['lite/istiod'.padStart(13)] : []),
  ].join('');
  const lines = [
    `bench/pilot: ${String(i.mesh.services)} Services x ${String(i.mesh.endpoints)} endpoints (EndpointSlices) in a real kube-apiserver, ${String(i.clients)} ADS clients (Envoy-like, ACKing), ${String(i.rounds)} rounds of one EndpointSlice change, ${String(i.runs)} run(s)${i.runs > 1 ? ' (median, range)' : ''}; debounce 100 ms (max 1 s) on every server; istio-lite: ${i.pilot}`,
    head,
    '-'.repeat(head.length),
  ];
  for (const [name, get, fmt] of rows) {
    const cells = labels.map((l) => cell(i.results.get(l) ?? [], get, fmt).padStart(col));
    const ratio = peer
      ? [(median(lite.map(get)) / median(peer.map(get))).toFixed(2).padStart(13)]
      : [];
    lines.push([name.padEnd(w), ...cells, ...ratio].join(''));
  }
  const med = (fs: readonly SideFigures[], get: (f: SideFigures) => number) => median(fs.map(get));
  const goals: [string, boolean][] = [
    ['ready after start <= 2 s', med(lite, (f) => f.readyMs) <= 2000],
  ];
  if (peer) {
    goals.push(
      [
        'first full push <= 0.5x istiod',
        med(lite, (f) => f.fullMs) <= 0.5 * med(peer, (f) => f.fullMs),
      ],
      ['change p99 <= istiod', med(lite, (f) => f.changeP99) <= med(peer, (f) => f.changeP99)],
      [
        'CPU of the changes <= istiod',
        med(lite, (f) => f.changesCpuS) <= med(peer, (f) => f.changesCpuS),
      ],
      ['idle RSS <= istiod', med(lite, (f) => f.idle.rss) <= med(peer, (f) => f.idle.rss)],
      ['peak RSS <= istiod', med(lite, (f) => f.peak) <= med(peer, (f) => f.peak)],
      ['ready after start <= istiod', med(lite, (f) => f.readyMs) <= med(peer, (f) => f.readyMs)],
    );
  }
  lines.push(`goals: ${goals.map(([g, ok]) => `${g} ${ok ? 'met' : 'MISSED'}`).join('; ')}`);
  for (const l of labels) {
    for (const [k, f] of (i.results.get(l) ?? []).entries()) {
      const missed = f.missed > 0 ? ` (${String(f.missed)} arrivals missed > 30 s)` : '';
      lines.push(`${l} run ${String(k + 1)}${missed}: ${f.perRound.join('; ')}`);
    }
  }
  const b = i.baselines;
  const floor = b.watchFloor;
  lines.push(
    `no-op baselines: empty Node process start→exit ${ms(b.node.startMs)}, RSS ${mb(b.node.rss)}; API server write → watch event p50 ${ms(pct(floor, 50))}, p99 ${ms(pct(floor, 99))}${b.apiServerIdle ? `; kube-apiserver RSS ${mb(b.apiServerIdle.rss)} after the fill` : ''}; load average ${b.load}`,
  );
  return lines;
}

function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
