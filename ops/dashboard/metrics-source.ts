/**
 * Where the dashboard reads Mixer's request metrics: every Mixer replica's `/metrics` (summed, as
 * one Mixer would count them), or a Prometheus server (`--prometheus URL`) through its HTTP API,
 * asking for the same series summed over the labels the graph does not use.
 */
import { ErrorCode, IstioLiteError, errorMessage } from '../../lib/errors.ts';
import { FieldReader } from '../../lib/config/field-reader.ts';
import type { ControlPlane } from '../control-plane.ts';
import { RequestCountNames, RequestDurationNames } from './graph.ts';
import { parsePromText, type Sample } from './prom-text.ts';

export interface MetricsSource {
  /** Where the metrics come from, for the page. */
  readonly describe: string;
  /** The request samples; `problems` gets a line per replica or query that failed. */
  samples(problems: string[]): Promise<Sample[]>;
}

const wanted = new Set([...RequestCountNames, ...RequestDurationNames.map((n) => `${n}_bucket`)]);

export function mixerMetrics(plane: ControlPlane): MetricsSource {
  return {
    describe: `Mixer's /metrics (${plane.source})`,
    async samples(problems) {
      const replicas = await plane.mixers();
      const results = await Promise.all(
        replicas.map(async (r) => {
          try {
            return parsePromText(await r.get('/metrics'), wanted);
          } catch (e) {
            problems.push(`Mixer ${r.name}: ${errorMessage(e)}`);
            return [];
          }
        }),
      );
      return results.flat();
    },
  };
}

async function query(base: string, promql: string, name: string): Promise<Sample[]> {
  const url = `${base.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(promql)}`;
  let body: unknown;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    body = await r.json();
  } catch (e) {
    throw new IstioLiteError(ErrorCode.External, `Prometheus at ${base}: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  const r = new FieldReader(body, { what: `Prometheus at ${base}` });
  if (r.string('status', '') !== 'success') {
    throw new IstioLiteError(
      ErrorCode.External,
      `Prometheus at ${base}: ${r.string('error', 'query failed')}`,
    );
  }
  return r
    .object('data')
    .list('result')
    .map((x) => {
      const metric = Object.fromEntries(x.stringMap('metric'));
      const value = x.raw('value');
      const v = Array.isArray(value) && typeof value[1] === 'string' ? Number(value[1]) : NaN;
      return { name, labels: metric, value: v };
    })
    .filter((s) => !Number.isNaN(s.value));
}

export function prometheusMetrics(base: string): MetricsSource {
  return {
    describe: `Prometheus at ${base}`,
    async samples() {
      for (const [count, duration] of RequestCountNames.map(
        (n, i) => [n, RequestDurationNames[i]] as const,
      )) {
        const counts = await query(
          base,
          `sum by (source_service, destination_service, response_code) (${count})`,
          count,
        );
        if (counts.length === 0) continue;
        const buckets = await query(
          base,
          `sum by (le, source_service, destination_service) (${duration ?? ''}_bucket)`,
          `${duration ?? ''}_bucket`,
        );
        return [...counts, ...buckets];
      }
      return [];
    },
  };
}
