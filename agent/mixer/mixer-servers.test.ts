import assert from 'node:assert/strict';
import { pino } from 'pino';
import { H2Call } from '../../lib/grpc/h2-call.ts';
import { createRegistry } from '../../lib/metrics.ts';
import { encodeReferenced } from '../../lib/mixer/referenced.ts';
import { Condition } from '../../lib/mixer/wire.ts';
import type { HeaderGetter, SpanHandle, SpanKindName, Tracer } from '../../lib/tracing/types.ts';
import { checkRequest } from '../testing/envoy-mixer-client.ts';
import { CheckCache } from './check-cache.ts';
import { Checker } from './checker.ts';
import type { MixerApi, MixerCheckResult } from './mixer-client.ts';
import { authzHandlers } from './mixer-servers.ts';
import { reporterFor } from './reporter.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

/** A Mixer stand-in (MixerApi is the agent's own interface): allows everything, on source.ip. */
class AllowingMixer implements MixerApi {
  checks = 0;
  async check(): Promise<MixerCheckResult> {
    await Promise.resolve();
    this.checks++;
    return {
      status: { code: 0, message: '' },
      validMs: 60_000,
      validUseCount: 1000,
      referenced: encodeReferenced([{ name: 'source.ip', condition: Condition.EXACT }]),
      quotas: new Map(),
    };
  }
  async report(): Promise<void> {
    await Promise.resolve();
  }
  close(): void {
    // nothing to close
  }
}

interface Recorded {
  readonly name: string;
  readonly sampled: boolean;
  readonly attributes: Map<string, unknown>;
  ended: boolean;
}

/** A Tracer (the project's own interface) that keeps what it is given; sampled per `x-sampled`. */
class RecordingTracer implements Tracer {
  readonly spans: Recorded[] = [];
  start(name: string, _kind: SpanKindName, parent?: HeaderGetter): SpanHandle {
    const r: Recorded = {
      name,
      sampled: parent?.('x-b3-sampled') === '1',
      attributes: new Map(),
      ended: false,
    };
    this.spans.push(r);
    const handle: SpanHandle = {
      sampled: r.sampled,
      traceId: '0'.repeat(32),
      spanId: '0'.repeat(16),
      child: () => handle,
      inject: () => undefined,
      setAttribute: (k, v) => r.attributes.set(k, v),
      end: () => {
        r.ended = true;
      },
    };
    return handle;
  }
  async flush(): Promise<void> {
    await Promise.resolve();
  }
  async close(): Promise<void> {
    await Promise.resolve();
  }
}

function handlers(tracer?: Tracer) {
  const mixer = new AllowingMixer();
  const checker = new Checker({
    mixer,
    cache: new CheckCache(),
    failOpen: true,
    timeoutMs: 100,
    quotas: new Map<string, number>(),
    logger,
    metrics: createRegistry('agent', false),
  });
  const reporter = reporterFor('sidecar', {
    name: 'reviews-1',
    namespace: 'default',
    ip: '10.1.0.2',
    hostIp: '',
    serviceAccount: 'reviews',
  });
  const check = authzHandlers(checker, reporter, logger, tracer)['Check'];
  if (check === undefined || !('unary' in check)) throw new Error('no unary Check');
  return { mixer, unary: check.unary };
}

const request = Buffer.from(checkRequest({ path: '/ratings/0', host: 'ratings:9080' }));
const call = (sampled: boolean) =>
  new H2Call(
    '/envoy.service.auth.v3.Authorization/Check',
    {
      'x-b3-traceid': 'a'.repeat(32),
      'x-b3-spanid': 'b'.repeat(16),
      'x-b3-sampled': sampled ? '1' : '0',
    },
    Infinity,
  );

describe('agent ext_authz handler: answers from the cache at once, traced or not', () => {
  for (const traced of [false, true]) {
    it(`a hit is answered without a promise ${traced ? 'with' : 'without'} a tracer`, async () => {
      const { mixer, unary } = handlers(traced ? new RecordingTracer() : undefined);
      const miss = unary(request, call(false));
      assert.ok(miss instanceof Promise, 'a miss waits for Mixer');
      await miss;
      const hit = unary(request, call(false));
      assert.ok(!(hit instanceof Promise), 'a hit is the answer itself');
      assert.equal(mixer.checks, 1);
    });
  }

  it('a sampled hit still records its span, from the cache; an unsampled one is ended unrecorded', async () => {
    const tracer = new RecordingTracer();
    const { unary } = handlers(tracer);
    await unary(request, call(true));
    unary(request, call(true));
    unary(request, call(false));
    assert.equal(tracer.spans.length, 3);
    const [miss, sampledHit, unsampledHit] = tracer.spans as [Recorded, Recorded, Recorded];
    assert.equal(miss.attributes.get('istio.check.source'), 'mixer');
    assert.equal(sampledHit.name, 'envoy.service.auth.v3.Authorization/Check');
    assert.deepEqual(Object.fromEntries(sampledHit.attributes), {
      'istio.check.source': 'cache',
      'istio.check.code': 0,
    });
    assert.equal(sampledHit.ended, true);
    assert.equal(unsampledHit.attributes.size, 0);
    assert.equal(unsampledHit.ended, true);
  });
});
