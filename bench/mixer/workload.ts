/**
 * What bench/mixer sends: attribute sets as a sidecar reports them (Bookinfo's reviews calling
 * ratings), varying by index so sources, versions, codes and request ids differ from one set to
 * the next, and the Mixer core the server side runs them through (the mixer/examples deny,
 * whitelist, quota and telemetry rules; memquota, prometheus, stdio to /dev/null; logs at warn).
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { createLogger } from '../../lib/log.ts';
import { compress } from '../../lib/mixer/compress.ts';
import { globalWordCount } from '../../lib/mixer/global-dictionary.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import { createRegistry, type Registry } from '../../lib/metrics.ts';
import { Duration, IpAddress, type Value } from '../../lib/mixer/value.ts';
import { AdapterRegistry } from '../../mixer/adapter-registry.ts';
import { ConfigController } from '../../mixer/config/controller.ts';
import { configObjectsFromYaml } from '../../mixer/config/yaml-objects.ts';
import { MixerCore } from '../../mixer/core.ts';
import { defaultCheckPolicy } from '../../mixer/dispatch/check.ts';
import { createMixerMetrics } from '../../mixer/metrics.ts';

export function attributes(i: number): Map<string, Value> {
  const version = `v${String((i % 4) + 1)}`;
  return new Map<string, Value>([
    ['source.ip', IpAddress.parse(`10.1.${String(i % 200)}.${String(i % 250)}`) as IpAddress],
    [
      'source.labels',
      new Map([
        ['app', 'reviews'],
        ['version', version],
        ['pod-template-hash', `h${String(i % 7)}`],
      ]),
    ],
    ['source.service', 'reviews.default.svc.cluster.local'],
    ['source.uid', `kubernetes://reviews-${version}-${String(i % 13)}.default`],
    ['destination.ip', IpAddress.parse('10.2.0.9') as IpAddress],
    ['destination.port', 9080],
    [
      'destination.labels',
      new Map([
        ['app', 'ratings'],
        ['version', 'v1'],
      ]),
    ],
    ['destination.service', 'ratings.default.svc.cluster.local'],
    ['destination.uid', 'kubernetes://ratings-v1-0.default'],
    [
      'request.headers',
      new Map([
        [':authority', 'ratings:9080'],
        [':path', '/ratings/0'],
        ['user-agent', 'bench/1'],
        ['x-request-id', `req-${String(i)}`],
      ]),
    ],
    ['request.id', `req-${String(i)}`],
    ['request.path', '/ratings/0'],
    ['request.host', 'ratings:9080'],
    ['request.method', 'GET'],
    ['request.time', new Date(1_700_000_000_000 + i)],
    ['request.size', 0],
    ['response.code', i % 10 === 0 ? 503 : 200],
    ['response.size', 300 + (i % 50)],
    ['response.duration', new Duration(5 + (i % 20))],
    ['response.time', new Date(1_700_000_000_020 + i)],
    ['context.protocol', 'http'],
  ]);
}

/** The Check requests of the load, encoded (uncached: 64 distinct sets, each asking for quota). */
export function checkRequests(): Buffer[] {
  const def = mixerService()['Check'];
  if (!def) throw new Error('no Check');
  return Array.from({ length: 64 }, (_, i) =>
    def.requestSerialize({
      attributes: compress(attributes(i)),
      global_word_count: globalWordCount,
      deduplication_id: '',
      quotas: { requestcount: { amount: 1, best_effort: false } },
    }),
  );
}

/** The Mixer core with the examples' rules loaded (throws if any object is rejected). */
export async function benchCore(): Promise<{ core: MixerCore; registry: Registry }> {
  const logger = createLogger('mixer-bench', { level: 'warn' });
  const registry = createRegistry('mixer');
  const devNull = createWriteStream('/dev/null');
  const controller = new ConfigController({
    registry: new AdapterRegistry(),
    logger,
    defaultNamespace: 'istio-system',
    envFor: (name) => ({
      name,
      logger,
      metrics: registry,
      now: Date.now,
      stdout: devNull,
      stderr: devNull,
    }),
  });
  const objects = ['deny', 'whitelist', 'ratelimit', 'telemetry'].flatMap((f) => {
    const url = new URL(`../../mixer/examples/${f}.yaml`, import.meta.url);
    return configObjectsFromYaml(readFileSync(url, 'utf8'), f, 'default');
  });
  const snapshot = await controller.replaceAll(objects);
  if (snapshot.problems.length > 0) throw new Error(JSON.stringify(snapshot.problems));
  const core = new MixerCore({
    controller,
    policy: defaultCheckPolicy,
    metrics: createMixerMetrics(registry),
    logger,
  });
  return { core, registry };
}
