/**
 * Mixer's calls as spans (OpenTelemetry, lib/tracing), sent to a Zipkin endpoint: a call with a
 * caller's context (the agent passes its request's on) is a child SERVER span in that trace and
 * keeps its sampling decision; a call without one starts a trace at the configured percentage.
 * (Context parsing itself: lib/tracing/tracer.test.ts; a real Jaeger: e2e/cluster/tracing.test.ts.)
 */
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { compress } from '../lib/mixer/compress.ts';
import { globalWordCount } from '../lib/mixer/global-dictionary.ts';
import { startZipkinReceiver, type ZipkinReceiver } from '../lib/testing/zipkin-receiver.ts';
import { loadTracer, type Tracer } from '../lib/tracing/tracer.ts';
import { silentLogger } from './testing/harness.ts';
import { startTestMixer, type TestMixer } from './testing/server.ts';
import { callTracer } from './tracing.ts';

function md(headers: Record<string, string>): Metadata {
  const m = new Metadata();
  for (const [k, v] of Object.entries(headers)) m.set(k, v);
  return m;
}

const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
const span = '00f067aa0ba902b7';

describe('mixer tracing: spans of gRPC calls reach a Zipkin endpoint', function () {
  this.timeout(15_000);
  let zipkin: ZipkinReceiver;
  const mixers: { m: TestMixer; tracer: Tracer }[] = [];

  before(async () => {
    zipkin = await startZipkinReceiver();
  });
  after(async () => {
    for (const { m, tracer } of mixers) {
      await m.close();
      await tracer.close();
    }
    await zipkin.close();
  });

  async function mixerSampling(samplingPercent: number) {
    const tracer = await loadTracer({
      zipkinUrl: zipkin.url,
      serviceName: 'istio-mixer',
      samplingPercent,
      logger: silentLogger(),
      flushMs: 20,
    });
    const m = await startTestMixer({ tracer: callTracer(tracer) });
    mixers.push({ m, tracer });
    return { m, tracer };
  }

  async function check(m: TestMixer, headers: Record<string, string>): Promise<void> {
    await m.mixer(
      'Check',
      {
        attributes: compress(new Map([['request.path', '/x']])),
        global_word_count: globalWordCount,
      },
      { metadata: md(headers) },
    );
  }

  async function spansAfter(tracer: Tracer, run: () => Promise<void>) {
    await tracer.flush();
    const before = zipkin.spans.length;
    await run();
    await tracer.flush();
    return zipkin.spans.slice(before);
  }

  it('joins the caller trace (W3C or B3) as a child SERVER span', async () => {
    const { m, tracer } = await mixerSampling(0);
    for (const headers of [
      { traceparent: `00-${trace}-${span}-01` },
      { 'x-b3-traceid': trace, 'x-b3-spanid': span, 'x-b3-sampled': '1' },
    ]) {
      const got = await spansAfter(tracer, () => check(m, headers));
      assert.equal(got.length, 1);
      const s = got[0];
      assert.ok(s);
      assert.equal(s.traceId, trace);
      assert.equal(s.parentId, span);
      assert.equal(s.name, 'istio.mixer.v1.Mixer/Check');
      assert.equal(s.kind, 'SERVER');
      assert.equal(s.localEndpoint.serviceName, 'istio-mixer');
      assert.match(s.id, /^[0-9a-f]{16}$/);
      assert.ok(s.duration > 0);
    }
  });

  it("honours a caller's decision not to sample, even at 100%", async () => {
    const { m, tracer } = await mixerSampling(100);
    const got = await spansAfter(tracer, async () => {
      await check(m, { 'x-b3-traceid': 'c'.repeat(32), 'x-b3-spanid': span, 'x-b3-sampled': '0' });
      await check(m, { traceparent: `00-${trace}-${span}-00` });
    });
    assert.deepEqual(got, []);
  });

  it('starts a root trace for a call without context at the sampling percentage', async () => {
    const all = await mixerSampling(100);
    const roots = await spansAfter(all.tracer, () => check(all.m, {}));
    assert.equal(roots.length, 1);
    assert.equal(roots[0]?.parentId, undefined);
    const none = await mixerSampling(0);
    assert.deepEqual(await spansAfter(none.tracer, () => check(none.m, {})), []);
  });
});
