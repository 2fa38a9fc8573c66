/**
 * Tracing end to end against a real Jaeger (v2, built from source; e2e/cluster/jaeger-server.ts)
 * receiving Zipkin-format spans: the agent (started as `agent sidecar` is, with --zipkinAddress)
 * and the real Mixer (in-process, --zipkinURL) send their spans there, and the tests read Jaeger's
 * query API. Envoy is not installed here: its side is the ext_authz client Envoy would be
 * (agent/testing/envoy-mixer-client.ts), sending the trace headers Envoy's traced HTTP connection
 * manager puts on its ext_authz call (or a caller's, in the checked request's headers).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { RunningAgent } from '../../agent/run.ts';
import { EnvoyMixerClient, httpLogMessage } from '../../agent/testing/envoy-mixer-client.ts';
import { startMixerAgent } from '../../agent/testing/mixer-agent.ts';
import { loadTracer, type Tracer } from '../../lib/tracing/tracer.ts';
import { startTestMixer, type TestMixer } from '../../mixer/testing/server.ts';
import { callTracer } from '../../mixer/tracing.ts';
import { eventually } from './eventually.ts';
import { TestJaeger, type JaegerSpan, type JaegerTrace } from './jaeger-server.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function parentOf(s: JaegerSpan): string | undefined {
  return s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
}

function serviceOf(t: JaegerTrace, s: JaegerSpan): string | undefined {
  return t.processes[s.processID]?.serviceName;
}

/** The spans of a trace as `service operation`, each with its parent's, in parent order. */
function chain(t: JaegerTrace): { name: string; span: JaegerSpan }[] {
  return t.spans.map((span) => ({
    name: `${serviceOf(t, span) ?? '?'} ${span.operationName}`,
    span,
  }));
}

