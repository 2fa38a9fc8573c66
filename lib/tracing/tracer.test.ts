/**
 * The tracer on OpenTelemetry's SDK: it continues a caller's W3C or B3 context (W3C preferred),
 * keeps the caller's sampling decision, starts traces at the configured percentage, passes its
 * own context on in both formats, and delivers sampled spans to a Zipkin endpoint with the right
 * parents.
 */
import assert from 'node:assert/strict';
import { createLogger } from '../log.ts';
import { startZipkinReceiver, type ZipkinReceiver } from '../testing/zipkin-receiver.ts';
import { mapGetter } from './carriers.ts';

const getter = (h: Readonly<Record<string, string>>) => mapGetter(new Map(Object.entries(h)));
import { loadTracer, zipkinSpansUrl, type Tracer } from './tracer.ts';

const silentLogger = () => createLogger('test', { level: 'silent' });
const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
const span = '00f067aa0ba902b7';

function headersOf(inject: (set: (k: string, v: string) => void) => void): Record<string, string> {
  const h: Record<string, string> = {};
  inject((k, v) => (h[k] = v));
  return h;
}

describe('lib/tracing: the OpenTelemetry tracer', function () {
  this.timeout(15_000);
  let zipkin: ZipkinReceiver;
  let tracer: Tracer;

  before(async () => {
    zipkin = await startZipkinReceiver();
    tracer = await loadTracer({
      zipkinUrl: zipkinSpansUrl(zipkin.address),
      serviceName: 'test-service',
      samplingPercent: 0,
      attributes: { 'istio.node': 'sidecar~1' },
      logger: silentLogger(),
      flushMs: 20,
    });
  });
  after(async () => {
    await tracer.close();
    await zipkin.close();
  });

  const contexts: [string, Record<string, string>, string, boolean][] = [
    ['W3C traceparent, sampled', { traceparent: `00-${trace}-${span}-01` }, trace, true],
    ['W3C traceparent, not sampled', { traceparent: `00-${trace}-${span}-00` }, trace, false],
    ['B3 single header', { b3: `${trace}-${span}-1` }, trace, true],
    ['B3 single header, not sampled', { b3: `${trace}-${span}-0` }, trace, false],
    [
      'B3 multi, 64-bit id, not sampled',
      { 'x-b3-traceid': trace.slice(16), 'x-b3-spanid': span, 'x-b3-sampled': '0' },
      `${'0'.repeat(16)}${trace.slice(16)}`,
      false,
    ],
    [
      'B3 single header, 64-bit id',
      { b3: `${trace.slice(16)}-${span}-1` },
      `${'0'.repeat(16)}${trace.slice(16)}`,
      true,
    ],
    [
      'B3 multi headers',
      { 'x-b3-traceid': trace, 'x-b3-spanid': span, 'x-b3-sampled': '1' },
      trace,
      true,
    ],
    [
      'B3 multi, not sampled',
      { 'x-b3-traceid': trace, 'x-b3-spanid': span, 'x-b3-sampled': '0' },
      trace,
      false,
    ],
    [
      'B3 debug flag',
      { 'x-b3-traceid': trace, 'x-b3-spanid': span, 'x-b3-flags': '1' },
      trace,
      true,
    ],
    [
      'W3C wins over B3',
      {
        traceparent: `00-${trace}-${span}-01`,
        'x-b3-traceid': 'a'.repeat(32),
        'x-b3-spanid': 'b'.repeat(16),
        'x-b3-sampled': '0',
      },
      trace,
      true,
    ],
  ];
  for (const [name, headers, traceId, sampled] of contexts) {
    it(`continues ${name}`, () => {
      const s = tracer.start('op', 'server', getter(headers));
      assert.equal(s.traceId, traceId);
      assert.equal(s.sampled, sampled);
      // A sampled span is new; an unsampled context passes on unchanged (no span is made).
      if (sampled) assert.notEqual(s.spanId, span);
      else assert.equal(s.spanId, span);
      s.end();
    });
  }

  it('starts its own trace for a malformed or absent context, sampled at the percentage', () => {
    for (const headers of [
      {},
      { traceparent: '00-xyz-01' },
      { traceparent: `00-${'0'.repeat(32)}-${span}-01` },
    ]) {
      const s = tracer.start('op', 'server', getter(headers));
      assert.notEqual(s.traceId, trace);
      assert.equal(s.sampled, false, 'sampling 0%');
      s.end();
    }
  });

  it('passes its context on as B3 and W3C, sampled or not', () => {
    for (const flag of ['01', '00']) {
      const s = tracer.start(
        'op',
        'server',
        getter({ traceparent: `00-${trace}-${span}-${flag}` }),
      );
      const h = headersOf((set) => {
        s.inject(set);
      });
      assert.equal(h['x-b3-traceid'], trace);
      assert.equal(h['x-b3-spanid'], s.spanId);
      assert.equal(h['x-b3-sampled'], flag === '01' ? '1' : '0');
      assert.equal(h['traceparent'], `00-${trace}-${s.spanId}-${flag}`);
      s.end();
    }
  });

  it('sends sampled spans with their parents, kinds, service and attributes', async () => {
    await tracer.flush();
    const before = zipkin.spans.length;
    const server = tracer.start(
      'ext_authz Check',
      'server',
      getter({ 'x-b3-traceid': trace, 'x-b3-spanid': span, 'x-b3-sampled': '1' }),
    );
    const client = server.child('Mixer Check', 'client');
    client.setAttribute('grpc.status_code', 0);
    client.end();
    server.end(new Error('denied'));
    tracer
      .start(
        'unsampled',
        'server',
        getter({ 'x-b3-traceid': trace, 'x-b3-spanid': span, 'x-b3-sampled': '0' }),
      )
      .end();
    await tracer.flush();
    const got = zipkin.spans.slice(before);
    assert.equal(got.length, 2);
    const s = got.find((x) => x.name === 'ext_authz Check');
    const c = got.find((x) => x.name === 'Mixer Check');
    assert.ok(s && c);
    assert.equal(s.traceId, trace);
    assert.equal(s.parentId, span);
    assert.equal(s.kind, 'SERVER');
    assert.equal(s.tags['error'], 'denied');
    assert.equal(c.traceId, trace);
    assert.equal(c.parentId, s.id);
    assert.equal(c.kind, 'CLIENT');
    assert.equal(c.tags['grpc.status_code'], '0');
    for (const x of got) {
      assert.equal(x.localEndpoint.serviceName, 'test-service');
      assert.equal(x.tags['istio.node'], 'sidecar~1');
    }
  });

  it('a collector that is down costs the spans, with a warning, never a failed flush or close', async () => {
    const warnings: string[] = [];
    const logger = createLogger('test', {
      level: 'warn',
      destination: {
        write: (line: string) => {
          warnings.push(line);
        },
      },
    });
    const down = await startZipkinReceiver();
    await down.close();
    const lost = await loadTracer({
      zipkinUrl: down.url,
      serviceName: 'test-service',
      samplingPercent: 100,
      logger,
      flushMs: 10,
    });
    lost.start('a', 'server').end();
    await lost.flush();
    lost.start('b', 'server').end();
    await lost.close();
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] ?? '',
      /sending spans to the Zipkin collector failed.*ECONNREFUSED|ECONNREFUSED.*sending spans/,
    );
  });

  it('starts every trace at 100%', async () => {
    const all = await loadTracer({
      zipkinUrl: zipkinSpansUrl(zipkin.address),
      serviceName: 'test-service',
      samplingPercent: 100,
      logger: silentLogger(),
    });
    try {
      const s = all.start('root', 'client');
      assert.equal(s.sampled, true);
      s.end();
    } finally {
      await all.close();
    }
  });
});
