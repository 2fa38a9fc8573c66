import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { Metadata } from '@grpc/grpc-js';
import { compress } from '../lib/mixer/compress.ts';
import { globalWordCount } from '../lib/mixer/global-dictionary.ts';
import { silentLogger } from './testing/harness.ts';
import { startTestMixer, type TestMixer } from './testing/server.ts';
import { createTracer, extractContext, type Tracer, type ZipkinSpan } from './tracing.ts';

function md(headers: Record<string, string>): Metadata {
  const m = new Metadata();
  for (const [k, v] of Object.entries(headers)) m.set(k, v);
  return m;
}

const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
const span = '00f067aa0ba902b7';

describe('mixer tracing', () => {
  describe('incoming trace context', () => {
    const cases: {
      name: string;
      headers: Record<string, string>;
      want: ReturnType<typeof extractContext>;
    }[] = [
      {
        name: 'W3C traceparent, sampled',
        headers: { traceparent: `00-${trace}-${span}-01` },
        want: { traceId: trace, spanId: span, sampled: true },
      },
      {
        name: 'W3C traceparent, not sampled',
        headers: { traceparent: `00-${trace}-${span}-00` },
        want: { traceId: trace, spanId: span, sampled: false },
      },
      {
        name: 'B3 single header',
        headers: { b3: `${trace}-${span}-1` },
        want: { traceId: trace, spanId: span, sampled: true },
      },
      {
        name: 'B3 single, no decision',
        headers: { b3: `${trace.slice(16)}-${span}` },
        want: { traceId: trace.slice(16), spanId: span, sampled: undefined },
      },
      {
        name: 'B3 multi headers',
        headers: { 'x-b3-traceid': trace, 'x-b3-spanid': span, 'x-b3-sampled': '1' },
        want: { traceId: trace, spanId: span, sampled: true },
      },
      {
        name: 'B3 debug flag',
        headers: { 'x-b3-traceid': trace, 'x-b3-spanid': span, 'x-b3-flags': '1' },
        want: { traceId: trace, spanId: span, sampled: true },
      },
      {
        name: 'W3C wins over B3',
        headers: {
          traceparent: `00-${trace}-${span}-01`,
          'x-b3-traceid': 'a'.repeat(32),
          'x-b3-spanid': 'b'.repeat(16),
        },
        want: { traceId: trace, spanId: span, sampled: true },
      },
      {
        name: 'malformed traceparent, no B3',
        headers: { traceparent: '00-xyz-01' },
        want: undefined,
      },
      {
        name: 'all-zero trace id',
        headers: { traceparent: `00-${'0'.repeat(32)}-${span}-01` },
        want: undefined,
      },
      { name: 'nothing', headers: {}, want: undefined },
    ];
    for (const c of cases) {
      it(c.name, () => {
        assert.deepEqual(extractContext(md(c.headers)), c.want);
      });
    }
  });

  describe('spans of gRPC calls reach a Zipkin endpoint', function () {
    this.timeout(15_000);
    const received: ZipkinSpan[] = [];
    let zipkin: Server;
    let tracer: Tracer;
    let m: TestMixer;

    before(async () => {
      zipkin = createServer((req, res) => {
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => {
          assert.equal(req.url, '/api/v2/spans');
          received.push(...(JSON.parse(body) as ZipkinSpan[]));
          res.writeHead(202).end();
        });
      });
      await new Promise<void>((resolve) => zipkin.listen(0, '127.0.0.1', resolve));
      const port = (zipkin.address() as { port: number }).port;
      tracer = createTracer({
        zipkinUrl: `http://127.0.0.1:${String(port)}/api/v2/spans`,
        serviceName: 'istio-mixer',
        logger: silentLogger(),
        sampling: 1,
        flushMs: 20,
      });
      m = await startTestMixer({ tracer: tracer.traceCall });
    });
    after(async () => {
      await m.close();
      await tracer.close();
      await new Promise((resolve) => zipkin.close(resolve));
    });

    async function callWith(headers: Record<string, string>): Promise<void> {
      await m.mixer(
        'Check',
        {
          attributes: compress(new Map([['request.path', '/x']])),
          global_word_count: globalWordCount,
        },
        { metadata: md(headers) },
      );
    }

    it('joins the caller trace (W3C) as a child SERVER span', async () => {
      await callWith({ traceparent: `00-${trace}-${span}-01` });
      await tracer.close();
      const s = received.find((x) => x.traceId === trace);
      assert.ok(s, 'span received');
      assert.equal(s.parentId, span);
      assert.equal(s.name, 'istio.mixer.v1.Mixer/Check');
      assert.equal(s.kind, 'SERVER');
      assert.equal(s.localEndpoint.serviceName, 'istio-mixer');
      assert.match(s.id, /^[0-9a-f]{16}$/);
      assert.ok(s.duration > 0);
    });

    it('honours a B3 "do not sample" decision and starts a root trace without context', async () => {
      const before = received.length;
      await callWith({ 'x-b3-traceid': 'c'.repeat(32), 'x-b3-spanid': span, 'x-b3-sampled': '0' });
      await callWith({});
      await tracer.close();
      const fresh = received.slice(before);
      assert.equal(fresh.length, 1);
      assert.notEqual(fresh[0]?.traceId, 'c'.repeat(32));
      assert.equal(fresh[0]?.parentId, undefined);
    });
  });
});