describe('tracing end to end: the agent and Mixer in one trace in a real Jaeger', function () {
  this.timeout(120_000);
  const jaeger = new TestJaeger();
  let root: string;
  let mixer: TestMixer;
  let mixerTracer: Tracer;
  let agent: RunningAgent;
  let envoy: EnvoyMixerClient;
  let n = 0;

  /**
   * A request the agent has not cached yet, so the check goes to Mixer: the example rules read
   * `destination.labels["app"]`, so a new app is a new cache key.
   */
  const fresh = () => {
    const app = `details-${String(++n)}`;
    return { path: '/', host: `${app}:9080`, context: { 'destination.labels.app': app } };
  };

  before(async () => {
    await jaeger.start();
    root = mkdtempSync(join(tmpdir(), 'agent-tracing-'));
    // Mixer starts its own traces for every call without context: a call from the agent that
    // carried none, or was not continued, would show up as a trace of its own.
    mixerTracer = await loadTracer({
      zipkinUrl: jaeger.zipkinUrl,
      serviceName: 'istio-mixer',
      samplingPercent: 100,
      logger,
      flushMs: 100,
    });
    mixer = await startTestMixer({ tracer: callTracer(mixerTracer) });
    let socket: string;
    ({ agent, socket } = await startMixerAgent({
      dir: root,
      logger,
      flags: {
        mixerAddress: mixer.address,
        zipkinAddress: jaeger.zipkinAddress,
        traceSampling: '100',
      },
      reportDelayMs: 50,
    }));
    envoy = new EnvoyMixerClient(socket);
  });

  after(async () => {
    envoy.close();
    await agent.shutdown('test over');
    await mixer.close();
    await mixerTracer.close();
    rmSync(root, { recursive: true, force: true });
    await jaeger.remove();
  });

  /** The trace once it holds `count` spans (Jaeger stores what the batches deliver). */
  async function traceWith(traceId: string, count: number): Promise<JaegerTrace> {
    let got: JaegerTrace | undefined;
    await eventually(
      async () => {
        got = await jaeger.trace(traceId);
        assert.ok(got, `trace ${traceId} in Jaeger`);
        assert.equal(
          got.spans.length,
          count,
          chain(got)
            .map((c) => c.name)
            .join(', '),
        );
      },
      { timeoutMs: 30_000 },
    );
    assert.ok(got);
    return got;
  }

  function assertAgentAndMixer(t: JaegerTrace, parent: string): void {
    const find = (name: string) => {
      const c = chain(t).find((x) => x.name === name);
      assert.ok(
        c,
        `${name} in ${chain(t)
          .map((x) => x.name)
          .join(', ')}`,
      );
      return c.span;
    };
    const check = find('istio-agent envoy.service.auth.v3.Authorization/Check');
    const call = find('istio-agent istio.mixer.v1.Mixer/Check');
    const mixerSpan = find('istio-mixer istio.mixer.v1.Mixer/Check');
    assert.equal(parentOf(check), parent, "the agent's check continues Envoy's span");
    assert.equal(parentOf(call), check.spanID, "the call to Mixer is the check's child");
    assert.equal(parentOf(mixerSpan), call.spanID, "Mixer's span is the agent's call's child");
    assert.deepEqual(
      check.tags.find((x) => x.key === 'istio.check.source')?.value,
      'mixer',
      'the decision came from Mixer',
    );
  }

  it("B3 headers on Envoy's ext_authz call: one trace with the agent's and Mixer's spans", async () => {
    const traceId = hex(16);
    const envoySpan = hex(8);
    const answer = await envoy.check(fresh(), {
      'x-b3-traceid': traceId,
      'x-b3-spanid': envoySpan,
      'x-b3-sampled': '1',
    });
    assert.equal(answer.code, 0);
    assertAgentAndMixer(await traceWith(traceId, 3), envoySpan);
  });

  it("W3C traceparent in the checked request's headers: the same trace", async () => {
    const traceId = hex(16);
    const caller = hex(8);
    await envoy.check({ ...fresh(), headers: { traceparent: `00-${traceId}-${caller}-01` } });
    assertAgentAndMixer(await traceWith(traceId, 3), caller);
  });

  it('a request not sampled upstream leaves no spans, in the agent nor in Mixer', async () => {
    const mixerTraces = async () =>
      (await jaeger.findTraces('istio-mixer', 'istio.mixer.v1.Mixer/Check')).length;
    const before = await mixerTraces();
    const traceId = hex(16);
    await envoy.check(fresh(), {
      'x-b3-traceid': traceId,
      'x-b3-spanid': hex(8),
      'x-b3-sampled': '0',
    });
    // A sampled check after it: once its trace is in, the unsampled one would be too.
    const later = hex(16);
    await envoy.check(fresh(), {
      'x-b3-traceid': later,
      'x-b3-spanid': hex(8),
      'x-b3-sampled': '1',
    });
    await traceWith(later, 3);
    assert.equal(await jaeger.trace(traceId), undefined);
    assert.equal(await mixerTraces(), before + 1, 'Mixer started no trace of its own');
  });

  it("a Report is the agent's client span with Mixer's span as its child", async () => {
    await envoy.accessLogs([httpLogMessage(3)]);
    let t: JaegerTrace | undefined;
    await eventually(
      async () => {
        const traces = await jaeger.findTraces('istio-agent', 'istio.mixer.v1.Mixer/Report');
        t = traces.find((x) => x.spans.length === 2);
        assert.ok(t, `a Report trace with 2 spans (have ${String(traces.length)} traces)`);
      },
      { timeoutMs: 30_000 },
    );
    assert.ok(t);
    const [call, served] = [
      chain(t).find((c) => c.name === 'istio-agent istio.mixer.v1.Mixer/Report')?.span,
      chain(t).find((c) => c.name === 'istio-mixer istio.mixer.v1.Mixer/Report')?.span,
    ];
    assert.ok(call && served);
    assert.equal(parentOf(call), undefined);
    assert.equal(parentOf(served), call.spanID);
  });
});
