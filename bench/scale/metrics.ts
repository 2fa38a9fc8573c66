/**
 * bench:scale's readings: the API server's own view of the webhook
 * (`apiserver_admission_webhook_admission_duration_seconds`, docs/reference/simulated-cluster.md,
 * "The API server's admission metrics"), read from its /metrics before and after a step, and each
 * process's CPU seconds and memory from /proc (bench/pilot/proc-stats.ts).
 */
import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest } from '../../lib/kube/raw.ts';
import { cpuSeconds, memory, type Memory } from '../pilot/proc-stats.ts';

/** Cumulative counts per upper bound (`le`, +Inf last), summed over the series kept. */
export type Histogram = ReadonlyMap<number, number>;

/** Histogram `name` from a Prometheus text page, the series whose labels `keep` accepts. */
export function parseHistogram(
  text: string,
  name: string,
  keep: (labels: string) => boolean = () => true,
): Histogram {
  const out = new Map<number, number>();
  const prefix = `${name}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const close = line.lastIndexOf('}');
    const labels = line.slice(prefix.length, close);
    if (!keep(labels)) continue;
    const le = /le="([^"]+)"/.exec(labels)?.[1] ?? '';
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + Number(line.slice(close + 1).trim()));
  }
  return out;
}

/**
 * The CREATE calls of the mutating webhooks `named` accepts, as the API server timed them (the
 * injector's four webhooks by default: all end in `sidecar-injector.istio.io`).
 */
export function parseWebhookHistogram(
  text: string,
  named: (name: string) => boolean = (n) => n.endsWith('sidecar-injector.istio.io'),
): Histogram {
  return parseHistogram(
    text,
    'apiserver_admission_webhook_admission_duration_seconds',
    (l) =>
      l.includes('type="admit"') &&
      l.includes('operation="CREATE"') &&
      named(/(?:^|,)name="([^"]*)"/.exec(l)?.[1] ?? ''),
  );
}

/** The injector's calls and those of the bare webhook named `bare`, from one read. */
export async function webhookHistograms(
  kc: KubeConfig,
  bare: string,
): Promise<{ injector: Histogram; bare: Histogram }> {
  const r = await kubeRequest(kc, 'GET', '/metrics');
  if (r.status !== 200) throw new Error(`kube-apiserver /metrics: HTTP ${String(r.status)}`);
  return {
    injector: parseWebhookHistogram(r.body),
    bare: parseWebhookHistogram(r.body, (n) => n === bare),
  };
}

/** The webhook's own time per admission request (sidecar_injection_time_seconds). */
export function injectorHistogram(url: string): Promise<Histogram> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        resolve(parseHistogram(Buffer.concat(chunks).toString(), 'sidecar_injection_time_seconds'));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** after − before, bucket by bucket. */
export function delta(after: Histogram, before: Histogram): Histogram {
  const out = new Map<number, number>();
  for (const [le, n] of after) out.set(le, n - (before.get(le) ?? 0));
  return out;
}

export function count(h: Histogram): number {
  return h.get(Infinity) ?? 0;
}

/**
 * The q-quantile in seconds, interpolated linearly inside its bucket as Prometheus'
 * histogram_quantile does (the first bucket from 0); the last finite bound when it falls in +Inf.
 */
export function quantile(h: Histogram, q: number): number {
  const bounds = [...h.keys()].sort((a, b) => a - b);
  const total = count(h);
  if (total === 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const n = h.get(le) ?? 0;
    if (n >= rank) {
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(1, n - below);
    }
    lower = le;
    below = n;
  }
  return lower;
}

/** The share of calls answered within `seconds` (a bucket bound). */
export function shareWithin(h: Histogram, seconds: number): number {
  const total = count(h);
  return total === 0 ? NaN : (h.get(seconds) ?? NaN) / total;
}

export interface ProcessReading {
  readonly cpu: number;
  readonly memory: Memory;
}

export function read(pid: number): ProcessReading | undefined {
  try {
    return { cpu: cpuSeconds(pid), memory: memory(pid) };
  } catch {
    return undefined;
  }
}
