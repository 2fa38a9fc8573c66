/**
 * `statsd`: metric instances as statsd lines over UDP. Spec: `address` (host:port), `prefix`,
 * `flushDuration` (default 300ms), `flushBytes` (largest packet, default 512), `samplingRate`
 * (0–1, default 1), and `metrics`: per metric instance name `{type: COUNTER | GAUGE |
 * DISTRIBUTION, nameTemplate}` where `{{.dimension}}` is replaced by that dimension's value.
 * Lines are packed into packets of at most `flushBytes`, sent when full or every `flushDuration`.
 */
import { createSocket } from 'node:dgram';
import { Duration, formatValue } from '../../lib/mixer/value.ts';
import type { Adapter, MetricInstance } from '../adapter.ts';

const Type = ['COUNTER', 'GAUGE', 'DISTRIBUTION'] as const;
type Type = (typeof Type)[number];
const suffix: Readonly<Record<Type, string>> = { COUNTER: 'c', GAUGE: 'g', DISTRIBUTION: 'ms' };

interface MetricInfo {
  readonly type: Type;
  readonly template: string;
}

function name(info: MetricInfo, i: MetricInstance): string {
  const n = info.template.replace(/\{\{\s*\.([A-Za-z0-9_]+)\s*\}\}/g, (_, k: string) => {
    const v = i.dimensions.get(k);
    return v === undefined ? '' : formatValue(v);
  });
  return n.replace(/[:|@\s]/g, '_');
}

export const statsd: Adapter = {
  name: 'statsd',
  description: 'Sends metrics to a statsd server over UDP.',
  templates: ['metric'],
  create(spec, env) {
    const address = spec.requiredString('address');
    const m = /^(.+):(\d{1,5})$/.exec(address);
    if (!m) return spec.fail('address', `"${address}" must be host:port`);
    const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
    const port = Number(m[2]);
    const prefix = spec.string('prefix', '');
    const flushMs = spec.duration('flushDuration', 300);
    const flushBytes = spec.integer('flushBytes', 512, 64, 65_000);
    const rate = spec.number('samplingRate', 1, 0, 1);
    const metrics = new Map<string, MetricInfo>();
    for (const [inst, r] of spec.objectMap('metrics')) {
      metrics.set(inst, {
        type: r.oneOf('type', Type, 'COUNTER'),
        template: r.string('nameTemplate', inst.split('.')[0] ?? inst),
      });
      r.done();
    }
    spec.done();

    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.on('error', (e) => {
      env.logger.warn({ handler: env.name, err: e.message }, 'statsd socket error');
    });
    socket.unref();
    let packet = '';
    const send = () => {
      if (packet === '') return;
      const buf = Buffer.from(packet);
      packet = '';
      socket.send(buf, port, host);
    };
    const timer = setInterval(send, flushMs);
    timer.unref();
    const sampled = rate < 1 ? `|@${String(rate)}` : '';

    return {
      validateInstance(i) {
        return metrics.has(i.name) ? undefined : `statsd has no metrics entry for ${i.name}`;
      },
      report(instances) {
        for (const i of instances) {
          if (i.template !== 'metric') continue;
          const info = metrics.get(i.name);
          if (!info || (rate < 1 && Math.random() >= rate)) continue;
          const v = i.value;
          const n =
            v instanceof Duration
              ? v.ms
              : typeof v === 'number'
                ? v
                : typeof v === 'boolean'
                  ? Number(v)
                  : Number(v);
          if (!Number.isFinite(n)) continue;
          const l = `${prefix}${name(info, i)}:${String(n)}|${suffix[info.type]}${sampled}`;
          if (packet.length + l.length + 1 > flushBytes) send();
          packet = packet === '' ? l : `${packet}\n${l}`;
        }
      },
      flush: send,
      close() {
        clearInterval(timer);
        send();
        // Let the last packet leave before the socket goes.
        setTimeout(() => {
          socket.close();
        }, 50).unref();
      },
    };
  },
};
