/**
 * An example of a user's own adapter, built only on Mixer's public adapter API (type imports from
 * mixer/adapter.ts, erased at run time) and loaded with
 * `istio-lite mixer --adapterModules ./httpsink.ts`. Mixer's code does not change.
 *
 * `httpsink` POSTs log entries and metrics as JSON lines to a URL, batched: a batch is sent when it
 * holds `maxBatch` entries or `flushInterval` after its first entry, and on flush (SIGTERM).
 * Spec: `url` (required), `maxBatch` (default 100), `flushInterval` (default 1s), `headers`.
 */
import type { Adapter, FieldReader, ReportInstance } from '../adapter.ts';

type Json = string | number | boolean | Record<string, string>;

function jsonOf(v: unknown): Json {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof Map) return Object.fromEntries(v as Map<string, string>);
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

function record(i: ReportInstance): Record<string, unknown> | undefined {
  switch (i.template) {
    case 'logentry':
      return {
        instance: i.name,
        severity: i.severity,
        time: i.timestamp.toISOString(),
        variables: Object.fromEntries([...i.variables].map(([k, v]) => [k, jsonOf(v)])),
      };
    case 'metric':
      return {
        instance: i.name,
        value: jsonOf(i.value),
        dimensions: Object.fromEntries([...i.dimensions].map(([k, v]) => [k, jsonOf(v)])),
      };
    case 'reportnothing':
      return undefined;
  }
}

const httpsink: Adapter = {
  name: 'httpsink',
  description:
    'POSTs log entries and metrics as JSON lines to an HTTP endpoint (an example adapter).',
  templates: ['logentry', 'metric', 'reportnothing'],
  create(spec: FieldReader, env) {
    const url = spec.requiredString('url');
    if (!/^https?:\/\//.test(url)) spec.fail('url', `"${url}" is not an http(s) URL`);
    const maxBatch = spec.integer('maxBatch', 100, 1, 10_000);
    const flushMs = spec.duration('flushInterval', 1000);
    const headers = Object.fromEntries(spec.stringMap('headers'));
    spec.done();

    let lines: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    let sending: Promise<void> = Promise.resolve();

    const flush = (): Promise<void> => {
      clearTimeout(timer);
      timer = undefined;
      if (lines.length === 0) return sending;
      const body = `${lines.join('\n')}\n`;
      lines = [];
      sending = sending.then(async () => {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/x-ndjson', ...headers },
            body,
            signal: AbortSignal.timeout(5000),
          });
          await res.arrayBuffer();
          if (!res.ok) throw new Error(`HTTP ${String(res.status)}`);
        } catch (e) {
          env.logger.warn(
            { handler: env.name, url, err: e instanceof Error ? e.message : String(e) },
            'httpsink: batch dropped',
          );
        }
      });
      return sending;
    };

    return {
      report(instances) {
        for (const i of instances) {
          const r = record(i);
          if (r !== undefined) lines.push(JSON.stringify(r));
        }
        if (lines.length >= maxBatch) void flush();
        else if (lines.length > 0 && timer === undefined)
          timer = setTimeout(() => void flush(), flushMs);
      },
      flush,
      close: flush,
    };
  },
};

export default httpsink;
